"""The audit CSV: stable columns, one row per result, Excel-safe cells, UTF-8 with a header."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from analyzer.engine import analyze
from analyzer.report.csv import COLUMNS, ENCODING, csv_bytes, neutralise, write_csv


@pytest.fixture(scope="module")
def results(studio_photos: list[Path], amateur_photos: list[Path]) -> list[dict]:
    out = []
    titles = ["=HYPERLINK(\"http://evil.example\",\"click\")", "Sac à dos « Fusion » 背包",
              "+33 612 345", "@SUM(A1:A9)"]
    for i, p in enumerate(studio_photos[:2] + amateur_photos[:2]):
        r = analyze(p, name=p.name).to_dict()
        r["product_id"] = f"-SKU{i}" if i == 3 else f"SKU{i}"
        r["title"] = titles[i]
        out.append(r)
    bad = analyze(b"not an image at all", name="=cmd|' /C calc'!A0.jpg").to_dict()
    bad.update(product_id="", title="")
    out.append(bad)
    return out


def _rows(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    text = data.decode(ENCODING)
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


@pytest.mark.parametrize("value", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"])
def test_formula_like_text_is_neutralised(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["hello", "", "1.5", "a=b"])
def test_ordinary_text_is_unchanged(value: str) -> None:
    assert neutralise(value) == value


def test_numbers_stay_numbers() -> None:
    assert neutralise(-3.5) == -3.5 and neutralise(0) == 0


def test_csv_has_header_one_row_per_result_and_neutralised_cells(results) -> None:
    data = csv_bytes(results)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    header, rows = _rows(data)
    assert header == list(COLUMNS)
    assert len(rows) == len(results)
    assert rows[0]["title"].startswith("'=HYPERLINK")
    assert rows[1]["title"] == "Sac à dos « Fusion » 背包"
    assert rows[2]["title"] == "'+33 612 345"
    assert rows[3]["title"] == "'@SUM(A1:A9)" and rows[3]["product_id"] == "'-SKU3"
    assert rows[4]["file"].startswith("'=cmd")
    # No cell anywhere starts with a formula character.
    for row in rows:
        for col, cell in row.items():
            if cell and cell[0] in "=+@":
                pytest.fail(f"{col} = {cell!r} is not neutralised")


def test_csv_values_match_the_results(results) -> None:
    _, rows = _rows(csv_bytes(results))
    for r, row in zip(results, rows, strict=True):
        assert row["ok"] == ("1" if r["ok"] else "0")
        if not r["ok"]:
            assert row["error_code"] == r["error"]["code"] and row["overall"] == ""
            continue
        assert float(row["overall"]) == pytest.approx(r["scores"]["overall"])
        for check in ("sharpness", "exposure"):
            if check in r["scores"]:
                assert float(row[check]) == pytest.approx(r["scores"][check])
        assert row["grade"] == r["grade"]
        assert int(row["width"]) == r["width"] and int(row["height"]) == r["height"]
        assert row["flag_codes"] == ";".join(f["code"] for f in r["flags"])
        sev = [f["severity"] for f in r["flags"]]
        assert int(row["n_errors"]) == sev.count("error")
        assert float(row["expected_gain"]) >= 0
        assert row["content_hash"] == r["content_hash"]


def test_write_csv_matches_csv_bytes_and_streams_a_generator(results, tmp_path: Path) -> None:
    path = write_csv((r for r in results), tmp_path / "report.csv")
    assert path.read_bytes() == csv_bytes(results)
    import pandas as pd

    df = pd.read_csv(path, encoding=ENCODING)
    assert list(df.columns) == list(COLUMNS) and len(df) == len(results)


def test_outside_catalog_is_a_column_and_the_pdf_gives_no_rank() -> None:
    from analyzer.report.csv import search_figures
    from analyzer.report.pdf import _bar_keys, _lookalike_hits, _search_lines

    r = {"file": "shoe.jpg", "ok": True,
         "search": {"median_rank": 120, "top_k_share": {"10": 0.0}, "primary_k": 10,
                    "k": [10], "n_products": 199, "ranks": [120, 130],
                    "outside_catalog": True},
         "differentiation": {"uniqueness": 90.0, "near_duplicates": [],
                             "nearest": [{"product_id": "BAG-1", "similarity": 0.41}]}}
    assert search_figures(r)["search_outside_catalog"] is True
    lines = _search_lines(r)
    assert "does not cover the product" in lines[0] and "median rank" not in " ".join(lines)
    # Lookalikes of another category are not shown (the dashboard hides them too).
    assert "BAG-1" not in " ".join(lines) and "Differentiation" not in " ".join(lines)
    assert _lookalike_hits(r) == []
    assert "search" not in _bar_keys(r) and "differentiation" not in _bar_keys(r)
    r["search"]["outside_catalog"] = False
    assert search_figures(r)["search_outside_catalog"] is False
    assert "median rank 120" in _search_lines(r)[0]
    assert "closest lookalike BAG-1" in _search_lines(r)[-1]
    assert [h["product_id"] for h in _lookalike_hits(r)] == ["BAG-1"]
    assert _bar_keys(r)[-2:] == ["search", "differentiation"]
    # with a near-copy (left out of the lookalikes) the closest is named as another one
    r["differentiation"]["near_duplicates"] = [{"product_id": "SHOE-9", "similarity": 0.99}]
    last = _search_lines(r)[-1]
    assert "closest lookalike besides its near-copies BAG-1" in last
    assert "1 near-duplicate(s)" in last


def test_csv_and_pdf_say_why_a_grade_is_capped() -> None:
    """A score that gives A with a should-fix issue from a low-scoring check is a B: the CSV's
    ``grade_cap`` column and the PDF's page say why, as the report card does; nothing when the
    score alone gives the grade, for a failed image or for an older report's unknown code."""
    from analyzer.quality.priority import expected_gain
    from analyzer.report.csv import grade_cap_text, row_for
    from analyzer.report.pdf import _detail

    flag = {"code": "UNDEREXPOSED", "severity": "warning", "message": "93% crushed to black",
            "fix": "Add light.", "check": "exposure"}
    r = {"file": "backlit.jpg", "ok": True, "grade": "B", "flags": [flag],
         "scores": {"overall": 86.4, "exposure": 40.0, "sharpness": 100.0}}
    why = grade_cap_text(r)
    assert why and "caps it at B" in why and "Underexposed: Exposure 40" in why
    assert row_for(r)["grade_cap"] == why
    # appended: the older columns keep their places
    assert COLUMNS[-2:] == ("grade_cap", "cover_art")
    page = _detail(r, expected_gain(r), None, None)
    text = " ".join(getattr(f, "text", "") for f in page._content)  # type: ignore[attr-defined]
    assert "Grade B" in text and "Underexposed: Exposure 40" in text
    error = {**flag, "code": "CLUTTERED_BACKGROUND", "severity": "error", "check": "clutter"}
    why = grade_cap_text({**r, "grade": "C", "flags": [error], "scores": {"overall": 90.0}})
    assert why and "must-fix issue (Cluttered background) caps it at C" in why
    assert grade_cap_text({**r, "scores": {"overall": 80.0, "exposure": 40.0}}) is None
    assert grade_cap_text({**r, "ok": False}) is None
    assert grade_cap_text({**r, "flags": [{**flag, "code": "RETIRED_CODE"}]}) is None
    assert row_for({**r, "grade": "A", "scores": {"overall": 95.0}})["grade_cap"] == ""
