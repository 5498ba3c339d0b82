"""A photo with no colour of its own is MONOCHROME (exposure.colour_p99): black and white, or
nearly so. A photo of a grey product, in white or warm light, a flat coloured graphic and the
shipped colour photos are not; a frame that is nearly all white has too little to tell and is
not judged; a title naming a black-and-white product keeps the flag off."""

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
TH = check_thresholds("exposure")


def _check(im: Image.Image, quality: int = 90, title: str = ""):  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=quality)
    ctx = ImageContext(load_image(buf.getvalue(), name="t.jpg"), marketplace("amazon"),
                       use_model=False, title=title)
    res = exposure.check(ctx)
    return res, {f.code for f in res.flags}


def _colour_photos() -> list[Path]:
    return sorted((DATA / "amateur").glob("*.jpg"))[:4] + [GREY_PRODUCT]


@pytest.mark.parametrize("path", _colour_photos(), ids=lambda p: p.stem[:12])
def test_colour_photos_are_not_monochrome(path: Path) -> None:
    res, codes = _check(Image.open(path))
    assert "MONOCHROME" not in codes
    assert res.metrics["colour_p99"] >= 2 * TH["mono_max_chroma"]


@pytest.mark.parametrize("path", _colour_photos(), ids=lambda p: p.stem[:12])
def test_black_and_white_copy_is_monochrome(path: Path) -> None:
    res, codes = _check(Image.open(path).convert("L"))
    assert "MONOCHROME" in codes
    assert res.score <= TH["mono_score_cap"]
    flag = next(f for f in res.flags if f.code == "MONOCHROME")
    assert "no colour" in flag.message and flag.fix


def test_nearly_black_and_white_copy_is_monochrome() -> None:
    """A filter that kept 1% of the colour is as good as black and white to a shopper."""
    im = Image.open(_colour_photos()[0]).convert("RGB")
    grey = np.asarray(im.convert("L").convert("RGB"), np.float32)
    mixed = grey * 0.99 + np.asarray(im, np.float32) * 0.01
    _, codes = _check(Image.fromarray(np.rint(mixed).astype(np.uint8)))
    assert "MONOCHROME" in codes


def test_grey_product_under_a_warm_cast_is_not_monochrome() -> None:
    """A cast tints a neutral product's photo: colourful by this measure, not black and white."""
    a = np.asarray(Image.open(GREY_PRODUCT).convert("RGB"), np.float32)
    res, codes = _check(Image.fromarray(np.clip(a * [1.0, 0.9, 0.75], 0, 255).astype(np.uint8)))
    assert "MONOCHROME" not in codes
    assert res.metrics["colour_p99"] > TH["mono_max_chroma"]


def test_a_flat_coloured_graphic_is_not_monochrome() -> None:
    """One flat orange on white has one tone but plenty of colour."""
    a = np.full((400, 400, 3), 255, np.uint8)
    a[100:300, 100:300] = (220, 120, 40)
    _, codes = _check(Image.fromarray(a))
    assert "MONOCHROME" not in codes


def test_nearly_white_frame_is_not_judged() -> None:
    """A small pale object on white: under 1% of the frame between black and white, no
    reading (None), no flag, even though it has no colour."""
    a = np.full((400, 400, 3), 255, np.uint8)
    a[195:205, 195:205] = 200
    res, codes = _check(Image.fromarray(a))
    assert res.metrics["colour_p99"] is None
    assert "MONOCHROME" not in codes


def test_colour_p99_reads_the_most_colourful_pixels() -> None:
    """A grey frame with a red patch on 5% of it reads the red's chroma; the same in grey, 0."""
    lab = np.zeros((100, 100, 3), np.float32)
    lab[..., 0] = 50.0
    lab[:5, :, 1] = 40.0
    assert exposure.colour_p99(lab, TH) == pytest.approx(40.0)
    lab[..., 1:] = 0.0
    assert exposure.colour_p99(lab, TH) == 0.0


@pytest.mark.parametrize("title", ["Black and white art print, A3", "B&W photo book",
                                   "Monochrome poster", "Greyscale city map"])
def test_a_title_naming_a_black_and_white_product_is_not_flagged(title: str) -> None:
    """A print sold in black and white is shown as it is: measured, not flagged, not capped."""
    res, codes = _check(Image.open(GREY_PRODUCT).convert("L"), title=title)
    assert "MONOCHROME" not in codes
    assert res.metrics["colour_p99"] < TH["mono_max_chroma"]
    assert res.score > TH["mono_score_cap"]


@pytest.mark.parametrize("title", ["Black backpack with white zips", "Grey wool scarf",
                                   "Bowling set, 3-pack"])
def test_other_titles_leave_the_flag(title: str) -> None:
    _, codes = _check(Image.open(GREY_PRODUCT).convert("L"), title=title)
    assert "MONOCHROME" in codes
