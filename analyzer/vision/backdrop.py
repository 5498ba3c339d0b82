"""The frame border's colour, and how far each pixel is from it: what tells a plain studio
backdrop from a scene, and the product from the backdrop when there is no neural mask."""

from __future__ import annotations

import cv2
import numpy as np


def lab_of(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (L* 0-100) of a uint8 RGB image, as float32."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def border_pixels(a: np.ndarray) -> np.ndarray:
    """The pixels of the outer band (1/50 of the short side, at least 2 px) of an H x W x C
    array, as an N x C array."""
    return band(a, band_width(a.shape))


def border_color(lab: np.ndarray) -> np.ndarray:
    """The median colour of the outer band of an H x W x 3 (Lab) array."""
    return np.median(border_pixels(lab), axis=0)


def border_color_distance(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel Lab distance (Delta E 1976) to the median colour of the image border."""
    lab = lab_of(rgb)
    return np.linalg.norm(lab - border_color(lab), axis=2)


def band_width(shape: tuple[int, ...], frac: float | None = None, min_px: int = 2) -> int:
    """Width of the frame's outer band: ``frac`` of the short side (default 1/50), at least
    ``min_px`` pixels."""
    short = min(shape[:2])
    return max(min_px, round(frac * short) if frac is not None else short // 50)


def band(a: np.ndarray, width: int, corners_once: bool = False) -> np.ndarray:
    """The pixels of the outer ``width``-px band of an H x W (x C) array, as N (x C).

    The four strips overlap at the corners; ``corners_once`` takes the side strips without them
    (each corner pixel then counts once)."""
    w = width
    sides = [a[w:-w, :w], a[w:-w, -w:]] if corners_once else [a[:, :w], a[:, -w:]]
    parts = [a[:w], a[-w:], *sides]
    if a.ndim == 2:
        return np.concatenate([p.ravel() for p in parts])
    return np.concatenate([p.reshape(-1, a.shape[2]) for p in parts])


def plain_backdrop_color(lab: np.ndarray, width: int, max_de: float, min_share: float, *,
                         metric: str = "euclid", corners_once: bool = False
                         ) -> np.ndarray | None:
    """The backdrop colour of a studio shot (the median of the frame's outer band), or None when
    the backdrop is not plain: fewer than ``min_share`` of the band's pixels lie within
    ``max_de`` of it. ``metric``: "euclid" (Delta E 1976) or "chebyshev" (each of L*, a*, b*
    within ``max_de``, a box around the colour)."""
    rim = band(lab, width, corners_once)
    ref = np.median(rim, axis=0)
    d = (np.abs(rim - ref).max(axis=1) if metric == "chebyshev"
         else np.linalg.norm(rim - ref, axis=1))
    return None if float((d <= max_de).mean()) < min_share else ref


def connected_to_border(mask: np.ndarray, connectivity: int = 4) -> np.ndarray:
    """The pixels of ``mask`` (nonzero) whose connected region touches the frame border: a
    backdrop seen around the product, not the holes inside it."""
    n, labels = cv2.connectedComponents(np.ascontiguousarray(mask, dtype=np.uint8),
                                        connectivity=connectivity)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    keep = np.zeros(n, bool)
    keep[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
    keep[0] = False
    return keep[labels]
