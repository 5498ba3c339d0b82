"""Working copies shrunk at OpenCV's whole-number speed (analyzer/vision/shrink.py), and two
speed-ups that must give the same answers as the code they replaced: the backdrop's
connected-to-border test and the border finder's row walk."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from analyzer.config import check_thresholds
from analyzer.quality.overlays.border import _side_frame, _uniform_run
from analyzer.vision.backdrop import connected_to_border, lab_of
from analyzer.vision.mask_ops import label
from analyzer.vision.shrink import shrink_area


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colour scene with a few hard edges (a product on a backdrop)."""
    rng = np.random.default_rng(seed)
    a = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 6)
    a = (a - a.min()) / (a.max() - a.min() + 1e-6) * 255
    cv2.rectangle(a, (w // 4, h // 4), (3 * w // 4, 3 * h // 4), (30, 60, 200), -1)
    return a.astype(np.uint8)


def test_a_near_whole_factor_takes_box_means_of_the_cropped_or_padded_frame() -> None:
    img = _photo(825, 1024)
    # 825 -> 412 is 2.002: one row cropped, then exact 2 x 2 box means
    out = shrink_area(img, (512, 412))
    assert out.shape == (412, 512, 3)
    assert np.array_equal(out, cv2.resize(img[:824], (512, 412), interpolation=cv2.INTER_AREA))
    # 619 -> 310 is 1.997: one row of the edge repeated
    lab = lab_of(_photo(619, 768))
    out = shrink_area(lab, (384, 310))
    padded = cv2.copyMakeBorder(lab, 0, 1, 0, 0, cv2.BORDER_REPLICATE)
    assert np.array_equal(out, cv2.resize(padded, (384, 310), interpolation=cv2.INTER_AREA))
    # a whole factor both ways is OpenCV's own result, untouched
    g = cv2.cvtColor(_photo(800, 600), cv2.COLOR_RGB2GRAY)
    assert np.array_equal(shrink_area(g, (300, 400)),
                          cv2.resize(g, (300, 400), interpolation=cv2.INTER_AREA))


def test_other_factors_are_opencvs_area_unless_fast_and_fast_stays_close() -> None:
    img = _photo(825, 1024, seed=1)
    for size in [(768, 619), (384, 309), (448, 361)]:
        exact = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        assert np.array_equal(shrink_area(img, size), exact)
        fast = shrink_area(img, size, fast=True)
        assert fast.shape == exact.shape
        assert float(np.abs(fast.astype(int) - exact.astype(int)).mean()) < 2.0


def test_shrink_area_never_enlarges() -> None:
    with pytest.raises(ValueError, match="enlarges"):
        shrink_area(np.zeros((10, 10), np.uint8), (11, 10))


def _connected_to_border_reference(mask: np.ndarray, connectivity: int) -> np.ndarray:
    """The implementation the framed labelling replaced: the labels seen on the border, kept."""
    n, labels = label(np.asarray(mask, dtype=np.uint8), connectivity)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    keep = np.zeros(n, bool)
    keep[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
    keep[0] = False
    return keep[labels]


def test_connected_to_border_is_the_border_labels_kept() -> None:
    rng = np.random.default_rng(2)
    for _ in range(400):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        m = (rng.random((h, w)) < rng.uniform(0.2, 0.8)).astype(np.uint8)
        m *= np.uint8(rng.choice([1, 255]))
        for c in (4, 8):
            assert np.array_equal(connected_to_border(m, c), _connected_to_border_reference(m, c))


def _uniform_run_reference(lab_lines: np.ndarray, th: dict) -> tuple[int, np.ndarray] | None:
    """The border finder's row walk before it judged a chunk of rows at once."""
    depth_max = lab_lines.shape[0]
    row_std = float(th["border_row_std"])
    stds, means = [], []
    k = done = 0
    chunk = 4
    mean = np.zeros((0, 3), np.float32)
    while True:
        if k == done:
            if done >= depth_max:
                break
            rows = lab_lines[done:done + chunk]
            stds.append(rows[..., 0].std(axis=1))
            means.append(rows.mean(axis=1))
            done += len(rows)
            chunk *= 2
            std, mean = np.concatenate(stds), np.concatenate(means)
            if std[0] > row_std:
                return None
        if not (std[k] <= row_std and np.linalg.norm(mean[k] - mean[0]) < 6.0):
            break
        k += 1
    return k, mean


def test_the_border_row_walk_finds_the_same_frames() -> None:
    th = check_thresholds("overlays")
    rng = np.random.default_rng(3)
    found = 0
    for i in range(120):
        img = _photo(160, 200, seed=i)
        width = int(rng.integers(0, 30))
        if width:  # a frame of one colour, sometimes with grain
            colour = [int(v) for v in rng.integers(0, 256, 3)]
            img = cv2.copyMakeBorder(img[width:-width, width:-width], width, width, width, width,
                                     cv2.BORDER_CONSTANT, value=colour)
            img = np.clip(img + rng.normal(0, rng.choice([0, 2]), img.shape), 0, 255)
        lab = lab_of(img.astype(np.uint8))
        lines = lab[:40, ::2]  # the top side, outside first
        got, want = _uniform_run(lines, th), _uniform_run_reference(lines, th)
        assert (got is None) == (want is None)
        if got is not None:
            assert got[0] == want[0] and np.array_equal(got[1], want[1])
            found += _side_frame(lines, th) is not None
    assert found >= 20  # the walk was compared on frames the finder reports, not only on none


def test_every_is_the_strided_grid_made_contiguous() -> None:
    from analyzer.vision.shrink import every

    rng = np.random.default_rng(4)
    for shape, dtype in [((7, 9, 3), np.uint8), ((10, 11, 3), np.float32), ((5, 6), np.uint8),
                         ((1, 1, 3), np.float32), ((8, 8, 4), np.uint8)]:
        a = (rng.random(shape) * 200).astype(dtype)
        for step in (1, 2, 3):
            got = every(a, step)
            assert got.flags["C_CONTIGUOUS"] and got.dtype == a.dtype
            assert np.array_equal(got, a[::step, ::step])
    view = (rng.random((9, 12, 3)) * 255).astype(np.uint8)[:, 2:]  # not contiguous itself
    assert np.array_equal(every(view, 2), view[::2, ::2])
