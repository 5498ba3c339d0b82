"""Mask operations: grow and shrink read only the mask's box, and must equal the whole frame's
distance transform pixel for pixel (the window is a speed-up, never a change)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from analyzer.vision.mask_ops import grow, shrink


def _frame_grow(m: np.ndarray, r: float) -> np.ndarray:
    if r <= 0 or not m.any():
        return m
    return cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3) <= r


def _frame_shrink(m: np.ndarray, r: float) -> np.ndarray:
    return cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 3) > r


def _masks(n: int, seed: int = 0) -> list[np.ndarray]:
    """Blobs anywhere, on or over the frame's edges, some with specks: the shapes a product
    mask takes."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        h, w = (int(v) for v in rng.integers(1, 160, 2))
        m = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(0, 4))):
            cv2.ellipse(m, (int(rng.integers(-20, w + 20)), int(rng.integers(-20, h + 20))),
                        (int(rng.integers(1, 60)), int(rng.integers(1, 60))),
                        float(rng.uniform(0, 180)), 0, 360, 1, -1)
        if rng.random() < 0.3:
            m |= (rng.random((h, w)) < 0.02).astype(np.uint8)
        out.append(m > 0)
    return out


@pytest.mark.parametrize("radius", [0.0, 0.5, 1.0, 2.0, 3.7, 11.5, 30.0])
def test_grow_and_shrink_equal_the_whole_frames_transform(radius: float) -> None:
    for m in _masks(300):
        assert np.array_equal(grow(m, radius), _frame_grow(m, radius))
        assert np.array_equal(shrink(m, radius), _frame_shrink(m, radius))


def test_grow_reaches_past_the_box_and_shrink_stops_at_the_frame_edge() -> None:
    m = np.zeros((50, 60), bool)
    m[20:25, 0:10] = True  # touches the left edge: no background there to shrink from
    g = grow(m, 6.0)
    assert g[20, 15] and not g[20, 17] and g[14, 5]
    s = shrink(m, 1.0)
    assert s[22, 0] and not s[20, 5] and not s[22, 9]
    assert not grow(np.zeros((5, 5), bool), 3.0).any()
    assert not shrink(np.zeros((5, 5), bool), 3.0).any()
