"""A photo turned in an editor and saved with its corners filled is BORDER (overlays/corners.py);
a turn whose fill is the backdrop's own colour, a dark backdrop, a vignette and a dark object in
one corner are not."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from analyzer.config import check_thresholds, marketplace
from analyzer.engine import analyze
from analyzer.io.loader import load_image
from analyzer.quality import overlays
from analyzer.quality.context import ImageContext
from analyzer.quality.overlays.corners import corner_wedge, find_corner_fill


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _fill(im: Image.Image) -> tuple[overlays.CornerFill, set[str]]:
    ctx = ImageContext(load_image(_jpeg(im), name="t.jpg"), marketplace("etsy"), use_model=False)
    g = overlays.graphics(ctx)
    return (find_corner_fill(g.lab, ctx.thresholds("overlays")),
            {f.code for f in overlays.check(ctx).flags})


@pytest.mark.parametrize(("angle", "fill"), [
    (8.0, (0, 0, 0)), (-3.0, (0, 0, 0)), (14.0, (40, 40, 40)), (5.0, (200, 30, 40))])
def test_a_turned_photo_with_filled_corners_is_a_border(studio_photo: Path, angle, fill):
    """The seventh new user's try: a studio shot turned 8 degrees with black corners was graded A
    on Etsy, a background "info" its only note."""
    im = Image.open(studio_photo).convert("RGB")
    assert not _fill(im)[0].found
    found, codes = _fill(im.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=fill))
    assert found.found and len(found.wedges) >= 2
    assert abs(found.angle_deg - abs(angle)) < 0.6
    assert max(abs(a - b) for a, b in zip(found.rgb, fill, strict=True)) <= 12
    assert "BORDER" in codes


def test_the_flag_names_the_turn_and_the_grade_falls(studio_photo: Path):
    turned = Image.open(studio_photo).convert("RGB").rotate(
        8, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
    r = analyze(_jpeg(turned), name="turned.jpg", marketplace="etsy")
    flag = next(f for f in r.flags if f.code == "BORDER")
    assert "turned about 8 degrees" in flag.message and "corners filled" in flag.message
    assert flag.severity == "warning" and r.grade != "A"


def test_a_fill_of_the_backdrops_colour_is_no_wedge(studio_photo: Path):
    """White corners on a white studio backdrop join the backdrop: nothing shows, nothing to
    flag (a tilted product on white is the seller's choice)."""
    im = Image.open(studio_photo).convert("RGB").rotate(
        6, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))
    assert not _fill(im)[0].found


def test_dark_backdrops_vignettes_and_one_dark_corner_are_not_wedges():
    h, w = 900, 720
    # a product on black velvet: the corner's colour runs along the whole side
    velvet = Image.new("RGB", (w, h), (5, 5, 5))
    ImageDraw.Draw(velvet).ellipse((180, 200, 540, 700), fill=(200, 170, 60))
    # a vignette: dark corners that fade, with no straight edge and no step
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
    shade = np.clip(1.2 - 0.6 * r, 0, 1)[..., None]
    vignette = Image.fromarray((np.full((h, w, 3), 235, np.float32) * shade).astype(np.uint8))
    ImageDraw.Draw(vignette).rectangle((240, 250, 480, 650), fill=(30, 80, 160))
    # one dark triangle in one corner (a prop's shadow, a dark object cut by the frame)
    one = Image.new("RGB", (w, h), (250, 250, 250))
    d = ImageDraw.Draw(one)
    d.rectangle((240, 250, 480, 650), fill=(30, 80, 160))
    d.polygon([(0, 0), (200, 0), (0, 40)], fill=(0, 0, 0))
    for im in (velvet, vignette, one):
        assert not _fill(im)[0].found


def test_one_wedge_is_measured_from_a_corner():
    """The legs and the angle of one drawn wedge (exact arithmetic on a clean Lab array)."""
    lab = np.zeros((400, 300, 3), np.float32)
    lab[..., 0] = 95.0  # a light photo ...
    yy, xx = np.mgrid[:400, :300]
    lab[xx < 120 * (1 - yy / 30)] = (0.0, 0.0, 0.0)  # ... and a black wedge 120 x 30 px
    wd = corner_wedge(lab, check_thresholds("overlays"))
    assert wd is not None and (wd.a, wd.b) == (120, 30)
    assert abs(wd.angle_deg - np.degrees(np.arctan(30 / 120))) < 1e-9
