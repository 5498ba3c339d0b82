"""The hostile corpus through `listing-lens audit` (folder, zip, CSV), `catalog build` / `search`
(bad files skipped; tampered catalogs -> CATALOG_MISMATCH) and the dashboard (AppTest).

Every run checks the same promises: the exact error code for each bad input, the good inputs
beside them analysed, no traceback on any stream, nothing written outside the output folder,
and user-supplied names shown literally (CSV formulas neutralised, HTML never interpreted).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from corpus import (
    FORMULA_TITLES,
    Case,
    good_photo_sources,
    make_corpus,
    make_csv_cases,
    make_zip_cases,
    shared_or_none,
)

from analyzer.io.loader import IMAGE_EXTENSIONS

REPO = Path(__file__).resolve().parents[1]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- helpers


def _cli(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env=env)


def _assert_clean(proc: subprocess.CompletedProcess) -> None:
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream, stream[-3000:]
        assert 'File "' not in stream, stream[-3000:]


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _assert_written_only_inside(root: Path, before: set[str], out: Path, cwd: Path) -> None:
    new = _snapshot(root) - before
    outside = [p for p in new if not (root / p).resolve().is_relative_to(out.resolve())]
    assert not outside, outside
    assert not any(cwd.iterdir()), list(cwd.iterdir())
    for p in out.rglob("*"):
        assert p.resolve().is_relative_to(out.resolve()), p


def _results(out: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text("utf-8").splitlines()]
    by_file = {r["file"]: r for r in rows}
    assert len(by_file) == len(rows), "one line per input"
    return by_file


def _csv_rows(out: Path) -> dict[str, dict]:
    with open(out / "report.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["file"].removeprefix("'"): r for r in rows}


def _code(r: dict) -> str | None:
    return None if r["ok"] else r["error"]["code"]


def _assert_no_formula_cells(out: Path) -> None:
    with open(out / "report.csv", encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            for col in ("file", "product_id", "title", "error_message", "top_issue", "top_fix"):
                assert not (row.get(col) or "").startswith(FORMULA_START), (col, row[col])


@pytest.fixture(scope="module")
def work(tmp_path_factory, request) -> dict:
    root = tmp_path_factory.mktemp("batch")
    good = good_photo_sources(shared_or_none(request))
    store = root / "store"
    cases = make_corpus(store, good, huge=False)
    zips = make_zip_cases(root / "zips")
    # The whole image corpus as one zip, beside the hostile members.
    corpus_zip = root / "zips" / "corpus.zip"
    with zipfile.ZipFile(corpus_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for c in cases:
            zf.write(c.path, f"shop/{c.name}")
    good_case = next(c for c in cases if c.expect_ok)
    bad_case = next(c for c in cases if c.name == "truncated.jpg")
    csvs = make_csv_cases(root / "csv", good_case.path, bad_case.path)
    cwd = root / "cwd"
    cwd.mkdir()
    return {"root": root, "store": store, "cases": cases, "zips": {z.name: z for z in zips},
            "corpus_zip": corpus_zip, "csvs": {c.name: c for c in csvs}, "cwd": cwd}


def _expected_by_name(cases: list[Case]) -> dict[str, str | None]:
    return {c.name: c.expect_code for c in cases
            if c.kind == "image" and c.path.suffix.lower() in IMAGE_EXTENSIONS}


# --------------------------------------------------------------------------- audit


@pytest.mark.slow
@pytest.mark.parametrize("source", ["folder", "zip"])
def test_audit_of_the_whole_corpus(work, source):
    root, cwd = work["root"], work["cwd"]
    out = root / f"out_{source}"
    before = _snapshot(root)
    src = work["store"] if source == "folder" else work["corpus_zip"]
    proc = _cli(["audit", str(src), "--out", str(out), "--no-model", "--workers", "1",
                 "--quiet"], cwd)
    _assert_clean(proc)
    assert proc.returncode == 2, proc.stderr[-2000:]
    _assert_written_only_inside(root, before, out, cwd)

    prefix = "" if source == "folder" else "shop/"
    expected = {prefix + n: code for n, code in _expected_by_name(work["cases"]).items()}
    results = _results(out)
    assert set(results) == set(expected)
    got = {n: _code(r) for n, r in results.items()}
    assert got == expected
    rows = _csv_rows(out)
    assert {n: (r["error_code"] or None) for n, r in rows.items()} == expected
    assert all(r["ok"] == "1" for n, r in rows.items() if expected[n] is None)
    _assert_no_formula_cells(out)
    formula = next(n for n in rows if "HYPERLINK" in n)
    assert rows[formula]["error_code"] == "" and formula.startswith(prefix + "=")
    # Non-image files are listed as skipped, not silently lost.
    summary = json.loads((out / "audit.json").read_text("utf-8"))
    skipped = {s["name"] for s in summary["skipped"]}
    assert {prefix + n for n in ("drawing.svg", "spec.pdf", "icon.ico")} <= skipped


@pytest.mark.slow
def test_audit_pdf_shows_hostile_names_literally(work):
    out = work["root"] / "out_folder"
    if not (out / "report.pdf").is_file():
        pytest.skip("runs after test_audit_of_the_whole_corpus[folder]")
    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)
    for name in ("bomb_50000.png", "truncated.jpg", "empty.jpg"):
        assert name in text  # the failures are listed by name
    assert "IMAGE_TOO_LARGE" in text and "TRUNCATED_IMAGE" in text


def test_audit_of_hostile_zip_members(work):
    root, cwd = work["root"], work["cwd"]
    case = work["zips"]["hostile_members.zip"]
    out = root / "out_hostile_zip"
    before = _snapshot(root)
    proc = _cli(["audit", str(case.path), "--out", str(out), "--no-model", "--workers", "1",
                 "--quiet"], cwd)
    _assert_clean(proc)
    _assert_written_only_inside(root, before, out, cwd)
    got = {n: _code(r) for n, r in _results(out).items()}
    assert {n: got.get(n, "MISSING") for n in case.members} == case.members
    assert set(got) == set(case.members)
    summary = json.loads((out / "audit.json").read_text("utf-8"))
    skipped = {s["name"]: s for s in summary["skipped"]}
    assert {"inner.zip", "notes.txt", "__MACOSX/._good.jpg", ".DS_Store", "link_dir"} <= \
        set(skipped)
    assert skipped["link_dir"].get("code") == "UNSAFE_PATH"
    # The escaped member names never became files anywhere.
    for p in (root / "escaped.jpg", root.parent / "escaped.jpg", Path("/abs/absolute.jpg")):
        assert not p.exists()


def test_audit_reports_an_empty_zip_member(work):
    """A 0-byte zip member once vanished from results.jsonl (no resume key); it must be listed."""
    out = work["root"] / "out_hostile_zip"
    if not (out / "results.jsonl").is_file():
        test_audit_of_hostile_zip_members(work)
    assert _code(_results(out)["empty.jpg"]) == "EMPTY_FILE"


@pytest.mark.parametrize("name,code", [("zip_bomb.zip", "ARCHIVE_TOO_LARGE"),
                                       ("not_a_zip.zip", "BAD_ARCHIVE"),
                                       ("truncated.zip", "BAD_ARCHIVE")])
def test_audit_of_a_broken_archive_says_why(work, name, code):
    root, cwd = work["root"], work["cwd"]
    out = root / f"out_{name}"
    proc = _cli(["audit", str(work["zips"][name].path), "--out", str(out), "--no-model",
                 "--workers", "1", "--quiet"], cwd)
    _assert_clean(proc)
    assert proc.returncode == 2
    assert code in proc.stderr
    assert not any(cwd.iterdir())


def test_audit_of_store_csv(work):
    root, cwd = work["root"], work["cwd"]
    case = work["csvs"]["store.csv"]
    out = root / "out_csv"
    before = _snapshot(root)
    proc = _cli(["audit", str(case.path), "--out", str(out), "--no-model", "--workers", "1",
                 "--quiet"], cwd)
    _assert_clean(proc)
    _assert_written_only_inside(root, before, out, cwd)
    with open(out / "report.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6  # one row per CSV row, the duplicate photo included
    by_file: dict[str, list[dict]] = {}
    for r in rows:
        by_file.setdefault(r["file"], []).append(r)
    for ref, code in case.members.items():
        assert all((r["error_code"] or None) == code for r in by_file[ref]), (ref, by_file[ref])
    # Formula-like titles and ids are shown as text, not run by a spreadsheet.
    titles = [r["title"] for r in rows]
    for t in FORMULA_TITLES:
        assert "'" + t in titles or t.strip() in [x.lstrip("'").strip() for x in titles]
    _assert_no_formula_cells(out)


@pytest.mark.parametrize("name", ["no_image_column.csv", "empty.csv", "binary.csv"])
def test_audit_of_a_bad_csv_says_why(work, name):
    root, cwd = work["root"], work["cwd"]
    proc = _cli(["audit", str(work["csvs"][name].path), "--out", str(root / f"out_{name}"),
                 "--no-model", "--workers", "1", "--quiet"], cwd)
    _assert_clean(proc)
    assert proc.returncode == 2 and "BAD_CSV" in proc.stderr


# --------------------------------------------------------------------------- catalog


@pytest.fixture(scope="module")
def catalog(work) -> tuple[Path, dict]:
    root, cwd = work["root"], work["cwd"]
    cat = root / "catalog"
    before = _snapshot(root)
    proc = _cli(["catalog", "build", str(work["store"]), "--out", str(cat), "--format", "json",
                 "--no-progress"], cwd)
    _assert_clean(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    _assert_written_only_inside(root, before, cat, cwd)
    return cat, json.loads(proc.stdout)


@pytest.mark.slow
def test_catalog_build_skips_bad_files_with_their_codes(work, catalog):
    cat, res = catalog
    expected = _expected_by_name(work["cases"])
    skipped = {Path(s["file"]).name: s["code"] for s in res["skipped"]}
    bad = {n: c for n, c in expected.items() if c is not None}
    assert skipped == bad
    assert res["items"] == sum(c is None for c in expected.values())


def _tampered(cat: Path, dst: Path, edit) -> Path:
    shutil.copytree(cat, dst)
    edit(dst)
    return dst


def _drop_a_row(root: Path) -> None:
    p = next((root / "embeddings").glob("*.npy"))
    arr = np.load(p)
    np.save(p, arr[:-1])


def _other_embedder(root: Path) -> None:
    m = json.loads((root / "manifest.json").read_text("utf-8"))
    m["embedder_id"] = "clip:ViT-B-32:laion2b_s34b_b79k:v1"
    (root / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


def _wrong_count(root: Path) -> None:
    m = json.loads((root / "manifest.json").read_text("utf-8"))
    m["count"] = int(m["count"]) + 3
    (root / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


def _garbage_manifest(root: Path) -> None:
    (root / "manifest.json").write_text("{not json", encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("edit", [_drop_a_row, _other_embedder, _wrong_count, _garbage_manifest])
def test_tampered_catalog_is_catalog_mismatch(work, catalog, edit):
    cat, _ = catalog
    bad = _tampered(cat, work["root"] / f"cat_{edit.__name__}", edit)
    query = next(c.path for c in work["cases"] if c.expect_ok)
    commands = [["search", str(query), "--catalog", str(bad), "--format", "json"]]
    if edit in (_drop_a_row, _other_embedder):  # the others fail on open, like search does
        commands.append(["analyze", str(query), "--catalog", str(bad), "--format", "json",
                         "--no-model"])
    for args in commands:
        proc = _cli(args, work["cwd"])
        _assert_clean(proc)
        assert proc.returncode == 2, (args, proc.stdout[-1000:], proc.stderr[-1000:])
        assert "CATALOG_MISMATCH" in proc.stderr + proc.stdout, (args, proc.stderr[-1000:])


# --------------------------------------------------------------------------- dashboard

APP = str(REPO / "app.py")


def _app(fast: bool = False):
    """The dashboard; ``fast``: no reference catalog and the classical mask (these tests are
    about errors and escaping, not the search simulation)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=600)
    at.run()
    assert not at.exception, at.exception
    if fast:
        at.radio(key="catalog-choice").set_value("none")
        at.toggle(key="use-model").set_value(False)
        at.run()
        assert not at.exception, at.exception
    return at


def _html_is_escaped(at) -> None:
    """No user-supplied name reaches the page as live HTML."""
    for md in at.markdown:
        if getattr(md.proto, "allow_html", False):
            assert "<script>" not in md.value and "onerror=" not in md.value, md.value


def _upload(at, files: list[tuple[str, bytes]]) -> None:
    at.file_uploader[0].set_value([(n, d, "application/octet-stream") for n, d in files])
    at.run()
    assert not at.exception, at.exception


@pytest.mark.slow
def test_dashboard_shows_each_error_and_still_analyses_the_good_photo(work):
    pytest.importorskip("streamlit.testing.v1")
    by = {c.name: c for c in work["cases"]}
    names = ["bomb_50000.png", "truncated.jpg", "notes.jpg", "empty.jpg",
             "<img src=x onerror=alert(1)>.jpg", "good_00" + by_suffix(by, "good_00")]
    at = _app(fast=True)
    _upload(at, [(n, by[n].path.read_bytes()) for n in names])
    errors = "\n".join(e.value for e in at.error)
    for n in names[:4]:
        assert by[n].expect_code in errors, (n, errors)
    assert "INTERNAL_ERROR" not in errors
    _html_is_escaped(at)
    assert "Traceback" not in errors
    # The page still works: the good photos got a report card (a grade).
    page = "\n".join(m.value for m in at.markdown)
    assert 'data-testid="ll-grade"' in page


@pytest.mark.slow
def test_dashboard_survives_a_zip_bomb_and_hostile_zip(work):
    pytest.importorskip("streamlit.testing.v1")
    at = _app(fast=True)
    _upload(at, [("zip_bomb.zip", work["zips"]["zip_bomb.zip"].path.read_bytes()),
                 ("hostile_members.zip",
                  work["zips"]["hostile_members.zip"].path.read_bytes())])
    errors = "\n".join(e.value for e in at.error)
    assert "ARCHIVE_TOO_LARGE" in errors and "UNSAFE_PATH" in errors
    assert "INTERNAL_ERROR" not in errors
    _html_is_escaped(at)
    page = "\n".join(m.value for m in at.markdown)
    assert 'data-testid="ll-grade"' in page  # good.jpg inside the hostile zip was analysed


def by_suffix(by: dict[str, Case], stem: str) -> str:
    return next(Path(n).suffix for n in by if n.startswith(stem))
