"""Round badges and stickers ("SALE", "-20%") pasted on the photo.

Badges (:func:`find_badges`): a round or rounded plate of one flat colour with glyph-sized marks
inside, found wherever it sits, since a saliency mask takes a sticker pasted over a shirt for
product; its box counts as text area.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.quality.overlays.text import TextFinding


def find_badges(lab: np.ndarray, th: dict) -> list[tuple[int, int, int, int]]:
    """Badges: a disc or rounded plate of one flat colour with letters inside, like a "SALE" or
    "-20%" sticker pasted on the photo, wherever it sits (a saliency mask takes it for product).

    Candidates are the holes of the morphological-gradient map (the plate's inside, ringed by its
    outline) of ``badge_min_area`` .. ``badge_max_area`` of the frame, round or rounded
    (isoperimetric quotient 4 pi A / P^2 >= ``badge_min_roundness``, convex: area / hull area >=
    0.9). A badge's inside is flat: at least ``badge_flat_share`` of its non-edge pixels lie
    within ``badge_flat_de`` (Delta E 1976) of their median colour, which a photographed surface,
    with its shading and texture, is not; and it holds at least ``badge_min_glyphs`` separate
    glyph-sized marks (10-70% of its height). Returns the badges' boxes in ``lab``'s pixels.
    """
    H, W = lab.shape[:2]
    # Colour edges, not only lightness: an orange plate on skin differs in hue, not in L*.
    # The morphological gradient as dilation minus erosion: the same values as
    # cv2.morphologyEx(MORPH_GRADIENT) (same border rule), ~40% cheaper on 3-channel float.
    k3 = np.ones((3, 3), np.uint8)
    grad = cv2.subtract(cv2.dilate(lab, k3), cv2.erode(lab, k3))
    grad = np.maximum(grad[..., 0] * 2.55, np.maximum(grad[..., 1], grad[..., 2]))
    edges = (grad >= float(th["gradient_threshold"])).astype(np.uint8)
    contours, hier = cv2.findContours(edges, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hier is None:
        return []
    a_min = float(th["badge_min_area"]) * H * W
    a_max = float(th["badge_max_area"]) * H * W
    out = []
    for c, hinfo in zip(contours, hier[0], strict=True):
        if hinfo[3] < 0:
            continue  # outer boundaries; a plate's inside is a hole of its outline
        area = cv2.contourArea(c)
        if not a_min <= area <= a_max:
            continue
        per = cv2.arcLength(c, True)
        hull = cv2.contourArea(cv2.convexHull(c))
        if per <= 0 or hull <= 0 or 4 * np.pi * area / per ** 2 < float(
                th["badge_min_roundness"]) or area / hull < 0.9:
            continue
        x, y, w, h = cv2.boundingRect(c)
        fill = np.zeros((h, w), np.uint8)
        cv2.drawContours(fill, [c - np.array([x, y])], -1, 1, thickness=-1)
        inner = fill.astype(bool) & (edges[y:y + h, x:x + w] == 0)
        px = lab[y:y + h, x:x + w][inner]
        if len(px) < 20:
            continue
        flat = (np.linalg.norm(px - np.median(px, axis=0), axis=1)
                <= float(th["badge_flat_de"])).mean()
        if flat < float(th["badge_flat_share"]):
            continue
        marks = (edges[y:y + h, x:x + w] & fill)
        n, _, st, _ = cv2.connectedComponentsWithStats(marks, connectivity=8)
        gh = st[1:, cv2.CC_STAT_HEIGHT]
        glyphs = int(((gh >= 0.1 * h) & (gh <= 0.7 * h)).sum())
        if glyphs >= int(th["badge_min_glyphs"]):
            out.append((x, y, x + w, y + h))
    return out


def with_badges(text: TextFinding, badges: list[tuple[int, int, int, int]],
                scale: float) -> TextFinding:
    """``text`` with the badges (boxes at ``scale`` of the working size) added as text areas."""
    tmap = text.map.copy()
    H0, W0 = tmap.shape
    boxes = list(text.boxes)
    for x0, y0, x1, y1 in badges:
        b = (int(x0 / scale), int(y0 / scale), min(W0, int(np.ceil(x1 / scale))),
             min(H0, int(np.ceil(y1 / scale))))
        boxes.append(b)
        tmap[b[1]:b[3], b[0]:b[2]] = 1.0
    return TextFinding(float(tmap.mean()), len(boxes), text.n_chars, boxes, tmap, text.evidence,
                       text.n_on_product)  # a badge is a sticker on the photo, not on the product
