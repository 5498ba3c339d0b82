"""Inset pictures pasted into a corner of the main image.

Insets (:func:`find_insets`): a second picture pasted into a corner (a detail shot, a lifestyle
photo), found as a rectangle outlined by long straight edges, sitting on the backdrop and not a
part of the product. ``INSET_IMAGE``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


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


def _product_panel(labels: np.ndarray, box: tuple[int, int, int, int], r: int,
                   min_share: float) -> bool:
    """True when one mask component fills at least ``min_share`` of ``box`` (x0, y0, x1, y1,
    inclusive) and also covers at least 90% of an ``r``-px strip outside one of its sides:
    the box is a part of that component, not something laid over it."""
    x, y, x1, y1 = box
    h, w = labels.shape
    inside = labels[y:y1 + 1, x:x1 + 1]
    ids, counts = np.unique(inside[inside > 0], return_counts=True)
    if ids.size == 0:
        return False
    k = int(ids[np.argmax(counts)])
    if counts.max() < min_share * inside.size:
        return False
    # The strips start r px out: a soft mask spills a few px past an inset's outline.
    strips = [labels[max(0, y - 2 * r):max(0, y - r), x:x1 + 1],
              labels[y1 + 1 + r:min(h, y1 + 2 * r + 1), x:x1 + 1],
              labels[y:y1 + 1, max(0, x - 2 * r):max(0, x - r)],
              labels[y:y1 + 1, x1 + 1 + r:min(w, x1 + 2 * r + 1)]]
    return any(st.size and float((st == k).mean()) >= 0.9 for st in strips)


def find_insets(gray_u8: np.ndarray, mask: np.ndarray | None, plain: np.ndarray,
                th: dict) -> InsetFinding:
    """Inset pictures (a detail shot or a second photo pasted into a corner of the main image).

    An inset is an axis-aligned rectangle whose outline is a straight edge along (nearly) all its
    length: the Canny edges (Canny, "A computational approach to edge detection", TPAMI 1986) of
    a copy ``inset_work_side`` px long, opened with horizontal and vertical line elements of
    ``inset_min_side_frac`` of the frame (the line-extraction step of table/box detectors, e.g.
    Gatos et al., "Automatic table detection in document images", ICAPR 2005), keep only long
    straight runs; each closed outline whose four sides are covered by such runs along at least
    ``inset_side_cover`` of their length is a candidate (at most ``inset_max_frame_sides`` of
    them may lie on the frame's own edge, where there is no edge to see). It must be
    ``inset_min_area`` to ``inset_max_area`` of the frame, hold picture content (L* std inside >=
    ``inset_min_std``), sit in a corner (within ``inset_edge_frac`` of a side and of the top or
    bottom) without covering the frame centre, hold less than ``inset_max_product`` of the
    product mask, be pasted onto the backdrop (at least ``inset_ring_backdrop`` of a thin ring
    just outside it is the plain backdrop, ``plain`` from :func:`backdrop`, or lies off the
    frame), and not be a panel of the product (:func:`_product_panel`). A carton photographed
    head-on is a rectangle with printed panels and a top, but it is the product: it sits in the
    middle, and its panels have more carton around them, not backdrop. Insets laid over a
    close-up that fills the frame (no backdrop around them), and ones with no outline whose
    content is as white as the backdrop, are missed.
    """
    h0, w0 = gray_u8.shape
    s = min(1.0, float(th["inset_work_side"]) / max(h0, w0))
    g = gray_u8 if s >= 1.0 else cv2.resize(
        gray_u8, (max(1, round(w0 * s)), max(1, round(h0 * s))), interpolation=cv2.INTER_AREA)
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
    boxes: list[tuple[int, int, int, int]] = []
    for c in contours:
        x, y, bw, bh = cv2.boundingRect(c)
        if bw < lh or bh < lv:
            continue
        area = bw * bh / float(w * h)
        if not float(th["inset_min_area"]) <= area <= float(th["inset_max_area"]):
            continue
        x1, y1 = x + bw - 1, y + bh - 1
        # The band is 2-3 px thick: measure each side on its middle line.
        sides = [
            y <= edge_px or _side_cover(hor, True, y + 1, x, x1, 2) >= cover,
            y1 >= h - 1 - edge_px or _side_cover(hor, True, y1 - 1, x, x1, 2) >= cover,
            x <= edge_px or _side_cover(ver, False, x + 1, y, y1, 2) >= cover,
            x1 >= w - 1 - edge_px or _side_cover(ver, False, x1 - 1, y, y1, 2) >= cover,
        ]
        on_frame_edge = (y <= edge_px) + (y1 >= h - 1 - edge_px) + (x <= edge_px) + \
            (x1 >= w - 1 - edge_px)
        if not all(sides) or on_frame_edge > int(th["inset_max_frame_sides"]):
            continue
        if x <= w / 2 <= x1 and y <= h / 2 <= y1:  # covers the centre: the product's place
            continue
        if min(x, w - 1 - x1) > near * w or min(y, h - 1 - y1) > near * h:
            continue  # not in a corner, where sellers put insets (and where no panel of a
            # centred product reaches)
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
            # along part of a side only.
            if _product_panel(m_lab, (x, y, x1, y1), r, float(th["inset_max_filled"])):
                continue
        box = (x, y, x1 + 1, y1 + 1)
        # RETR_LIST gives a band's outer and inner outline: keep one box per inset.
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
