"""Cover art, declared by the seller: the whole frame is the product's printed face.

A book's, a film's or a record's main image is its front cover edge to edge; read as a product
photo it has a "background" that is not white, "props" and "text beside the product" (the demo
store's DVD covers: C or D with four or five flags). Only the seller can say a photo is the
cover itself rather than a case photographed on a table, so the declaration is theirs.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from analyzer.audit.runner import grading_settings
from analyzer.cli import main
from analyzer.codes import FlagCode
from analyzer.engine import COVER_ART_NOTE, analyze
from analyzer.ui.text import check_headline

COVER_FLAGS = {FlagCode.BACKGROUND_NOT_WHITE, FlagCode.BACKGROUND_OFF_WHITE,
               FlagCode.CLUTTERED_BACKGROUND}


def _cover(blur: float = 0.0) -> bytes:
    """A 1000 x 1400 px cover: a dark sky, a lit figure and a title, print to every edge."""
    rng = np.random.default_rng(3)
    h, w = 1400, 1000
    y = np.linspace(0.0, 1.0, h)[:, None, None]
    img = (np.array([20, 30, 70]) * (1 - y) + np.array([120, 40, 30]) * y) * np.ones((1, w, 1))
    img += rng.normal(0, 6, (h, w, 3))
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for _ in range(40):  # stars, a skyline
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h // 2))
        d.ellipse((x0, y0, x0 + 6, y0 + 6), fill=(250, 240, 200))
        bx = int(rng.integers(0, w))
        d.rectangle((bx, 1000 + int(rng.integers(0, 200)), bx + 60, h), fill=(10, 10, 20))
    d.ellipse((330, 450, 670, 1050), fill=(230, 170, 120))
    font = ImageFont.load_default(size=110)
    d.text((90, 120), "NIGHT CITY", font=font, fill=(255, 230, 90))
    d.text((260, 1230), "A NOVEL", font=ImageFont.load_default(size=70), fill=(255, 255, 255))
    a = np.asarray(im)
    if blur:
        a = cv2.GaussianBlur(a, (0, 0), blur)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


@pytest.fixture(scope="module")
def cover() -> bytes:
    return _cover()


def test_a_declared_cover_is_not_judged_for_backdrop_or_props(cover):
    plain = analyze(cover, name="cover.jpg", use_model=False)
    assert {f.code for f in plain.flags} & COVER_FLAGS  # read as a product photo: wrong flags
    declared = analyze(cover, name="cover.jpg", use_model=False, cover_art=True)
    assert declared.ok and declared.cover_art
    assert not {f.code for f in declared.flags} & COVER_FLAGS, declared.flags
    assert declared.scores["background"] == 100 and declared.scores["clutter"] == 100
    assert declared.scores["overall"] > plain.scores["overall"]
    assert COVER_ART_NOTE in declared.notes and COVER_ART_NOTE not in plain.notes
    for name in ("background", "clutter"):
        res = declared.checks[name]
        assert res.metrics["cover_art"] == 1.0 and plain.checks[name].metrics["cover_art"] == 0.0
        assert "not judged" in check_headline(name, res)
    # the cover is the product: the whole frame, its print its own
    assert declared.metrics["overlays.printed_face"] == 1.0
    assert "TEXT_OR_WATERMARK" not in {f.code for f in declared.flags}


def test_the_declaration_does_not_silence_the_other_checks():
    blurred = analyze(_cover(blur=5.0), name="soft.jpg", cover_art=True)
    assert FlagCode.BLURRY in {f.code for f in blurred.flags}
    assert not {f.code for f in blurred.flags} & COVER_FLAGS


def test_cli_analyze_takes_the_declaration(cover, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    p = tmp_path / "cover.jpg"
    p.write_bytes(cover)
    rc = main(["analyze", str(p), "--no-model", "--workers", "1", "--format", "json",
               "--cover-art"])
    out = json.loads(capsys.readouterr().out)
    rows = out if isinstance(out, list) else out.get("results", [out])
    assert rc in (0, 1) and rows[0]["ok"]
    assert COVER_ART_NOTE in rows[0]["notes"]
    assert not {f["code"] for f in rows[0]["flags"]} & {c.value for c in COVER_FLAGS}


def test_an_audit_with_and_without_the_declaration_is_graded_again(
        cover, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # results stored before the declaration existed keep their key, so they still resume
    assert grading_settings("amazon", True, None) == "amazon|u2netp|"
    assert grading_settings("amazon", True, None, cover_art=True) == "amazon|u2netp||cover"
    src = tmp_path / "books"
    src.mkdir()
    (src / "cover.jpg").write_bytes(cover)
    out = tmp_path / "out"
    args = ["audit", str(src), "--out", str(out), "--workers", "1", "--quiet", "--no-model"]
    assert main(args + ["--cover-art"]) == 0
    first = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert COVER_ART_NOTE in first[-1]["notes"] and first[-1]["graded_with"].endswith("|cover")
    from pypdf import PdfReader

    pdf = " ".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)
    assert "1 judged as cover art, as declared" in " ".join(pdf.split())
    with open(out / "report.csv", encoding="utf-8-sig", newline="") as f:
        assert [r["cover_art"] for r in csv.DictReader(f)] == ["1"]
    capsys.readouterr()
    assert main(args) in (0, 1)  # the same photo, not declared: graded again, not resumed
    err = capsys.readouterr().err
    assert "graded again: 1 photos" in err
    last = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()][-1]
    assert COVER_ART_NOTE not in last["notes"]
    with open(out / "report.csv", encoding="utf-8-sig", newline="") as f:
        assert [r["cover_art"] for r in csv.DictReader(f)] == ["0"]
