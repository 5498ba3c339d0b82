"""The hand-shake blur family (scripts/quality_families.py ``shake``, issue 14): a curved, jerky
path whose span is the straight ``motion`` family's length, so the two rows compare."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import quality_families as qf  # noqa: E402


def _span(k: np.ndarray) -> float:
    ys, xs = np.nonzero(k > 0.02 * k.max())
    pts = np.stack([xs, ys], 1).astype(float)
    return max(float(np.ptp(pts @ np.array([np.cos(t), np.sin(t)])))
               for t in np.linspace(0, np.pi, 32, endpoint=False))


def test_shake_kernel_spans_its_length_and_curves() -> None:
    curved = 0
    for seed in range(12):
        k = qf.shake_kernel(30.0, random.Random(seed))
        assert k.min() >= 0 and k.sum() > 0
        assert abs(_span(k) - 30.0) <= 3.0  # splatting widens it by a pixel or two
        ys, xs = np.nonzero(k)
        pts = np.stack([xs, ys], 1).astype(float)
        sv = np.linalg.svd(pts - pts.mean(0), compute_uv=False)
        curved += sv[1] > 0.15 * sv[0]  # a straight smear has no second direction
    assert curved >= 8


def test_shake_is_seeded_and_blurs() -> None:
    a = np.zeros((120, 160, 3), np.uint8)
    a[:, 80:] = 255
    im = Image.fromarray(a)
    x = np.asarray(qf.shake(im, random.Random(1)))
    y = np.asarray(qf.shake(im, random.Random(1)))
    assert np.array_equal(x, y)
    assert (np.abs(x.astype(int) - a).max(axis=2) > 10).any()  # the edge is smeared
