"""The ``reflection`` control family and the ``blur_noise`` family (scripts/quality_families.py,
issue 14): what they draw must be what their rows claim to measure."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import quality_families as qf  # noqa: E402


def _shot() -> Image.Image:
    a = np.full((300, 240, 3), 255, np.uint8)
    a[60:200, 80:160] = (200, 40, 40)
    a[60:200:14, 80:160] = (20, 20, 20)
    return Image.fromarray(a)


def test_reflection_is_the_product_mirrored_and_fading_under_it() -> None:
    for seed in range(6):
        out = np.asarray(qf.reflection(_shot(), random.Random(seed))).astype(np.float32)
        dark = (255 - out).sum(axis=2)
        rows = np.flatnonzero(dark.max(axis=1) > 300)          # the product's own rows
        top, bottom = rows.min(), rows.max()
        under = dark[bottom + 1:]
        ink = under.sum(axis=1)
        assert ink.max() > 0, seed                              # something under the product
        assert under.max() < 0.55 * dark[top:bottom + 1].max()  # fainter than the product
        nz = np.flatnonzero(ink > 0.02 * ink.max())
        first, last = ink[nz[: max(1, len(nz) // 4)]].mean(), ink[nz[-max(1, len(nz) // 4):]].mean()
        assert last < first, seed                               # and fading downward


def test_blur_noise_blurs_then_adds_noise() -> None:
    a = np.full((600, 600, 3), 255, np.uint8)
    a[200:400, 200:400] = 0                                     # edges in every direction
    im = Image.fromarray(a)
    for seed in range(4):
        x = np.asarray(qf.blur_noise(im, random.Random(seed))).astype(np.float32)
        assert np.array_equal(x, np.asarray(qf.blur_noise(im, random.Random(seed))))  # seeded
        grey = x.mean(axis=2)
        assert ((grey > 40) & (grey < 215)).sum() > 400, seed   # the square's edges are spread
        flat = grey[20:150, 20:150]                             # backdrop far from the square
        assert flat.std() > 1.0, seed                           # with grain on it


def test_cutout_lays_the_product_on_pure_white() -> None:
    """The ``cutout`` control: the floor around the product becomes pure white, the product
    keeps its pixels (u2netp, hard and feathered draws)."""
    import cv2

    a = np.full((320, 320, 3), 150, np.uint8)
    a = (a + np.random.default_rng(0).normal(0, 8, a.shape)).clip(0, 255).astype(np.uint8)
    cv2.circle(a, (160, 170), 80, (200, 30, 30), -1)
    for seed in range(2):
        out = np.asarray(qf.cutout_on_white(Image.fromarray(a), random.Random(seed)))
        assert out.shape == a.shape
        assert (out[:40, :40] == 255).all()                      # the floor is gone
        assert np.array_equal(out[150:190, 140:180], a[150:190, 140:180])  # the product stays
