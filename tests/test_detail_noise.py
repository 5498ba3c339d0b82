"""Blur or enlargement under a camera's noise (issue 14, the ``blur_noise`` finding): noise is
detail at every scale, so the detail reads of the sharpness check take its expected share out
(``sharpness.without_noise``) where the noise is under NOISY's line."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from analyzer.config import check_thresholds
from analyzer.engine import analyze
from analyzer.quality import sharpness
from tests.textures import natural_texture


def _tiles(a: np.ndarray) -> np.ndarray:  # the loader's 4 x 4 grid of 128 px windows
    return np.clip(a, 0, 255).astype(np.uint8).reshape(4, 128, 4, 128).transpose(
        0, 2, 1, 3).reshape(16, 128, 128)


def _enlarged(a: np.ndarray, k: float) -> np.ndarray:
    h, w = a.shape
    small = cv2.resize(a, (round(w / k), round(h / k)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_white_noise_share_is_what_a_round_trip_removes_of_it():
    assert sharpness.white_noise_detail(0.4) == pytest.approx(1 - 0.4 ** 2, abs=0.05)
    assert sharpness.white_noise_detail(0.125) == pytest.approx(0.99, abs=0.02)
    assert sharpness.without_noise(1e-3, 0.4, 0.0) == 1e-3
    assert sharpness.without_noise(1e-5, 0.4, 0.01) == 0.0  # never below nothing


def test_noise_no_longer_passes_for_the_detail_an_enlargement_lost():
    flag = float(check_thresholds("sharpness")["full_detail_flag"])
    tex = natural_texture(512, 0)
    sharp, soft = tex, _enlarged(tex, 2.5)
    g = np.random.default_rng(1)
    sd = 4.0
    noisy_soft = soft + g.normal(0, sd, soft.shape)
    clean_share = sharpness.full_res_detail(_tiles(sharp), 0.4, 0.125)[0]
    soft_share = sharpness.full_res_detail(_tiles(soft), 0.4, 0.125)[0]
    fooled = sharpness.full_res_detail(_tiles(noisy_soft), 0.4, 0.125)[0]
    assert soft_share < flag < clean_share
    assert fooled > flag  # the noise reads as the detail the enlargement lost
    noise = sharpness.tile_noise_sd(_tiles(noisy_soft))
    assert noise == pytest.approx(sd, rel=0.25)  # read on the tiles themselves
    taken_out = sharpness.full_res_detail(_tiles(noisy_soft), 0.4, 0.125, noise=noise / 255)[0]
    assert taken_out < flag
    assert taken_out == pytest.approx(soft_share, abs=0.05)
    # a sharp photo with the same noise keeps its detail
    noisy_sharp = sharp + g.normal(0, sd, sharp.shape)
    n2 = sharpness.tile_noise_sd(_tiles(noisy_sharp))
    kept = sharpness.full_res_detail(_tiles(noisy_sharp), 0.4, 0.125, noise=n2 / 255)[0]
    assert kept > 1.5 * flag


def _jpeg(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).convert("RGB").save(
        buf, format="JPEG", quality=95)
    return buf.getvalue()


def _named(r) -> set[str]:
    return {f.code for f in r.flags} & {"BLURRY", "UPSCALED"}


@pytest.mark.parametrize("defect", ["blur", "upscale"])
def test_a_blurred_photo_with_grain_is_named_and_a_grainy_sharp_one_is_not(studio_photo, defect):
    grey = np.asarray(Image.open(studio_photo).convert("L")).astype(np.float32)  # 1080 x 1340
    g = np.random.default_rng(5)
    if defect == "blur":  # a mild blur (Gaussian sigma 1.5 px), then grain of sd 3
        soft = cv2.GaussianBlur(grey, (0, 0), 1.5)
    else:  # upscaled from 40%
        h, w = grey.shape
        small = cv2.resize(grey, (round(w * 0.4), round(h * 0.4)), interpolation=cv2.INTER_AREA)
        soft = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    # without the grain both are named; with it (under NOISY's line) they passed as sharp
    r = analyze(_jpeg(soft + g.normal(0, 3.0, soft.shape)), name="soft.jpg", use_model=False)
    assert _named(r), r.flags
    assert "NOISY" not in {f.code for f in r.flags}
    # the detail read cannot tell a soft original from an enlarged one: its advice names focus
    assert all("in focus" in f.fix for f in r.flags if f.code in ("BLURRY", "UPSCALED"))
    assert r.checks["sharpness"].metrics["detail_noise_sd"] > 1.0
    sharp = analyze(_jpeg(grey + g.normal(0, 3.0, grey.shape)), name="sharp.jpg",
                    use_model=False)
    assert not _named(sharp), sharp.flags
    # heavy grain is named NOISY and its share is not taken out (it would decide the read)
    heavy = analyze(_jpeg(grey + g.normal(0, 12.0, grey.shape)), name="heavy.jpg",
                    use_model=False)
    assert "NOISY" in {f.code for f in heavy.flags} and not _named(heavy)
    assert heavy.checks["sharpness"].metrics["detail_noise_sd"] == 0.0
