"""Badges, price tags and banners ("SALE", "-20%", "Free returns") pasted on the photo.

Badges (:func:`find_badges`): a plate of one flat colour with glyph-sized marks inside, round or
rounded (a sticker) or a rectangle at any angle (a price tag, a banner strip across the photo),
found wherever it sits, since a saliency mask takes a sticker pasted over a shirt for product;
its box counts as text area.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.quality.overlays.text import TextFinding


def colour_edges(lab: np.ndarray, th: dict) -> np.ndarray:
    """Where the colour steps (uint8 0/1): the morphological gradient (3 x 3) of L* (scaled to
    0..255) and of a*, b*, its largest, at or over ``gradient_threshold``. Colour edges, not only
    lightness: an orange plate on skin differs in hue, not in L*."""
    # dilation minus erosion: the same values as cv2.morphologyEx(MORPH_GRADIENT) (same border
    # rule), ~40% cheaper on 3-channel float
    k3 = np.ones((3, 3), np.uint8)
    grad = cv2.dilate(lab, k3)
    cv2.subtract(grad, cv2.erode(lab, k3), dst=grad)  # in place: one working-size copy fewer
    return step_over(grad, float(th["gradient_threshold"]))


def step_over(step: np.ndarray, t: float) -> np.ndarray:
    """uint8 1 where a non-negative Lab step (float32, 3 channels) reaches ``t`` in any channel,
    L* scaled by 2.55 to 0..255 (``L* x 2.55 >= t`` or ``a* >= t`` or ``b* >= t``), else 0: the
    complement of one ``inRange`` (every channel under ``t``), cheaper than a scaled copy, two
    maxima and a comparison, and the same pixels (checked on 31 photos, 8.6 M pixels)."""
    hi = tuple(float(np.nextafter(np.float32(v), np.float32(-1.0))) for v in (t / 2.55, t, t))
    return (cv2.inRange(step, (0.0, 0.0, 0.0), hi) == 0).view(np.uint8)


# A hole of the colour-edge map: its outline (OpenCV's contour, in the map's pixels) and its area.
Hole = tuple[np.ndarray, float]


def plate_holes(edges: np.ndarray, th: dict) -> list[Hole]:
    """The holes of :func:`colour_edges`' map ``edges``, the frame's edge closing them
    (``cv2.RETR_CCOMP``: a plate's inside is a hole of its outline), of at least the smaller of
    ``badge_min_area`` and ``sticker_min_area`` of the frame: the candidates of the badge and
    sticker finders, traced and measured once (a studio photo's map holds hundreds of holes,
    the speckle between its edges; a few are a plate's size)."""
    # the frame's edge closes a plate that runs off the photo (find_badges)
    framed = cv2.copyMakeBorder(edges, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    contours, hier = cv2.findContours(framed, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE,
                                      offset=(-1, -1))
    if hier is None:
        return []
    a_min = min(float(th["badge_min_area"]), float(th["sticker_min_area"])) * edges.size
    out = []
    for c, hinfo in zip(contours, hier[0], strict=True):
        if hinfo[3] < 0:
            continue  # outer boundaries; a plate's inside is a hole of its outline
        area = cv2.contourArea(c)
        if area >= a_min:
            out.append((c, area))
    return out


def find_badges(lab: np.ndarray, th: dict, edges: np.ndarray | None = None,
                holes: list[Hole] | None = None) -> list[tuple[int, int, int, int]]:
    """Badges: a disc or rounded plate of one flat colour with letters inside, like a "SALE" or
    "-20%" sticker pasted on the photo, wherever it sits (a saliency mask takes it for product).

    Candidates are the holes of the morphological-gradient map (the plate's inside, ringed by its
    outline) of ``badge_min_area`` .. ``badge_max_area`` of the frame, round or rounded
    (isoperimetric quotient 4 pi A / P^2 >= ``badge_min_roundness``, convex: area / hull area >=
    0.9). A badge's inside is flat: at least ``badge_flat_share`` of its non-edge pixels lie
    within ``badge_flat_de`` (Delta E 1976) of their median colour, which a photographed surface,
    with its shading and texture, is not; and it holds at least ``badge_min_glyphs`` separate
    glyph-sized marks (10-70% of its height). Returns the badges' boxes in ``lab``'s pixels
    (``edges``: :func:`colour_edges`, ``holes``: :func:`plate_holes`, when already made).

    Tags and banners (text on a filled rectangle: a two-line price tag, a "Free returns" strip)
    are not round (a 4:1 strip's quotient is 0.50), so a convex plate also qualifies when it is a
    rectangle at any angle: its area fills at least ``plate_min_rectangularity`` of its minimum
    area rectangle (Freeman & Shapira's minimum-area enclosing rectangle, CACM 1975; OpenCV's
    ``minAreaRect``), its sides are at most ``plate_max_aspect`` to one, its area up to
    ``plate_max_area`` of the frame (a strip spans the photo), and glyph-sized marks are read
    against its short side; it holds at most ``plate_max_marks`` marks (a few words, not a
    satin sheen), and its glyphs must stand on a line of text (:func:`in_a_row`). The frame's
    edge closes a plate that runs off the photo when its long side spans
    ``plate_edge_min_span`` of the frame (a strip across it), as the plate's own outline closes
    it everywhere else.
    """
    H, W = lab.shape[:2]
    if edges is None:
        edges = colour_edges(lab, th)
    if holes is None:
        holes = plate_holes(edges, th)
    a_min = float(th["badge_min_area"]) * H * W
    a_max = float(th["badge_max_area"]) * H * W
    a_plate = float(th["plate_max_area"]) * H * W
    out = []
    for c, traced in holes:
        if not a_min <= traced <= max(a_max, a_plate):
            continue
        # a hole closed by the frame runs along the added border row: onto the photo's own edge
        c = np.clip(c, 0, (W - 1, H - 1)).astype(np.int32)
        area = cv2.contourArea(c)
        if not a_min <= area <= max(a_max, a_plate):
            continue
        per = cv2.arcLength(c, True)
        hull = cv2.contourArea(cv2.convexHull(c))
        if per <= 0 or hull <= 0 or area / hull < 0.9:
            continue
        x, y, w, h = cv2.boundingRect(c)
        on_edge = x == 0 or y == 0 or x + w >= W or y + h >= H
        # a sticker is whole on the photo; only a strip across it may run off the frame
        side = (_plate_side(c, area, per, th) if area <= a_max and not on_edge else None)
        rect = side is None
        if rect:
            side = _rect_side(c, area, th, min(H, W) if on_edge else 0.0)
            if side is None:
                continue
        fill = np.zeros((h, w), np.uint8)
        cv2.drawContours(fill, [c - np.array([x, y])], -1, 1, thickness=-1)
        # the letters first: every test must pass, and they are cheaper than the flat plate's
        marks = (edges[y:y + h, x:x + w] & fill)
        n, _, st, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
        gh = st[1:, cv2.CC_STAT_HEIGHT]
        glyph = (gh >= 0.1 * side) & (gh <= 0.7 * side)
        if rect:  # a tag's marks must read as lines of text, not folds or grain (below)
            # ... a few words: a satin sheen or a print holds hundreds of marks, some of which
            # line up by chance (a tag's few words hold 6-31 on the tune copies)
            if n - 1 > int(th["plate_max_marks"]):
                continue
            glyph &= in_a_row(st[1:], glyph)
        if int(glyph.sum()) < int(th["badge_min_glyphs"]):
            continue
        inner = fill.astype(bool) & (edges[y:y + h, x:x + w] == 0)
        px = lab[y:y + h, x:x + w][inner]
        if len(px) < 20:
            continue
        flat = (np.linalg.norm(px - np.median(px, axis=0), axis=1)
                <= float(th["badge_flat_de"])).mean()
        if flat >= float(th["badge_flat_share"]):
            out.append((x, y, x + w, y + h))
    return out


def _plate_side(c: np.ndarray, area: float, per: float, th: dict) -> float | None:
    """A round or rounded plate's height (its glyphs' scale), or None when it is not round."""
    if 4 * np.pi * area / per ** 2 < float(th["badge_min_roundness"]):
        return None
    return float(cv2.boundingRect(c)[3])


def _rect_side(c: np.ndarray, area: float, th: dict, min_span: float) -> float | None:
    """A rectangular plate's short side (at any angle), or None when it is no rectangle or
    its long side is under ``min_span`` px (a plate cut by the frame must be a strip across)."""
    rw, rh = cv2.minAreaRect(c)[1]
    short, long_ = min(rw, rh), max(rw, rh)
    if (short < 1 or area < float(th["plate_min_rectangularity"]) * rw * rh
            or long_ > float(th["plate_max_aspect"]) * short
            or long_ < float(th["plate_edge_min_span"]) * min_span):
        return None
    return float(short)


def in_a_row(st: np.ndarray, glyph: np.ndarray) -> np.ndarray:
    """Which glyph-sized marks (stats rows: x, y, w, h, area) have a neighbour on one text
    line: a height within 1.5x, top and bottom within 0.3 of the height (a tilt up to ~20
    degrees keeps that between neighbouring letters), at most two heights apart, and each
    letter-shaped (at least 0.15x as wide as high; a word whose letters the edge map joined
    may be far wider). Folds of a satin garment and the grain of a floor tile are marks too,
    but long and thin or at heights of their own."""
    x, y, w, h = (st[:, i].astype(np.float64) for i in range(4))
    ok = glyph & (w >= 0.15 * h)
    idx = np.flatnonzero(ok)
    row = np.zeros(len(st), bool)
    if len(idx) < 2:
        return row
    xi, yi, wi, hi = x[idx], y[idx], w[idx], h[idx]
    hm = np.maximum(hi[:, None], hi[None])
    gap = np.maximum(0.0, np.maximum(xi[:, None], xi[None])
                     - np.minimum(xi[:, None] + wi[:, None], xi[None] + wi[None]))
    pair = ((hm <= 1.5 * np.minimum(hi[:, None], hi[None]))
            & (np.abs(yi[:, None] - yi[None]) <= 0.3 * hm)
            & (np.abs(yi[:, None] + hi[:, None] - yi[None] - hi[None]) <= 0.3 * hm)
            & (gap <= 2.0 * hm))
    np.fill_diagonal(pair, False)
    row[idx] = pair.any(axis=1)
    return row


def with_badges(text: TextFinding, badges: list[tuple[int, int, int, int]],
                scale: float, zone: np.ndarray | None = None) -> TextFinding:
    """``text`` with the badges (boxes at ``scale`` of the working size) added as text areas; a
    badge with at least half its box in the product ``zone`` (working size) lies over the
    product (a banner across a garment), as the flag then says."""
    tmap = text.map.copy()
    H0, W0 = tmap.shape
    boxes = list(text.boxes)
    on_product = text.n_on_product
    for x0, y0, x1, y1 in badges:
        b = (int(x0 / scale), int(y0 / scale), min(W0, int(np.ceil(x1 / scale))),
             min(H0, int(np.ceil(y1 / scale))))
        boxes.append(b)
        tmap[b[1]:b[3], b[0]:b[2]] = 1.0
        if zone is not None and zone[y0:y1, x0:x1].mean() >= 0.5:
            on_product += 1
    return TextFinding(float(tmap.mean()), len(boxes), text.n_chars, boxes, tmap, text.evidence,
                       on_product)
