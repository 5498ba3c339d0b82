"""Inset pictures pasted into a corner of the main image.

Insets (:func:`find_insets`): a second picture pasted into a corner (a detail shot, a lifestyle
photo), found as a rectangle outlined by long straight edges, sitting on the backdrop and not a
part of the product. ``INSET_IMAGE``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.vision.shrink import shrink_area


@dataclass
class InsetFinding:
    boxes: list[tuple[int, int, int, int]]  # inset boxes, working px (x0, y0, x1, y1)
    area: float                             # their share of the frame

    @property
    def found(self) -> bool:
        return bool(self.boxes)


def _side_cover(lines: np.ndarray, horizontal: bool, fixed: int, lo: int, hi: int,
                band: int) -> float:
    """Share of the positions ``lo..hi`` along one side of a box where the line map has a pixel
    within ``band`` of the side's row (``horizontal``) or column ``fixed``."""
    if hi <= lo:
        return 0.0
    a, b = max(0, fixed - band), fixed + band + 1
    strip = lines[a:b, lo:hi] if horizontal else lines[lo:hi, a:b].T
    return float(strip.any(axis=0).mean()) if strip.size else 0.0


def _corner_boxes(hor: np.ndarray, ver: np.ndarray,
                  tol: int) -> list[tuple[int, int, int, int, int]]:
    """Boxes (x0, y0, x1, y1 inclusive, corner) spanned by a horizontal and a vertical straight run
    that meet end to end at a right angle (an L-junction): the runs' ends within ``tol`` px of
    each other, the box's other two sides where the runs end. Runs are the connected parts of the
    horizontal (``hor``) and vertical (``ver``) line maps taken apart, so a side that touches the
    product's own edges does not merge the box with them as one outline would. Each junction
    gives the box it is the corner of; which corner it is comes with the box (0 top-left, 1
    top-right, 2 bottom-left, 3 bottom-right). A T-junction (one run going on past the other)
    gives no box."""
    sh, sv = (np.array([cv2.boundingRect(c) for c in cv2.findContours(
        a, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]], np.int64).reshape(-1, 4)
        for a in (hor, ver))
    if not len(sh) or not len(sv):
        return []
    hx0, hy0, hw_, hh_ = (sh[:, i][:, None] for i in range(4))
    vx0, vy0, vw_, vh_ = (sv[:, i][None, :] for i in range(4))
    hx1, hy1, vx1, vy1 = hx0 + hw_ - 1, hy0 + hh_ - 1, vx0 + vw_ - 1, vy0 + vh_ - 1
    left, right = np.abs(hx0 - vx0) <= tol, np.abs(hx1 - vx1) <= tol
    top, bottom = np.abs(hy0 - vy0) <= tol, np.abs(hy1 - vy1) <= tol
    out = []
    for k, ok in enumerate((left & top, right & top, left & bottom, right & bottom)):
        for i, j in zip(*np.nonzero(ok), strict=True):
            x0 = int(min(hx0[i, 0], vx0[0, j])) if k in (0, 2) else int(hx0[i, 0])
            x1 = int(max(hx1[i, 0], vx1[0, j])) if k in (1, 3) else int(hx1[i, 0])
            y0 = int(min(hy0[i, 0], vy0[0, j])) if k in (0, 1) else int(vy0[0, j])
            y1 = int(max(hy1[i, 0], vy1[0, j])) if k in (2, 3) else int(vy1[0, j])
            out.append((x0, y0, x1, y1, k))
    return out


def _goes_on(hor: np.ndarray, ver: np.ndarray, box: tuple[int, int, int, int], side: int,
             lh: int, lv: int) -> float:
    """How far the box's outline goes on straight past the box's side ``side`` (0 top, 1 bottom,
    2 left, 3 right): the larger line-map cover of the two sides that meet it, continued ``lh``
    (``lv``) px beyond it. A panel of a product shares its outline with the product's own edge,
    which goes on past the panel's corners; a picture laid over the product ends at its own."""
    x, y, x1, y1 = box
    if side < 2:  # the left and right sides, continued up (0) or down (1)
        lo, hi = (y - lv, y) if side == 0 else (y1 + 1, y1 + 1 + lv)
        lo = max(0, lo)
        return max(_side_cover(ver, False, x + 1, lo, hi, 2),
                   _side_cover(ver, False, x1 - 1, lo, hi, 2))
    lo, hi = (x - lh, x) if side == 2 else (x1 + 1, x1 + 1 + lh)
    lo = max(0, lo)
    return max(_side_cover(hor, True, y + 1, lo, hi, 2), _side_cover(hor, True, y1 - 1, lo, hi, 2))


def _product_panel(labels: np.ndarray, box: tuple[int, int, int, int], r: int,
                   min_share: float) -> list[int]:
    """The sides (0 top, 1 bottom, 2 left, 3 right) past which the mask component that fills at
    least ``min_share`` of ``box`` (x0, y0, x1, y1, inclusive) goes on, covering at least 90% of
    an ``r``-px strip outside the side: the box may be a part of that component, not something
    laid over it. Empty when no component fills the box."""
    x, y, x1, y1 = box
    h, w = labels.shape
    inside = labels[y:y1 + 1, x:x1 + 1]
    ids, counts = np.unique(inside[inside > 0], return_counts=True)
    if ids.size == 0:
        return []
    k = int(ids[np.argmax(counts)])
    if counts.max() < min_share * inside.size:
        return []
    # The strips start r px out: a soft mask spills a few px past an inset's outline.
    strips = [labels[max(0, y - 2 * r):max(0, y - r), x:x1 + 1],
              labels[y1 + 1 + r:min(h, y1 + 2 * r + 1), x:x1 + 1],
              labels[y:y1 + 1, max(0, x - 2 * r):max(0, x - r)],
              labels[y:y1 + 1, x1 + 1 + r:min(w, x1 + 2 * r + 1)]]
    return [i for i, st in enumerate(strips) if st.size and float((st == k).mean()) >= 0.9]


def find_insets(gray_u8: np.ndarray, mask: np.ndarray | None, plain: np.ndarray,
                th: dict) -> InsetFinding:
    """Inset pictures (a detail shot or a second photo pasted into a corner of the main image).

    An inset is an axis-aligned rectangle whose outline is a straight edge along (nearly) all its
    length: the Canny edges (Canny, "A computational approach to edge detection", TPAMI 1986) of
    a copy ``inset_work_side`` px long, opened with horizontal and vertical line elements of
    ``inset_min_side_frac`` of the frame (the line-extraction step of table/box detectors, e.g.
    Gatos et al., "Automatic table detection in document images", ICAPR 2005), keep only long
    straight runs. Candidate boxes come from two places: the bounding box of each closed outline
    of the runs, and the box of each L-junction (:func:`_corner_boxes`: a horizontal and a
    vertical run that end at the same corner; an outline that touches the product's edges merges
    with them into one bigger outline, the runs taken apart do not). A box is outlined when its
    four sides are covered by runs along at least ``inset_side_cover`` of their length (at most
    ``inset_max_frame_sides`` of them may lie on the frame's own edge, where there is no edge to
    see), or, for a junction's box whose junction is the corner that faces the frame's corner,
    when the two sides that meet there are covered so and the two across from them at least
    ``inset_partial_cover``: those two lie towards the product, and where an inset overlaps a
    product of its own colour its outline vanishes (rectangles grouped from line segments that
    meet at right-angle corners, as in Lagunovsky and Ablameyko, "Straight-line-based primitive
    extraction in grey-scale object recognition", Pattern Recognition Letters 1999). It must be
    ``inset_min_area`` to ``inset_max_area`` of the frame and span at most ``inset_max_side`` of its
    width and of its height, hold picture content (L* std inside >= ``inset_min_std``), sit in a
    corner (within ``inset_edge_frac`` of a side and of the top or bottom) without covering the
    frame centre, hold less than ``inset_max_product`` of the product mask, be pasted onto the
    backdrop (at least ``inset_ring_backdrop`` of a thin ring just outside it is the plain backdrop,
    ``plain`` from :func:`backdrop`, or lies off the frame), and not be a panel of the product
    (:func:`_product_panel`) whose outline goes on past it: a mask part that fills the box and goes
    on past side ``s`` makes it a panel only when one of the two sides that meet ``s`` goes on
    straight past it along at least ``inset_panel_line`` of ``inset_min_side_frac`` of the frame
    (:func:`_goes_on`; a carton's top shares the carton's edges, an inset the mask merged with a
    garment it overlaps ends at its own corners). A carton photographed head-on is a rectangle with
    printed panels and a top, but it is the product: it sits in the middle, and its panels have more
    carton around them, not backdrop. Insets laid over a close-up that fills the frame (no backdrop
    around them), ones with no outline whose content is as white as the backdrop, flat ones (a crop
    of black fabric) and ones whose two sides towards the product both vanish against it are missed;
    a product's rectangular top (a lid) in a frame corner whose sides do not go on into the
    product's own edges would be taken for an inset, and a rectangular sale badge big enough (1.5%
    of the frame) is one too (it also gets ``TEXT_OR_WATERMARK``).
    """
    h0, w0 = gray_u8.shape
    s = min(1.0, float(th["inset_work_side"]) / max(h0, w0))
    g = gray_u8 if s >= 1.0 else shrink_area(gray_u8, (max(1, round(w0 * s)),
                                                       max(1, round(h0 * s))))
    h, w = g.shape
    none = InsetFinding([], 0.0)
    if not plain.any():  # no plain backdrop to paste onto: nothing is called an inset
        return none
    edges = cv2.Canny(g, 30, 90)
    # A drawn frame line gives an edge on each side of it and anti-aliasing wobbles it by a pixel:
    # a 3 x 3 dilation makes one solid band of it before the straight runs are kept.
    e = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    side = float(th["inset_min_side_frac"])
    lh, lv = max(8, round(side * w)), max(8, round(side * h))
    hor = cv2.morphologyEx(e, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (lh, 1)))
    ver = cv2.morphologyEx(e, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, lv)))
    if not hor.any() or not ver.any():
        return none
    lines = cv2.bitwise_or(hor, ver)
    contours, _ = cv2.findContours(lines, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    bd = cv2.resize(plain.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    pad = max(4, round(0.03 * max(h, w)) + 2)
    bd_pad = cv2.copyMakeBorder(bd, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=1) > 0
    m = m_lab = None
    m_total = 0.0
    if mask is not None and mask.any():
        m = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        m_total = float(m.sum())
        if m_total > 0:  # else a speck lost in the shrink: no product to compare with
            m_lab = cv2.connectedComponents(m.view(np.uint8), connectivity=8)[1]
    edge_px = max(2, round(0.01 * max(h, w)))
    near = float(th["inset_edge_frac"])
    cover = float(th["inset_side_cover"])
    partial = float(th["inset_partial_cover"])
    goes_on = float(th["inset_panel_line"])
    cands: list[tuple[int, int, int, int, int]] = []  # x0, y0, x1, y1 (inclusive), L corner
    for c in contours:
        x, y, bw, bh = cv2.boundingRect(c)
        cands.append((x, y, x + bw - 1, y + bh - 1, -1))
    cands += _corner_boxes(hor, ver, int(th["inset_corner_tol"]))
    boxes: list[tuple[int, int, int, int]] = []
    for x, y, x1, y1, k in cands:
        bw, bh = x1 - x + 1, y1 - y + 1
        if bw < lh or bh < lv:
            continue
        area = bw * bh / float(w * h)
        if not float(th["inset_min_area"]) <= area <= float(th["inset_max_area"]):
            continue
        if max(bw / w, bh / h) > float(th["inset_max_side"]):
            continue  # a strip down the frame (a framed close-up's backdrop), not a picture
        on_edge = [y <= edge_px, y1 >= h - 1 - edge_px, x <= edge_px, x1 >= w - 1 - edge_px]
        if sum(on_edge) > int(th["inset_max_frame_sides"]):
            continue
        if x <= w / 2 <= x1 and y <= h / 2 <= y1:  # covers the centre: the product's place
            continue
        if min(x, w - 1 - x1) > near * w or min(y, h - 1 - y1) > near * h:
            continue  # not in a corner, where sellers put insets (and where no panel of a
            # centred product reaches)
        # The band is 2-3 px thick: measure each side on its middle line (top, bottom, left,
        # right).
        sides = [on_edge[0] or _side_cover(hor, True, y + 1, x, x1, 2),
                 on_edge[1] or _side_cover(hor, True, y1 - 1, x, x1, 2),
                 on_edge[2] or _side_cover(ver, False, x + 1, y, y1, 2),
                 on_edge[3] or _side_cover(ver, False, x1 - 1, y, y1, 2)]
        if min(sides) < cover:
            # Partly outlined: only a junction's box, at the corner that faces the frame's
            # corner, with the two sides that meet there covered and the two across at least
            # partly (they lie towards the product, where the outline may vanish against it).
            if k < 0 or not ((w - 1 - x1 if k % 2 else x) <= near * w
                             and (h - 1 - y1 if k >= 2 else y) <= near * h):
                continue
            outer = (sides[0] if k < 2 else sides[1], sides[2] if k % 2 == 0 else sides[3])
            across = (sides[1] if k < 2 else sides[0], sides[3] if k % 2 == 0 else sides[2])
            if min(outer) < cover or min(across) < partial:
                continue
        inner = g[y + bh // 10:y1 - bh // 10 + 1, x + bw // 10:x1 - bw // 10 + 1]
        if inner.size == 0 or float(inner.std()) * 100.0 / 255.0 < float(th["inset_min_std"]):
            continue
        # A thin ring just outside the outline, on the backdrop map padded with "backdrop":
        # the part of the ring off the frame counts as backdrop.
        r = max(2, round(0.03 * max(bw, bh)))
        ring = bd_pad[y + pad - r - 1:y1 + pad + r + 2, x + pad - r - 1:x1 + pad + r + 2].copy()
        ring[r:-r, r:-r] = False
        n_ring = ring.size - (ring.shape[0] - 2 * r) * (ring.shape[1] - 2 * r)
        if float(ring.sum()) / max(1, n_ring) < float(th["inset_ring_backdrop"]):
            continue
        if m is not None and m_lab is not None:
            if float(m[y:y1 + 1, x:x1 + 1].sum()) > float(th["inset_max_product"]) * m_total:
                continue
            # A panel of the product (a carton's top, a label) is filled by a mask part that goes
            # on past one whole side of it; an inset the mask merged with the product touches it
            # along part of a side only, or, where it overlaps the product, along a whole side
            # but with its outline ending at its own corners (the product's edges do not go on
            # from it).
            panel = _product_panel(m_lab, (x, y, x1, y1), r, float(th["inset_max_filled"]))
            if panel and any(_goes_on(hor, ver, (x, y, x1, y1), sd, lh, lv) >= goes_on
                             for sd in panel):
                continue
        box = (x, y, x1 + 1, y1 + 1)
        # RETR_LIST gives a band's outer and inner outline, and an outlined box is also its
        # corners' junction box: keep one box per inset.
        if any(_iou(box, b) > 0.7 for b in boxes):
            continue
        boxes.append(box)
    if not boxes:
        return none
    inv = 1.0 / s
    full = [(int(x0 * inv), int(y0 * inv), min(w0, int(round(x1 * inv))),
             min(h0, int(round(y1 * inv)))) for x0, y0, x1, y1 in boxes]
    cov = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in boxes:
        cov[y0:y1, x0:x1] = True
    return InsetFinding(full, float(cov.mean()))


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
