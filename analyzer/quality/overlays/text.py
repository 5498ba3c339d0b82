"""Added text and watermarks outside the product.

Text, watermarks and badges: a classical, model-free text detector. Character candidates are the
connected components of the morphological gradient (dilation minus erosion; strokes of text
drawn on a plain background have a strong one on both sides; Soille, "Morphological Image
Analysis", 2003, ch. 3) above ``gradient_threshold``, *outside the product*: the product mask's
main parts grown by ``product_dilate_frac``. Print on the product itself (a label, a logo on a
shirt, a grocery package) is part of the product and is not an overlay, which is why the mask
matters. A saliency mask often takes overlaid text for product, so on a plain backdrop (the
border's colour on at least ``backdrop_min_share`` of it) the backdrop connected to the border is
taken off the mask first (``zone.backdrop``): the white between glyphs is not product. A glyph
counts as outside when at most ``max_inside`` of its gradient pixels are in the zone, and a word
counts when at least ``word_min_outside`` of its glyphs are outside, so text running across the
product's outline is kept while print inside it is not. Text wholly over the product, and faint
tiled watermarks over it, are still missed (a documented limit). Candidates of
character height are grouped when they are near one another and of similar height (the grouping
rule of connected-component text detectors, e.g. Epshtein et al., "Detecting text in natural
scenes with stroke width transform", CVPR 2010, without the stroke-width step); a group of at least
``min_chars`` is a word. In a busy scene (gradient density outside the product above
``busy_density``) a word needs ``min_chars_busy`` glyphs and a quiet ring around it (``ring_frac``
x the glyph height wide, edge density <= ``ring_max_density``): added text sits on a plain patch,
while "words" found in clutter are mostly texture. ``text_area`` is the words' box area as a
fraction of the frame. One merged component counts as a word only with at least two enclosed
holes (the letters' counters), which a stripe or a wood-grain line does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class TextFinding:
    text_area: float          # fraction of the frame covered by word boxes
    n_words: int
    n_chars: int
    boxes: list[tuple[int, int, int, int]]  # word boxes, working px (x0, y0, x1, y1)
    map: np.ndarray           # float32 working size, 1 inside word boxes
    busy: float = 0.0         # gradient density outside the product


def _union_find_groups(cx: np.ndarray, cy: np.ndarray, hh: np.ndarray,
                       link: float) -> np.ndarray:
    """Group labels linking components of similar height that sit on one row (vertical offset
    under 0.4 x height, horizontal gap under ``link`` x height), or, for tilted text such as a
    diagonal watermark, that are very close in any direction (under 1.2 x height)."""
    n = len(cx)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    dx = np.abs(cx[:, None] - cx[None])
    dy = np.abs(cy[:, None] - cy[None])
    hmax = np.maximum(hh[:, None], hh[None])
    hmin = np.minimum(hh[:, None], hh[None])
    row = (dy < 0.4 * hmax) & (dx < link * hmax)
    near = np.hypot(dx, dy) < 1.2 * hmax
    ok = (row | near) & (hmax <= 2.0 * hmin)
    ii, jj = np.nonzero(np.triu(ok, 1))
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[ri] = rj
    return np.array([find(i) for i in range(n)])


def _holes(comp: np.ndarray, stat: np.ndarray) -> int:
    """Enclosed holes of one component (the counters of merged letters), at least 4 px each."""
    x, y, w, h = (int(v) for v in stat[:4])
    crop = comp[y:y + h, x:x + w].astype(np.uint8)
    contours, hier = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hier is None:
        return 0
    return sum(1 for c, hinfo in zip(contours, hier[0], strict=True)
               if hinfo[3] >= 0 and cv2.contourArea(c) >= 4)


def _component_holes(labels: np.ndarray, k: int, stats: np.ndarray) -> int:
    """:func:`_holes` of component ``k`` of ``labels``, compared only inside its own box."""
    x, y, w, h = (int(v) for v in stats[k, :4])
    crop = labels[y:y + h, x:x + w] == k
    return _holes(crop, np.array([0, 0, w, h]))


def find_text(gray_u8: np.ndarray, zone: np.ndarray, th: dict) -> TextFinding:
    """Word-like groups of character-like gradient components outside ``zone``."""
    H0, W0 = gray_u8.shape
    s = min(1.0, float(th["work_long_side"]) / max(H0, W0))
    g = gray_u8
    if s < 1.0:
        size = (max(1, round(W0 * s)), max(1, round(H0 * s)))
        g = cv2.resize(gray_u8, size, interpolation=cv2.INTER_AREA)
    H, W = g.shape
    z = zone.astype(bool, copy=False)
    if z.shape != (H, W):
        z = cv2.resize(zone.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST) > 0
    grad = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    strong = (grad >= float(th["gradient_threshold"])).astype(np.uint8)
    # Leave the outermost rim to the border test: a frame is not text.
    rim = max(2, round(0.01 * max(H, W)))
    strong[:rim] = 0
    strong[-rim:] = 0
    strong[:, :rim] = 0
    strong[:, -rim:] = 0
    bw = strong & ~z
    empty = TextFinding(0.0, 0, 0, [], np.zeros((H0, W0), np.float32))
    # Components of the whole gradient map, kept when at most ``max_inside`` of their pixels lie
    # in the product zone: a glyph of text drawn across the product's outline stays whole, while
    # print on the product (all inside) is left out.
    n, lab, st, cen = cv2.connectedComponentsWithStats(strong, connectivity=8)
    if n <= 1:
        return empty
    inside = np.bincount(lab[z], minlength=n)  # zone pixels of each component
    in_frac = inside[1:] / np.maximum(st[1:, cv2.CC_STAT_AREA], 1)
    hmin = float(th["char_min_h_frac"]) * H
    hmax = float(th["char_max_h_frac"]) * H
    ww = st[1:, cv2.CC_STAT_WIDTH].astype(np.float64)
    hh = st[1:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    area = st[1:, cv2.CC_STAT_AREA].astype(np.float64)
    fill = area / np.maximum(ww * hh, 1)
    # Up to 8 x as wide as tall: bold glyphs of a word often merge into one component.
    is_char = ((hh >= max(hmin, 4)) & (hh <= hmax) & (ww <= 8.0 * hh) & (ww >= 0.08 * hh)
               & (fill >= 0.12) & (fill <= 0.95))
    out_c = in_frac <= float(th["max_inside"])
    if not (is_char & out_c).any():
        return empty
    idx = np.nonzero(is_char)[0]
    if len(idx) > 1500:  # a texture, not text: keep the cost bounded, glyphs outside first
        idx = idx[np.lexsort((-area[idx], ~out_c[idx]))[:1500]]
    x0 = st[1:, cv2.CC_STAT_LEFT][idx].astype(np.float64)
    y0 = st[1:, cv2.CC_STAT_TOP][idx].astype(np.float64)
    cx, cy = cen[1:][idx, 0], cen[1:][idx, 1]
    groups = _union_find_groups(cx, cy, hh[idx], float(th["link"]))
    # A busy scene (clutter around the product) makes word-like groups by chance: ask more.
    n_out = z.size - np.count_nonzero(z)
    busy = float(np.count_nonzero(bw) / n_out) if n_out else 0.0  # bw is 0 inside the zone
    min_chars = int(th["min_chars"]) if busy <= float(th["busy_density"]) \
        else int(th["min_chars_busy"])
    boxes = []
    n_chars = 0
    tmap = np.zeros((H, W), np.float32)
    for gid in np.unique(groups):
        members = np.nonzero(groups == gid)[0]
        # Bold glyphs touch and merge into one component: count glyphs by width.
        glyphs = int(np.clip(np.round(ww[idx][members] / (0.7 * hh[idx][members])), 1, 8).sum())
        if glyphs < min_chars:
            continue
        # Print on the product has all its glyphs in the product zone; added text lies outside
        # it, or runs across the product's outline with part of its glyphs on the backdrop.
        if out_c[idx][members].mean() < float(th["word_min_outside"]):
            continue
        if len(members) == 1 and _component_holes(lab, idx[members[0]] + 1, st) < 2:
            continue  # one long blob without the letters' counters: a stripe or a grain line
        bx0 = x0[members].min()
        by0 = y0[members].min()
        bx1 = (x0[members] + ww[idx][members]).max()
        by1 = (y0[members] + hh[idx][members]).max()
        # Text is a row (or a tilted row) of glyphs: a group's box is wider or taller than one
        # glyph, and its glyph heights agree.
        hm = hh[idx][members]
        if bx1 - bx0 < 1.5 * np.median(hm) and glyphs < 5:
            continue  # a column of blobs, not a row of letters
        if np.std(hm) > 0.5 * np.median(hm):
            continue
        # Added text sits on a plain patch (a studio background, a banner, a badge); in a
        # cluttered scene "words" of similar blobs are mostly texture, so there a word also needs
        # a quiet ring around it.
        if busy > float(th["busy_density"]):
            pad = max(2, int(round(float(th["ring_frac"]) * np.median(hm))))
            rx0, ry0 = max(0, int(bx0) - pad), max(0, int(by0) - pad)
            rx1, ry1 = min(W, int(np.ceil(bx1)) + pad), min(H, int(np.ceil(by1)) + pad)
            outer = bw[ry0:ry1, rx0:rx1].sum(dtype=np.int64)
            inner = bw[int(by0):int(np.ceil(by1)), int(bx0):int(np.ceil(bx1))].sum(
                dtype=np.int64)
            ring_area = (ry1 - ry0) * (rx1 - rx0) - (np.ceil(by1) - by0) * (np.ceil(bx1) - bx0)
            if ring_area > 0 and (outer - inner) / ring_area > float(th["ring_max_density"]):
                continue
        n_chars += glyphs
        boxes.append((int(bx0 / s), int(by0 / s), int(np.ceil(bx1 / s)), int(np.ceil(by1 / s))))
        tmap[int(by0):int(np.ceil(by1)), int(bx0):int(np.ceil(bx1))] = 1.0
    if not boxes:
        empty.busy = busy
        return empty
    area_frac = float(tmap.mean())
    if s < 1.0:
        tmap = cv2.resize(tmap, (W0, H0), interpolation=cv2.INTER_NEAREST)
    return TextFinding(area_frac, len(boxes), n_chars, boxes, tmap, busy)
