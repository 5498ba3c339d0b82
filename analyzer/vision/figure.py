"""A figure that continues the product off the frame: a model's skin, the rest of an outfit.

The salient-object mask often leaves out the model who wears a garment (the belly above and the
legs below a pair of shorts, the trousers under a top). Those pixels are neither the product nor
the backdrop. The background check leaves them out of the backdrop it judges
(:func:`attached_figure`). The background fix does not use this rule: keeping such regions as
shot kept door edges and wall patches on amateur photos (tried 2026-12-04), so the fix keeps
only what its own unsure-region rule keeps (``analyzer.fix.cutout.keep_unlike_unsure``).
"""

from __future__ import annotations

import cv2
import numpy as np


def _not_white(big_l: np.ndarray, a: np.ndarray, b: np.ndarray, white_de: float) -> np.ndarray:
    """Further than ``white_de`` (Delta E 1976) from white, per pixel (float32 L*, a*, b*).

    White is never a figure: when a missed part of the product outnumbers the backdrop, the
    backdrop's median is the product's colour and the white backdrop must still count as
    backdrop."""
    dl = big_l - np.float32(100.0)
    return dl * dl + a * a + b * b > np.float32(white_de ** 2)


def attached_figure(lab: np.ndarray, region: np.ndarray, chroma_de: float = 12.0,
                    light_de: float = 45.0, open_frac: float = 0.02,
                    min_area: float = 0.005, reach: float = 0.3,
                    white_de: float = 6.0, min_backdrop_contact: float = 0.0) -> np.ndarray:
    """Background pixels that are a figure continuing the product off the frame (module docstring).

    ``lab`` is the image in CIE L*a*b* (L 0..100) and ``region`` the background pixels (True),
    the complement of the grown product mask. The backdrop's colour is the median of ``region``.
    Pixels differing from it by more than ``chroma_de`` in a*b* or ``light_de`` in L*, and from
    white by more than ``white_de`` (Delta E 1976), form
    connected regions (8-connected); a region is a figure when, after an opening by a disk
    ``open_frac`` of the long side wide (outlines, halos and speckle do not survive it), at least
    ``min_area`` of the frame is left of it, and it touches both the product and the frame's edge
    within the product's span grown by ``reach`` of its size on each side (along every edge it
    touches), as a model's legs or arms do and a table the product stands on does not, and it
    does not run through the frame (top to bottom, or side to side between them), and, unless it
    runs off the top, at least ``min_backdrop_contact`` of its outline inside the frame borders
    the backdrop rather than the product (the floor seen between two trouser legs is walled in
    by the product).
    Returns a boolean map of the figure pixels (all False when there is none).
    """
    h, w = region.shape
    none = np.zeros((h, w), bool)
    n = int(np.count_nonzero(region))
    if n == 0:
        return none
    # A figure runs off the frame, so it has a pixel on the frame's outermost rows or columns
    # that is unlike the backdrop and not white: without one there is none. Most studio shots
    # stop at the first test (their frame's edge is all white), before the backdrop's median.
    edge = np.zeros((h, w), bool)
    edge[[0, -1], :] = True
    edge[:, [0, -1]] = True
    edge &= region
    px = np.asarray(lab[edge], np.float32)
    if not _not_white(px[:, 0], px[:, 1], px[:, 2], white_de).any():
        return none
    ys, xs = np.nonzero(region)
    # The backdrop: most of the region (every step-th of its pixels in row order).
    step = max(1, n // 20000)
    ref = np.median(np.asarray(lab[ys[::step], xs[::step]], np.float32), axis=0)

    def unlike_of(big_l: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Unlike the backdrop and not white, per pixel (float32 L*, a*, b*)."""
        da, db = a - np.float32(ref[1]), b - np.float32(ref[2])
        out = (da * da + db * db > np.float32(chroma_de ** 2)) | (
            np.abs(big_l - np.float32(ref[0])) > np.float32(light_de))
        return out & _not_white(big_l, a, b, white_de)

    if not unlike_of(px[:, 0], px[:, 1], px[:, 2]).any():
        return none
    # One contiguous float32 copy: the caller's grid is a strided view, slow to compute on.
    lab = np.ascontiguousarray(lab, dtype=np.float32)
    unlike = region & unlike_of(*cv2.split(lab))
    min_px = min_area * h * w
    if np.count_nonzero(unlike) < min_px:
        return none
    unlike_u8 = unlike.view(np.uint8)
    k = max(3, 2 * round(open_frac * max(h, w) / 2) + 1)
    broad = cv2.morphologyEx(unlike_u8, cv2.MORPH_OPEN,
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(unlike_u8, connectivity=8)
    broad_area = np.bincount(labels[broad > 0], minlength=count)
    # Touching the product: next to a pixel outside the background region (the grown mask).
    near_product = cv2.dilate((~region).view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    touches_product = np.zeros(count, bool)
    touches_product[np.unique(labels[near_product & unlike])] = True
    x, y, bw, bh = (stats[:, i] for i in range(4))
    top, left, right, bottom = y == 0, x == 0, x + bw == w, y + bh == h
    # A figure enters the frame beside the product, within its span (legs below shorts, arms
    # beside a top); a table or floor the product stands on spans the frame past it.
    bx, by, bbw, bbh = cv2.boundingRect((~region).view(np.uint8))  # the (grown) product's box
    span = max(1.0, reach * bbw), max(1.0, reach * bbh)
    in_x = (x >= bx - span[0]) & (x + bw <= bx + bbw + span[0])
    in_y = (y >= by - span[1]) & (y + bh <= by + bbh + span[1])
    within = ~((top | bottom) & ~in_x) & ~((left | right) & ~in_y)
    # A region running through the frame from top to bottom (a door's edge, a wall's corner) or
    # from side to side without reaching the top or bottom (a shelf) is the scene, not a body
    # continuing the product off one side.
    through = (top & bottom) | (left & right & ~top & ~bottom)
    keep = ((broad_area >= min_px) & touches_product & (top | left | right | bottom) & within
            & ~through)
    keep[0] = False  # label 0 is everything that is not "unlike"
    # A body continues the product from one end (the hem) and has backdrop beside it; backdrop
    # seen *between* parts of the product (the floor between two trouser legs, running off the
    # bottom) is walled in by the product along its sides. Of such a candidate's outline inside
    # the frame, at least ``min_backdrop_contact`` must border the backdrop rather than the
    # product. A region running off the top (a model's belly or neck above the garment) is
    # exempt: it may fill the frame's width there, with no backdrop beside it.
    backdrop = region & ~unlike
    for i in np.flatnonzero(keep & ~top):
        comp = labels == i
        ring = (cv2.dilate(comp.view(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~comp
        on_bd = np.count_nonzero(ring & backdrop)
        on_product = np.count_nonzero(ring & ~region)
        if on_bd < min_backdrop_contact * max(1, on_bd + on_product):
            keep[i] = False
    if not keep.any():
        return none
    return keep[labels]
