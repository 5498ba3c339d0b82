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
    b = max(2, min(a.shape[:2]) // 50)
    c = a.shape[2]
    return np.concatenate([a[:b].reshape(-1, c), a[-b:].reshape(-1, c),
                           a[:, :b].reshape(-1, c), a[:, -b:].reshape(-1, c)])


def border_color(lab: np.ndarray) -> np.ndarray:
    """The median colour of the outer band of an H x W x 3 (Lab) array."""
    return np.median(border_pixels(lab), axis=0)


def border_color_distance(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel Lab distance (Delta E 1976) to the median colour of the image border."""
    lab = lab_of(rgb)
    return np.linalg.norm(lab - border_color(lab), axis=2)
