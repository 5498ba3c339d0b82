"""A drawing, not a photograph: a graphic, an illustration or a "no image" placeholder.

Amazon's main image "must be the actual product, not a graphic or illustration"
(marketplace-rules.md). A camera's sensor noise leaves no two neighbouring pixels of a lit
surface exactly equal, while a drawing fills its shapes with one flat colour. Measure
(:func:`flat_share`): on a copy reduced by the largest whole factor that keeps it at least
``graphic_work_long_side`` px long (box means, which keep a flat fill flat and blend a JPEG's
8 x 8 blocks and a photo's grain), the share of the
product's pixels whose ``graphic_window`` x ``graphic_window`` neighbourhood holds one exact RGB
value (a morphological gradient of 0 in every channel; Serra 1982), clipped white and black left
out (a blown highlight or a crushed shadow is flat in a photo too). The window spans more than
one JPEG block, so a heavily compressed photo's flat blocks do not count unless their
neighbours are equal too. The product is the mask when it covers at least
``graphic_min_mask`` of the frame, else the whole frame (a placeholder's pictogram may be all
the mask finds). ``NOT_A_PHOTO`` from ``graphic_flat_min``.
"""

from __future__ import annotations

import cv2
import numpy as np


def flat_share(rgb: np.ndarray, mask: np.ndarray | None, th: dict) -> float:
    """Share of the product's (or the frame's) not-clipped pixels in exactly flat colour."""
    h, w = rgb.shape[:2]
    if mask is None or np.count_nonzero(mask) < float(th["graphic_min_mask"]) * mask.size:
        mask = np.full((h, w), 255, np.uint8)
    else:
        mask = mask.astype(np.uint8) * 255
    # A whole-number reduction (box means of f x f pixels, OpenCV's fast path for INTER_AREA;
    # a fractional one cost 2.6 ms of the 3.9 on a 1024 px copy), the few rows and columns past
    # a multiple of f left out.
    f = max(1, int(max(h, w) // int(th["graphic_work_long_side"])))
    rgb = np.ascontiguousarray(rgb)
    if f > 1:
        hh, ww = h - h % f, w - w % f
        size = (ww // f, hh // f)
        rgb = cv2.resize(rgb[:hh, :ww], size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask[:hh, :ww], size, interpolation=cv2.INTER_NEAREST)
    k = int(th["graphic_window"])
    grad = cv2.morphologyEx(rgb, cv2.MORPH_GRADIENT, np.ones((k, k), np.uint8))
    # OpenCV throughout: NumPy's reductions over a length-3 last axis cost several times more.
    # The channels' saturating sum is 0 exactly where every channel's gradient is.
    flat = cv2.transform(grad, np.ones((1, 3), np.float32)) == 0
    clipped = cv2.inRange(rgb, (250, 250, 250), (255, 255, 255)) | cv2.inRange(
        rgb, (0, 0, 0), (5, 5, 5))
    judged = cv2.bitwise_and(mask, cv2.bitwise_not(clipped))
    n = cv2.countNonZero(judged)
    return float(cv2.countNonZero(judged & flat.view(np.uint8) * 255) / n) if n else 0.0


def drawn(flat: float, th: dict) -> bool:
    """Whether a photo whose :func:`flat_share` is ``flat`` is a drawing (``NOT_A_PHOTO``)."""
    return flat >= float(th["graphic_flat_min"])
