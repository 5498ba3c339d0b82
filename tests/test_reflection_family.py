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
