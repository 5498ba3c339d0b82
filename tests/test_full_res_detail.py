"""A photo enlarged past the working size (issue 14, item 2): the working copy's shrink averages
the enlargement away, so the loader keeps windows of the original pixels
(``LoadedImage.full_res_tiles``) and the sharpness check reads their detail
(``sharpness.full_res_detail``)."""

from __future__ import annotations

import io
import re

import cv2
import numpy as np
import pytest
from PIL import Image

from analyzer.config import check_thresholds
from analyzer.engine import analyze
from analyzer.io.loader import TILE_GRID, TILE_SIDE, load_image
from analyzer.quality import sharpness
from tests.textures import natural_texture


def _jpeg(im: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _enlarged(im: Image.Image, k: float, resample=Image.Resampling.BICUBIC) -> Image.Image:
    return im.resize((round(im.width * k), round(im.height * k)), resample)


def _native_soft(side: int, sigma: float, seed: int) -> Image.Image:
    """A camera-like original at full size: a 1/f amplitude (1/f^2 power) random texture with
    detail up to the pixel, softened by a lens-and-sensor blur of ``sigma`` px and sensor noise:
    soft at 100% but not enlarged."""
    rng = np.random.default_rng(seed)
    img = natural_texture(side, seed)
    rng.normal(size=(side, side // 2 + 1))  # the texture's draws, so the noise is as before
    rng.normal(size=(side, side // 2 + 1))
    img = cv2.GaussianBlur(img, (0, 0), sigma) + rng.normal(0, 2, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).convert("RGB")


def _upscaled(r) -> bool:
    return any(f.code == "UPSCALED" for f in r.flags)


def test_tiles_are_kept_only_when_the_working_copy_is_smaller(studio_photo):
    photo = Image.open(studio_photo).convert("RGB")  # 1080 x 1340: larger than 1024
    img = load_image(_jpeg(photo), name="p.jpg")
    assert img.full_res_tiles is not None
    assert img.full_res_tiles.shape == (TILE_GRID * TILE_GRID, TILE_SIDE, TILE_SIDE)
    assert img.full_res_tiles.dtype == np.uint8
    small = photo.resize((800, 993), Image.Resampling.LANCZOS)
    assert load_image(_jpeg(small), name="s.jpg").full_res_tiles is None
    # a large JPEG is decoded at a reduced scale; its tiles come from the full-size luminance
    big = load_image(_jpeg(_enlarged(photo, 2.2)), name="b.jpg")
    assert big.rgb.shape[0] <= 1024 and big.full_res_tiles is not None
    assert big.full_res_tiles.shape == (TILE_GRID * TILE_GRID, TILE_SIDE, TILE_SIDE)


@pytest.mark.parametrize("k", [2.0, 2.6, 3.2])
def test_a_photo_enlarged_past_the_working_size_is_upscaled_with_its_true_size(studio_photo, k):
    photo = Image.open(studio_photo).convert("RGB")
    clean = analyze(_jpeg(photo), name="clean.jpg", use_model=False)
    assert not _upscaled(clean)
    big = _enlarged(photo, k)
    r = analyze(_jpeg(big), name="big.jpg", use_model=False)
    m = r.checks["sharpness"].metrics
    flag = float(check_thresholds("sharpness")["full_detail_flag"])
    assert m["detail_share_full"] < flag < clean.checks["sharpness"].metrics["detail_share_full"]
    assert _upscaled(r)
    msg = next(f.message for f in r.flags if f.code == "UPSCALED")
    eff = int(re.search(r"~(\d+) px photo enlarged to (\d+) px", msg).group(1))
    # the estimate is rough (+-50%), but names a photo far smaller than the file
    assert 0.5 * max(photo.size) <= eff <= 1.6 * max(photo.size) < max(big.size)
    assert r.checks["sharpness"].score < clean.checks["sharpness"].score


@pytest.mark.parametrize(("sigma", "seed"), [(0.5, 0), (0.8, 1)])
def test_a_soft_native_original_is_not_called_upscaled_but_its_enlargement_is(sigma, seed):
    native = _native_soft(2400, sigma, seed)
    r = analyze(_jpeg(native), name="native.jpg", use_model=False)
    good = float(check_thresholds("sharpness")["full_detail_good"])
    assert r.checks["sharpness"].metrics["detail_share_full"] >= good  # full marks, no flag
    assert not _upscaled(r)
    small = native.resize((960, 960), Image.Resampling.LANCZOS)
    up = analyze(_jpeg(_enlarged(small, 2.5)), name="up.jpg", use_model=False)
    assert _upscaled(up)


def test_full_res_detail_reads_the_band_an_enlargement_empties():
    g = np.random.default_rng(3)
    tex = cv2.GaussianBlur(g.normal(128, 40, (512, 512)).astype(np.float32), (0, 0), 0.7)
    sharp = np.clip(tex, 0, 255).astype(np.uint8)
    soft = cv2.resize(cv2.resize(sharp, (205, 205), interpolation=cv2.INTER_AREA), (512, 512),
                      interpolation=cv2.INTER_CUBIC)

    def tiles(a: np.ndarray) -> np.ndarray:  # the 4 x 4 grid of 128 px windows
        return a.reshape(4, 128, 4, 128).transpose(0, 2, 1, 3).reshape(16, 128, 128)

    s_sharp, e_sharp = sharpness.full_res_detail(tiles(sharp), 0.4, 0.125)
    s_soft, e_soft = sharpness.full_res_detail(tiles(soft), 0.4, 0.125)
    assert s_soft < 0.5 * s_sharp and e_soft > 0 and e_sharp > 0
    flat = np.full((16, 128, 128), 200, np.uint8)  # nothing to read: no energy, not a defect
    assert sharpness.full_res_detail(flat, 0.4, 0.125)[1] == pytest.approx(0.0, abs=1e-9)


def test_a_16_bit_png_is_read_at_full_resolution_too(studio_photo):
    """Pillow's conversion of a 16-bit grey image to 8 bits clips it at 255: the windows of a
    16-bit PNG were blank, so its detail and repetition reads were empty and an enlarged one
    passed. They are scaled as the working copy is."""
    grey = Image.open(studio_photo).convert("L")

    def png16(im: Image.Image) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(np.asarray(im).astype(np.uint16) * 257).save(buf, format="PNG")
        return buf.getvalue()

    native = load_image(png16(grey), name="n16.png")
    assert native.full_res_tiles is not None and native.full_res_tiles.std() > 5
    r = analyze(png16(grey), name="n16.png", use_model=False)
    assert not _upscaled(r)
    big = analyze(png16(_enlarged(grey, 2.5)), name="b16.png", use_model=False)
    assert _upscaled(big)
    small = grey.resize((grey.width // 3, grey.height // 3), Image.Resampling.LANCZOS)
    nn = load_image(png16(_enlarged(small, 3.0, Image.Resampling.NEAREST)), name="p16.png")
    assert nn.repetition.depth > 0.5 and nn.repetition.period == pytest.approx(3.0, abs=0.1)
