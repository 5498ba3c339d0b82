"""Where the product is and where the plain backdrop is, for the overlay finders.

The product zone (:func:`product_zone`) is the product mask's main parts, grown a little: text
found inside it is print on the product, not an overlay. A saliency mask often takes overlaid
text or a badge for product, so on a plain backdrop the backdrop connected to the border
(:func:`backdrop`) is taken off the mask first; the inset finder also asks that an inset sit on
that backdrop. On a printed product's face (a DVD case, a book) the finders leave out what lies
wholly on the face (:func:`on_face`): the face's own print.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.vision.backdrop import connected_to_border, plain_backdrop_color
from analyzer.vision.mask_ops import component_areas, grow, select_components


def product_zone(mask: np.ndarray | None, shape: tuple[int, int], min_component: float,
                 dilate_frac: float) -> np.ndarray:
    """The product's main parts (components of at least ``min_component`` of the largest),
    grown by ``dilate_frac`` of the long side. Small separate blobs are left out: a saliency mask
    often includes overlaid text or a badge, which must stay visible to the text search."""
    h, w = shape
    if mask is None or not mask.any():
        return np.zeros(shape, bool)
    m = mask.astype(np.uint8)
    if m.shape != tuple(shape):
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)
    n, lab, areas = component_areas(m)
    if n <= 1:
        return np.zeros(shape, bool)
    keep = np.zeros(n, bool)
    keep[1:] = areas >= min_component * areas.max()
    # Dilation by a disc, in time independent of its radius.
    return grow(select_components(lab, keep), max(1.0, dilate_frac * max(h, w)))


def backdrop(lab: np.ndarray, shape: tuple[int, int], max_de: float, min_share: float,
             border_px: int = 2) -> np.ndarray:
    """The plain backdrop of a studio shot: pixels within ``max_de`` of the frame border's median
    colour in each of L*, a*, b* that connect to the border through such pixels.

    A salient-object mask often takes overlaid text or a badge for part of the product; the
    backdrop seen between the glyphs is not product, so it is taken off the mask before the
    product zone is built. Only when at least ``min_share`` of the border has that colour (a plain
    backdrop); in a scene with a busy border nothing is taken off.
    """
    h, w = shape
    if lab.shape[:2] != (h, w):
        lab = cv2.resize(lab, (w, h), interpolation=cv2.INTER_AREA)
    ref = plain_backdrop_color(lab, border_px, max_de, min_share, metric="chebyshev")
    if ref is None:
        return np.zeros((h, w), bool)
    near = cv2.inRange(lab.astype(np.float32, copy=False), tuple(float(v) for v in ref - max_de),
                       tuple(float(v) for v in ref + max_de))  # 0/255: nonzero is "in"
    return connected_to_border(near, connectivity=4)


def on_face(box: tuple[int, int, int, int], scale: float, printed: np.ndarray) -> bool:
    """Whether a box (px at ``scale`` of ``printed``'s size, exclusive end) lies wholly on the
    printed face, its four corners on it: a cover's print stays within the cover, a word
    pasted across the case's edge onto the backdrop is not its print."""
    x0, y0, x1, y1 = box
    h, w = printed.shape
    xs = [min(w - 1, max(0, int(x0 / scale))), min(w - 1, max(0, int((x1 - 1) / scale)))]
    ys = [min(h - 1, max(0, int(y0 / scale))), min(h - 1, max(0, int((y1 - 1) / scale)))]
    return all(bool(printed[y, x]) for y in ys for x in xs)
