"""A photo with no colour of its own is MONOCHROME (exposure.tone_spread): black and white, or
toned by a sepia or vintage filter. A photo of a grey product, and the shipped colour photos,
are not; a frame that is nearly all white has too little to tell and is not judged."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analyzer.config import check_thresholds, marketplace
from analyzer.io.loader import load_image
from analyzer.quality import exposure
from analyzer.quality.context import ImageContext

DATA = Path(__file__).parent / "data"
GREY_PRODUCT = DATA / "studio" / "mb06-gray-0.jpg"  # a grey bag on white: neutral, yet a photo


def _check(im: Image.Image, quality: int = 90):  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=quality)
    ctx = ImageContext(load_image(buf.getvalue(), name="t.jpg"), marketplace("amazon"),
                       use_model=False)
    res = exposure.check(ctx)
    return res, {f.code for f in res.flags}


def _toned(im: Image.Image, tint: tuple[int, int, int], k: float) -> Image.Image:
    g = np.asarray(im.convert("L"), np.float32)[..., None] / 255.0
    t = np.array(tint, np.float32)
    out = (t * (1 - g) + 255.0 * g) * k + g * 255.0 * (1 - k)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))


def _colour_photos() -> list[Path]:
    return sorted((DATA / "amateur").glob("*.jpg"))[:4] + [GREY_PRODUCT]


@pytest.mark.parametrize("path", _colour_photos(), ids=lambda p: p.stem[:12])
def test_colour_photos_are_not_monochrome(path: Path) -> None:
    res, codes = _check(Image.open(path))
    assert "MONOCHROME" not in codes
    assert res.metrics["tone_spread"] >= check_thresholds("exposure")["mono_max_spread"]


@pytest.mark.parametrize("path", _colour_photos(), ids=lambda p: p.stem[:12])
def test_black_and_white_copy_is_monochrome(path: Path) -> None:
    res, codes = _check(Image.open(path).convert("L"))
    assert "MONOCHROME" in codes
    assert res.score <= check_thresholds("exposure")["mono_score_cap"]
    flag = next(f for f in res.flags if f.code == "MONOCHROME")
    assert "no colour" in flag.message and flag.fix


@pytest.mark.parametrize("tint", [(112, 66, 20), (40, 70, 110)], ids=["sepia", "blue"])
def test_lightly_toned_copy_is_monochrome_and_not_a_cast(tint: tuple[int, int, int]) -> None:
    """A light tone (30%) on the grey bag: MONOCHROME, and not COLOR_CAST as well (the tint is
    the filter's: one fault, one flag)."""
    res, codes = _check(_toned(Image.open(GREY_PRODUCT), tint, 0.3), quality=95)
    assert "MONOCHROME" in codes
    assert "COLOR_CAST" not in codes


def test_nearly_white_frame_is_not_judged() -> None:
    """A small pale object on white: under 1% of the frame between black and white, no
    reading (None), no flag, even though it has no colour."""
    a = np.full((400, 400, 3), 255, np.uint8)
    a[195:205, 195:205] = 200
    res, codes = _check(Image.fromarray(a))
    assert res.metrics["tone_spread"] is None
    assert "MONOCHROME" not in codes


def test_tone_spread_reads_hue_at_one_lightness() -> None:
    """Two colours of the same L* (a red and a green patch) spread far from one tone curve; the
    same patches in grey do not."""
    th = check_thresholds("exposure")
    lab = np.zeros((100, 100, 3), np.float32)
    lab[..., 0] = 50.0
    lab[:, :50, 1] = 40.0    # red-ish
    lab[:, 50:, 1] = -40.0   # green-ish
    assert exposure.tone_spread(lab, th) > 30
    lab[..., 1:] = 0.0
    assert exposure.tone_spread(lab, th) < 0.01
