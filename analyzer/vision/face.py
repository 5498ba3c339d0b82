"""A flat printed product seen face-on: a DVD or game case, a book, a boxed product, a card.

A salient-object network finds the most salient thing in the photo, and on a cover that is the
person or the object printed on it: u2netp took the model on each of the demo store's six DVD
covers (12-50% of the case) as "the product", so the rest of the case was judged as backdrop
(not white, busy, "text beside the product": grade C or D for a clean catalogue photo).

A face is told by its outline, not its print: on a plain, light backdrop (the frame's outermost
ring), the region that stands off the backdrop and holds the salient mask is one filled
quadrilateral (on a cover, much larger than the mask). Then that region is the product. Tests,
with the values in thresholds.yaml (``segmentation.face``):

- the ring (``ring_px`` px wide at the working size) has a median colour with every channel at
  least ``min_light`` and ``ring_share`` of its pixels within the tolerance (per channel) of it:
  ``tol``, or ``noise_k`` times the ring's median deviation on a grainy backdrop, at most
  ``tol_max``;
- the region: pixels farther than the tolerance from that colour in some channel (every n-th
  pixel, n = ceil(long side / ``work_side``)), opened by 3 x 3,
  with the holes the backdrop cannot reach filled; its component holding the most of the
  salient mask holds at least ``inside_min`` of the mask (the mask may cover it all: u2netp
  takes a whole case padded to a square, or a carton with no printed subject, and its print
  is still its own; until 2026-12-06, late, a mask covering over 70% of the region was left
  as it was, and a padded DVD's cover was read as text laid over the product, A -> C);
- it covers at least ``min_area`` of the frame (a speck of a white product lost on white is no
  printed face);
- its outline is a rectangle: its area is at least ``rect_min`` of its minimum-area rotated
  rectangle (Freeman & Shapira 1975) and ``solidity_min`` of its convex hull (a product with a
  prop behind it, or a garment, is neither);
- its margins to the frame are *not* those of a picture pasted on a white canvas: equal
  margins on every side (:func:`analyzer.vision.backdrop.even_margins`, the border finder's
  rule) are an added frame, the overlays check's ``BORDER``, and the picture's own backdrop
  stays backdrop.

The tolerance's floor, ``tol``, was 24 until 2026-12-06 (evening): a DVD case brightened by 0.2
EV (a sixth new user's benign edit) clipped the backdrop to 255 and brought the cover's light
edges within 24 of it, so the region was no rectangle (0.81) and the case was graded A -> D. At
12 all three brightened DVDs are faces again, and on 2,435 other photos (725 luma views, 120
amateur, 200 in-store, the 81 icons, 1,270 defect copies, the new user's 39 DVD copies) no
other decision changed but a speck of an overexposed garlic icon, which ``min_area`` keeps out.
Measured 2026-12-06 on 1,504 clean photos (723 luma views, 500 amateur, 200 in-store, the 81
grocery icons): it fires on the six DVDs only; on 3,341 defect copies (studio insets, frames,
banners, badges, text, props, pairs, reflections, small products, drawings; amateur cut-outs
and more) on the DVDs' copies only, and on 2 amateur photos pasted small on a white canvas
(their margins uneven); on 40 photos padded with white on every side, never (27 without the
margin test). What it cannot tell: a photo with its own backdrop pasted off-centre on a white
canvas reads as a face (such a canvas centred reads as a frame); and added text lying wholly on
a face reads as its print (the overlays check's ``printed_face``).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from analyzer.vision.backdrop import band, connected_to_border, even_margins


def printed_face(rgb: np.ndarray, salient: np.ndarray, th: dict[str, Any]) -> np.ndarray | None:
    """The face (bool, ``rgb``'s size) that holds the ``salient`` mask, or None (module
    docstring). ``rgb``: uint8 H x W x 3; ``salient``: bool H x W."""
    h, w = rgb.shape[:2]
    if salient.shape != (h, w):
        raise ValueError(f"salient mask {salient.shape} is not the image's {(h, w)}")
    if not salient.any():
        return None
    ring_px = max(1, int(th["ring_px"]))
    # the gate on the working copy's own ring first: most photos are not on a plain backdrop
    # and stop here
    rim = band(rgb, ring_px).astype(np.int16)
    ref = np.median(rim, axis=0)
    if float(ref.min()) < float(th["min_light"]):
        return None
    dev = np.abs(rim - ref).max(axis=1)
    # a grainy backdrop (a phone's noise on a sheet) is still plain: the tolerance grows with
    # the ring's own spread, up to tol_max
    tol = float(np.clip(float(th["noise_k"]) * float(np.median(dev)), float(th["tol"]),
                        float(th["tol_max"])))
    if float((dev <= tol).mean()) < float(th["ring_share"]):
        return None
    # Every step-th pixel: the outline and the margins need no more, and a margin of 0.5% of
    # the side is still 2-3 px at the work size.
    step = max(1, int(np.ceil(max(h, w) / float(th["work_side"]))))
    small = np.ascontiguousarray(rgb[::step, ::step])
    fg = cv2.inRange(small, tuple(float(v) - tol for v in ref),
                     tuple(float(v) + tol for v in ref)) == 0
    fg = fg.astype(np.uint8)
    sal = salient[::step, ::step]
    n_sal = int(np.count_nonzero(sal))
    if n_sal == 0:
        return None
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # the region: everything the backdrop cannot reach (a white label inside the case is in)
    region = ~connected_to_border(1 - fg, connectivity=4)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8),
                                                           connectivity=8)
    if n <= 1:
        return None
    held = np.bincount(labels[sal], minlength=n)
    held[0] = 0
    k = int(held.argmax())
    area = int(stats[k, cv2.CC_STAT_AREA])
    if held[k] < float(th["inside_min"]) * n_sal:
        return None
    if area < float(th["min_area"]) * labels.size:
        return None
    face = labels == k
    contours, _ = cv2.findContours(face.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)
    (_, _), (rw, rh), _ = cv2.minAreaRect(outline)
    if area < float(th["rect_min"]) * rw * rh:
        return None
    if area < float(th["solidity_min"]) * cv2.contourArea(cv2.convexHull(outline)):
        return None
    x, y, bw, bh = (int(v) for v in stats[k, :4])
    hs, ws = face.shape
    margins = np.array([x, y, ws - x - bw, hs - y - bh], np.float64) * step  # working px
    if even_margins(margins):
        return None
    if step > 1:
        face = cv2.resize(face.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return face
