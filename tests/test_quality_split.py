"""Before/after splits are found (overlays/split.py): a straight line through the product and on
through the backdrop, across which the photo changes. A product's own straight edge, a wall's
seam hidden by the product and the clean photo are not splits."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analyzer.config import check_thresholds, marketplace
from analyzer.io.loader import load_image
from analyzer.quality import overlays
from analyzer.quality.context import ImageContext
from analyzer.quality.overlays.split import shares, splits


def _ctx(im: Image.Image, mkt: str = "amazon") -> ImageContext:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    return ImageContext(load_image(buf.getvalue(), name="t.jpg"), marketplace(mkt),
                        use_model=False)


def _split_flag(im: Image.Image, mkt: str = "amazon"):  # type: ignore[no-untyped-def]
    res = overlays.check(_ctx(im, mkt))
    return res, next((f for f in res.flags if f.code == "SPLIT_IMAGE"), None)


def _before_after(im: Image.Image, vertical: bool, divider: tuple[int, int, int] | None,
                  at: float = 0.5) -> Image.Image:
    """One half of the frame drained of colour and contrast and darkened by 30% (the "before" look),
    cut at ``at`` of the product's box, a 6 px divider drawn across the whole frame."""
    a = np.asarray(im.convert("RGB")).astype(np.float32)
    ys, xs = np.nonzero(a.mean(axis=2) < 235)
    lo, hi = (xs.min(), xs.max()) if vertical else (ys.min(), ys.max())
    cut = int(lo + at * (hi - lo))
    half = a[:, :cut] if vertical else a[:cut]
    grey = half.mean(axis=2, keepdims=True)
    half += 0.7 * (grey - half)
    half[:] = (half.mean() + 0.7 * (half - half.mean())) * 0.7
    out = np.clip(a, 0, 255).astype(np.uint8)
    if divider is not None:
        if vertical:
            out[:, cut - 3:cut + 3] = divider
        else:
            out[cut - 3:cut + 3] = divider
    return Image.fromarray(out)


@pytest.fixture(scope="module")
def studio(studio_photo: Path) -> Image.Image:
    return Image.open(studio_photo).convert("RGB")


@pytest.mark.parametrize(("vertical", "divider"), [(True, (255, 255, 255)), (True, None),
                                                   (False, (0, 0, 0))])
def test_a_before_after_split_through_the_product_is_found(studio: Image.Image, vertical: bool,
                                                           divider) -> None:  # type: ignore[no-untyped-def]
    res, flag = _split_flag(_before_after(studio, vertical, divider))
    assert flag is not None, res.metrics
    assert ("vertical" if vertical else "horizontal") in flag.message
    assert "before/after" in flag.message and flag.severity == "error"
    assert res.metrics["has_split"] == 1.0
    assert res.score <= check_thresholds("overlays")["score_with_split"]
    # a marketplace with no rule on it still hears of it, as a warning
    _, etsy = _split_flag(_before_after(studio, vertical, divider), "etsy")
    assert etsy is not None and etsy.severity == "warning"


def test_two_pictures_side_by_side_with_a_divider_are_found(studio: Image.Image) -> None:
    # the photo and a darker copy of it, each shrunk to half the width, a black bar between
    W, H = studio.size
    half = studio.resize((W // 2, H // 2), Image.Resampling.LANCZOS)
    dark = Image.fromarray((np.asarray(half).astype(np.float32) * 0.75).astype(np.uint8))
    canvas = Image.new("RGB", (W, H), (255, 255, 255))
    canvas.paste(dark, (0, H // 4))
    canvas.paste(half, (W // 2, H // 4))
    a = np.asarray(canvas).copy()
    a[:, W // 2 - 4:W // 2 + 4] = 0
    res, flag = _split_flag(Image.fromarray(a))
    assert flag is not None, res.metrics
    assert "vertical line (" in flag.message and "through the product" not in flag.message


def test_the_clean_photo_is_not_split(studio: Image.Image) -> None:
    res, flag = _split_flag(studio)
    assert flag is None and res.metrics["has_split"] == 0.0
    assert res.metrics["split_across"] < check_thresholds("overlays")["split_min_across"]


def _box_product(w: int = 900, h: int = 900) -> np.ndarray:
    """A carton seen at its corner on white: two printed faces of different colours meeting in
    one straight vertical edge, the carton's top and bottom 15% of the frame from its edges."""
    rng = np.random.default_rng(0)
    a = np.full((h, w, 3), 255, np.float32)
    y0, y1, x0, xm, x1 = int(0.15 * h), int(0.85 * h), int(0.25 * w), int(0.55 * w), int(0.75 * w)
    a[y0:y1, x0:xm] = (200, 60, 40)
    a[y0:y1, xm:x1] = (140, 40, 30)
    for _ in range(40):  # print on the faces
        x, y = int(rng.integers(x0, x1 - 40)), int(rng.integers(y0, y1 - 20))
        a[y:y + 12, x:x + 40] = rng.integers(0, 255, 3)
    a += rng.normal(0, 2.0, a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


def test_a_products_own_straight_edge_and_a_hidden_wall_seam_are_not_splits() -> None:
    # a carton's corner: a straight edge down the whole product, stopping at its outline
    res, flag = _split_flag(Image.fromarray(_box_product()))
    assert flag is None, res.metrics
    # a room's wall and floor meet in a straight seam across the frame, hidden by the product
    a = np.full((900, 900, 3), 235, np.uint8)
    a[600:] = (190, 170, 150)
    yy, xx = np.mgrid[:900, :900]
    a[((yy - 450) / 330.0) ** 2 + ((xx - 450) / 200.0) ** 2 <= 1] = (40, 80, 160)
    res, flag = _split_flag(Image.fromarray(a))
    assert flag is None, res.metrics


def test_a_banner_strip_across_the_photo_is_not_a_split(studio: Image.Image) -> None:
    # a price banner across the whole width: two long edges a strip's width apart (without the
    # band rule its upper edge reads as a seam through the product)
    a = np.asarray(studio).copy()
    h = a.shape[0]
    a[int(0.3 * h):int(0.38 * h)] = (30, 140, 70)
    res, flag = _split_flag(Image.fromarray(a))
    assert flag is None, res.metrics


def test_grain_raises_the_step_floor_but_a_seam_under_it_still_steps() -> None:
    th = check_thresholds("overlays")
    rng = np.random.default_rng(0)
    lab = (50 + rng.normal(0, 6, (200, 200, 3))).astype(np.float32)
    product = np.zeros((200, 200), bool)
    product[40:160, 40:160] = True
    # grain alone: with no floor some step lies within a px of most columns on most rows
    assert shares(lab, product, th | {"split_noise_k": 0.0}, True)["across"].max() > 0.6
    assert shares(lab, product, th, True)["across"].max() < 0.1
    lab[:, 100:] += 25  # a seam under the same grain
    assert shares(lab, product, th, True)["across"].max() > 0.9


def _shares(**kw: float) -> dict[str, np.ndarray]:
    base = {"on": 1.0, "off": 1.0, "across": 1.0, "ends": 1.0, "cross": 0.6, "off_rows": 0.4,
            "framed": 0.0, "at": 0.5, "banded": 0.0}
    return {k: np.array([v] * 9) for k, v in (base | kw).items()}


def test_the_split_rule_asks_for_the_step_through_the_backdrop_where_there_is_backdrop() -> None:
    th = check_thresholds("overlays")
    assert splits(_shares(), th, margin=False).all()
    # a step through the product only, backdrop above and below it: the product's own edge
    assert not splits(_shares(off=0.0), th, margin=False).any()
    # the product fills the line: nothing off it to ask
    assert splits(_shares(off=0.0, off_rows=0.0, cross=1.0), th, margin=False).all()
    # too few steps down the line, or a line that misses the product
    assert not splits(_shares(across=0.5), th, margin=False).any()
    # a line that stops short of the frame's edges (a product's own edge, backdrop past it)
    assert not splits(_shares(off=0.0, off_rows=0.0, cross=1.0, ends=0.0), th,
                      margin=False).any()
    # a line that meets no product joins two pictures when its step runs down nearly all of it
    assert splits(_shares(cross=0.0, off_rows=1.0), th, margin=False).all()
    assert not splits(_shares(cross=0.0, off_rows=1.0, off=0.5, across=0.5), th,
                      margin=False).any()
    # ... and leaves each picture a real share of the frame (not a floor board's seam near it)
    assert not splits(_shares(cross=0.0, off_rows=1.0, at=0.1), th, margin=False).any()
    # the frame's edge is the border finder's, and so is a frame's inner edge further in
    assert not splits(_shares(), th)[[0, -1]].any()
    assert not splits(_shares(framed=1.0), th, margin=False).any()
    # ... and a banner strip's edge (a second full line a strip's width away) is no seam
    assert not splits(_shares(banded=1.0), th, margin=False).any()
    assert not splits(_shares(cross=0.0, off_rows=1.0, banded=1.0), th, margin=False).any()
