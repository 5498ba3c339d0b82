"""`listing-lens audit`: outputs, exit status, zip safety and resume through the command line."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from analyzer.cli import main


def _folder(root: Path, photos: list[Path], broken: bool) -> Path:
    root.mkdir(parents=True)
    for p in photos:
        shutil.copy(p, root / p.name)
    if broken:
        (root / "zero.jpg").write_bytes(b"")
    return root


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_audit_clean_folder_exits_0_and_resumes(studio_photos, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    src = _folder(tmp_path / "shop", studio_photos[10:13], broken=False)
    out = tmp_path / "out"
    rc = main(["audit", str(src), "--out", str(out), "--workers", "1", "--quiet"])
    assert rc == 0
    for name in ("results.jsonl", "report.csv", "report.pdf"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    assert len(_lines(out / "results.jsonl")) == 3
    err = capsys.readouterr().err
    assert "3 analysed now" in err
    # Same command again: nothing to redo.
    rc = main(["audit", str(src), "--out", str(out), "--workers", "1", "--quiet"])
    assert rc == 0
    assert "0 analysed now, 3 already done" in capsys.readouterr().err
    assert json.loads((out / "audit.json").read_text())["analysed"] == 0
    # Another marketplace into the same folder: graded again with its rules, not resumed
    # with Amazon's verdicts; then resumed under Etsy's.
    rc = main(["audit", str(src), "--out", str(out), "--workers", "1", "--quiet",
               "--marketplace", "etsy"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "3 analysed now, 0 already done" in err and "graded again: 3 photos" in err
    lines = _lines(out / "results.jsonl")
    assert len(lines) == 3 and all(r["graded_with"].startswith("etsy|") for r in lines)
    assert not any("Amazon" in f["message"] for r in lines for f in r["flags"])
    rc = main(["audit", str(src), "--out", str(out), "--workers", "1", "--quiet",
               "--marketplace", "etsy"])
    assert "0 analysed now, 3 already done" in capsys.readouterr().err


@pytest.mark.slow
def test_audit_zip_with_two_workers(studio_photos, amateur_photos, tmp_path: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    zpath = tmp_path / "in" / "shop.zip"
    zpath.parent.mkdir()
    photos = studio_photos[20:22] + amateur_photos[20:22]
    with zipfile.ZipFile(zpath, "w") as z:
        for p in photos:
            z.write(p, f"listing/{p.name}")
        z.writestr("../../outside.jpg", photos[0].read_bytes())
        z.writestr("listing/zero.jpg", b"")
        z.writestr("listing/readme.md", "# hi")
    out = tmp_path / "out"
    rc = main(["audit", str(zpath), "--out", str(out), "--workers", "2", "--quiet",
               "--store-name", "Zip shop"])
    assert rc == 2  # the unsafe member and the empty file failed
    results = _lines(out / "results.jsonl")
    assert len(results) == 6
    codes = {r["file"]: (r["error"] or {}).get("code") for r in results}
    assert codes["outside.jpg"] == "UNSAFE_PATH" and codes["listing/zero.jpg"] == "EMPTY_FILE"
    assert sum(r["ok"] for r in results) == 4
    assert not (tmp_path / "outside.jpg").exists()
    assert not (tmp_path.parent / "outside.jpg").exists()
    assert {p.name for p in tmp_path.iterdir()} == {"in", "out"}
    err = capsys.readouterr().err
    assert "skipped 1 non-image files" in err and "UNSAFE_PATH" in err


def test_audit_of_a_folder_without_images_is_an_error(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    """A wrong folder must not read as a finished audit (exit 0, empty reports)."""
    src = tmp_path / "shop"
    src.mkdir()
    (src / "notes.txt").write_text("not a photo")
    rc = main(["audit", str(src), "--out", str(tmp_path / "out"), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "no images found" in err and "1 file that is not an image" in err
    assert not (tmp_path / "out" / "report.pdf").exists()


def test_audit_bad_csv_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "list.csv"
    bad.write_text("sku;name\n1;x\n", encoding="utf-8")
    rc = main(["audit", str(bad), "--out", str(tmp_path / "out"), "--quiet"])
    assert rc == 2
    assert "BAD_CSV" in capsys.readouterr().err


def test_audit_folder_with_a_broken_file_exits_2(studio_photos, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    src = _folder(tmp_path / "shop", studio_photos[30:32], broken=True)
    rc = main(["audit", str(src), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "failed: zero.jpg: EMPTY_FILE" in err
    # the empty file is refused before analysis: the counts add up to the 3 files
    assert "audited 2 of 3 images" in err
    assert "(2 analysed now, 1 refused before analysis, 0 already done, 0 duplicates)" in err
    csv_text = (tmp_path / "out" / "report.csv").read_text(encoding="utf-8-sig")
    assert "zero.jpg" in csv_text and "EMPTY_FILE" in csv_text


def test_audit_says_a_duplicate_in_the_singular(studio_photos, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    """A thirteenth new user's try read "1 duplicates" and could not tell where it counted."""
    src = _folder(tmp_path / "shop", studio_photos[30:31], broken=False)
    shutil.copy(studio_photos[30], src / "copy of it.jpg")
    rc = main(["audit", str(src), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "audited 2 of 2 images" in err
    assert "(1 analysed now, 0 already done, 1 duplicate of another file, graded once)" in err
    # which one (a fourteenth new user's try: the count alone did not say)
    first, dup = sorted([studio_photos[30].name, "copy of it.jpg"])
    assert f"duplicate: {dup} has the same photo as {first} (graded once)" in err, err
