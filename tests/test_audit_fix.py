"""`listing-lens audit --fix`: fixed photos under DIR/fixed/, before/after grades appended to the
CSV (existing columns unchanged) and shown in the PDF; resume fixes what an earlier run did not."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PIL import Image

from analyzer.cli import main
from analyzer.report.csv import COLUMNS, ENCODING
from tests.fix_helpers import textured_blob

OLD_COLUMNS_END = "search_suppressed"  # the last column before the fix columns were appended


def _shop(root: Path) -> Path:
    for i, (name, bg) in enumerate((("a.jpg", (200, 198, 190)), ("sub/b.png", (255, 255, 255)))):
        rgb, _ = textured_blob(size=(900, 1200), center=(450, 600), axes=(330, 260),
                               backdrop=bg, seed=i)
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(p)
    (root / "zero.jpg").write_bytes(b"")
    return root


def _rows(path: Path) -> list[dict]:
    with open(path, encoding=ENCODING, newline="") as f:
        return list(csv.DictReader(f))


def test_audit_fix_writes_fixed_photos_and_grades(tmp_path: Path, capsys) -> None:
    src = _shop(tmp_path / "shop")
    out = tmp_path / "out"
    rc = main(["audit", str(src), "--out", str(out), "--workers", "1", "--quiet", "--no-model"])
    assert rc == 2  # zero.jpg cannot be read
    rows = _rows(out / "report.csv")
    assert all(r["fixed_file"] == "" for r in rows)  # no --fix: the new columns stay empty
    # The same audit with --fix: analysed again (nothing was fixed before), photos written.
    rc = main(["audit", str(src), "--out", str(out), "--workers", "1", "--quiet", "--no-model",
               "--fix"])
    assert rc == 2
    assert (out / "fixed" / "a_fixed.jpg").is_file()
    assert (out / "fixed" / "sub" / "b_fixed.jpg").is_file()
    header = list(_rows(out / "report.csv")[0])
    assert header == list(COLUMNS)
    assert header.index("fixed_file") == header.index(OLD_COLUMNS_END) + 1
    by_name = {r["file"]: r for r in _rows(out / "report.csv")}
    a = by_name["a.jpg"]
    assert a["fix_grade_before"] == a["grade"]
    assert float(a["fix_overall_after"]) > float(a["fix_overall_before"])
    assert "BACKGROUND_NOT_WHITE" in a["flag_codes"]
    assert "BACKGROUND_NOT_WHITE" not in a["fix_flags_after"]
    assert "BACKGROUND_WHITENED" in a["fix_changes"]
    assert by_name["zero.jpg"]["fixed_file"] == ""
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert {r["file"]: bool(r.get("fix")) for r in results} == {
        "a.jpg": True, "sub/b.png": True, "zero.jpg": False}
    # A third run has nothing to redo.
    capsys.readouterr()
    main(["audit", str(src), "--out", str(out), "--workers", "1", "--quiet", "--no-model",
          "--fix"])
    assert "0 analysed now" in capsys.readouterr().err


def test_pdf_shows_the_fix(tmp_path: Path) -> None:
    import io

    from analyzer.report.pdf import build_pdf

    def pdf_bytes(results: list[dict]) -> bytes:
        buf = io.BytesIO()
        build_pdf(results, buf)
        return buf.getvalue()

    rgb, _ = textured_blob(size=(300, 400), center=(150, 200), axes=(100, 80))
    fixed = tmp_path / "x_fixed.jpg"
    Image.fromarray(rgb).save(fixed)
    r = {"file": "x.jpg", "ok": True, "grade": "C", "scores": {"overall": 60.0},
         "flags": [{"code": "BACKGROUND_NOT_WHITE", "severity": "error", "message": "grey",
                    "fix": "white", "check": "background"}],
         "width": 400, "height": 300, "format": "JPEG", "content_hash": "ab" * 32,
         "fix": {"ok": True, "output": str(fixed), "error": None,
                 "changes": [{"code": "BACKGROUND_WHITENED", "message": "made it ZQXWHITE"}],
                 "before": {"grade": "C", "overall": 60.0, "flags": ["BACKGROUND_NOT_WHITE"]},
                 "after": {"grade": "A", "overall": 93.0, "flags": []}, "notes": []}}
    with_fix = pdf_bytes([r])
    without = pdf_bytes([{k: v for k, v in r.items() if k != "fix"}])
    assert len(with_fix) > len(without) + 1000  # the fixed photo's picture is embedded
