"""Added text, watermarks, badges/logos, inset pictures and borders on a main image.

Text, watermarks and badges: a classical, model-free text detector. Character candidates are the
connected components of the morphological gradient (dilation minus erosion; strokes of text
drawn on a plain background have a strong one on both sides; Soille, "Morphological Image
Analysis", 2003, ch. 3) above ``gradient_threshold``, *outside the product*: the product mask's
main parts grown by ``product_dilate_frac``. Print on the product itself (a label, a logo on a
shirt, a grocery package) is part of the product and is not an overlay, which is why the mask
matters. A saliency mask often takes overlaid text for product, so on a plain backdrop (the
border's colour on at least ``backdrop_min_share`` of it) the backdrop connected to the border is
taken off the mask first (:func:`backdrop`): the white between glyphs is not product. A glyph
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

Badges (:func:`find_badges`): a round or rounded plate of one flat colour with glyph-sized marks
inside, found wherever it sits, since a saliency mask takes a sticker pasted over a shirt for
product; its box counts as text area.

Borders: on each side, a run of uniform rows (L* std along the row <= ``border_row_std``) of the
same colour, ``border_min_frac`` to ``border_max_frac`` of the side deep, whose inner neighbour row
differs from it (Delta E > ``border_delta_e``) along at least ``border_inner_fraction`` of its
length: a frame ends in a straight line, a product margin does not. Three or four sides with a
frame of one colour and similar widths make a BORDER.

Insets (:func:`find_insets`): a second picture pasted into a corner (a detail shot, a lifestyle
photo), found as a rectangle outlined by long straight edges, sitting on the backdrop and not a
part of the product. ``INSET_IMAGE``.

Score: 100 minus the text penalty (linear in ``text_area`` from 0 to ``text_area_bad``, at least 50
once text is flagged), capped at ``score_with_border`` when a border is found and at
``score_with_inset`` when an inset is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.codes import MapKind
from analyzer.quality.context import ImageContext
from analyzer.quality.registry import register
from analyzer.results import CheckResult, Flag
from analyzer.vision.backdrop import connected_to_border, plain_backdrop_color
from analyzer.vision.mask_ops import component_areas, select_components

NAME = "overlays"


@dataclass
class TextFinding:
    text_area: float          # fraction of the frame covered by word boxes
    n_words: int
    n_chars: int
    boxes: list[tuple[int, int, int, int]]  # word boxes, working px (x0, y0, x1, y1)
    map: np.ndarray           # float32 working size, 1 inside word boxes
    busy: float = 0.0         # gradient density outside the product


@dataclass
class BorderFinding:
    sides: int                # sides with a frame
    width_px: float           # median frame width, working px
    color: tuple[int, int, int]
    found: bool


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
    main = select_components(lab, keep).view(np.uint8)
    # Dilation by a disc, in time independent of its radius.
    r = max(1.0, dilate_frac * max(h, w))
    return cv2.distanceTransform(1 - main, cv2.DIST_L2, 3) <= r


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
    return TextFinding(float(tmap.mean()), len(boxes), text.n_chars, boxes, tmap, text.busy)


def _side_frame(lab_lines: np.ndarray, th: dict) -> tuple[int, np.ndarray] | None:
    """Frame depth and colour on one side; ``lab_lines`` is (depth, length, 3), outside first."""
    depth_max = lab_lines.shape[0]
    row_std = float(th["border_row_std"])
    # Row statistics in growing chunks, only as deep as the uniform run goes: most sides stop
    # at the first row (a photo's edge is not uniform), and a frame is a few rows deep.
    stds: list[np.ndarray] = []
    means: list[np.ndarray] = []
    k = 0
    done = 0
    chunk = 4
    while True:
        if k == done:
            if done >= depth_max:
                break
            rows = lab_lines[done:done + chunk]
            stds.append(rows[..., 0].std(axis=1))
            means.append(rows.mean(axis=1))
            done += len(rows)
            chunk *= 2
            std = np.concatenate(stds)
            mean = np.concatenate(means)
            if std[0] > row_std:
                return None
        if not (std[k] <= row_std and np.linalg.norm(mean[k] - mean[0]) < 6.0):
            break
        k += 1
    if k >= depth_max:
        return None
    # The frame's inner edge is resampled over a row or two: look a few rows further in.
    frac = max(float((np.linalg.norm(lab_lines[j] - mean[0], axis=1)
                      > float(th["border_delta_e"])).mean())
               for j in range(k, min(k + 4, depth_max)))
    if frac < float(th["border_inner_fraction"]):
        return None
    return k, mean[:k].mean(axis=0)


def find_border(lab: np.ndarray, rgb: np.ndarray, th: dict) -> BorderFinding:
    """An added frame: uniform bands of one colour along 3-4 sides, ending in a straight line."""
    h, w = lab.shape[:2]
    lo = float(th["border_min_frac"])
    hi = float(th["border_max_frac"])
    dh, dw = max(2, int(hi * h)), max(2, int(hi * w))
    # Every second pixel along each line is plenty to tell a uniform line from a busy one.
    # Views, not copies: _side_frame reads only the rows it needs.
    sides = {
        "top": lab[:dh, ::2],
        "bottom": lab[::-1][:dh, ::2],
        "left": lab[::2, :dw].transpose(1, 0, 2),
        "right": lab[::2, ::-1][:, :dw].transpose(1, 0, 2),
    }
    found = {}
    for name, lines in sides.items():
        r = _side_frame(lines, th)
        if r is None:
            continue
        k, col = r
        span = h if name in ("top", "bottom") else w
        if k >= max(1, lo * span):
            found[name] = (k, col)
    none = BorderFinding(len(found), 0.0, (0, 0, 0), False)
    if len(found) < 3:
        return none
    cols = np.array([c for _, c in found.values()])
    widths = np.array([k for k, _ in found.values()], dtype=np.float64)
    if np.linalg.norm(cols - cols.mean(axis=0), axis=1).max() > float(th["border_delta_e"]):
        return none
    if widths.max() > 2.0 * widths.min() + 2:
        return none
    k0 = int(widths.min())
    edge_rgb = np.concatenate([rgb[:k0].reshape(-1, 3), rgb[:, :k0].reshape(-1, 3)])
    color = tuple(int(v) for v in np.median(edge_rgb, axis=0))
    return BorderFinding(len(found), float(np.median(widths)), color, True)  # type: ignore[arg-type]


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


def score(text: TextFinding, border: BorderFinding, th: dict,
          inset: InsetFinding | None = None) -> float:
    s = 100.0 * (1.0 - min(1.0, text.text_area / float(th["text_area_bad"])))
    if text.text_area >= float(th["min_text_area"]):
        s = min(s, 50.0)
    if border.found:
        s = min(s, float(th["score_with_border"]))
    if inset is not None and inset.found:
        s = min(s, float(th["score_with_inset"]))
    return float(s)


def flags(ctx: ImageContext, text: TextFinding, border: BorderFinding, th: dict,
          inset: InsetFinding | None = None) -> list[Flag]:
    out = []
    rule = ctx.marketplace.rule("overlays")
    lab = ctx.marketplace.label
    rule_txt = {"forbidden": f"{lab} forbids text, logos and watermarks on the main image",
                "discouraged": f"{lab} discourages text and watermarks on product photos"}.get(
        str(rule.value) if rule else "", "marketplaces reject or demote main images with them")
    if text.text_area >= float(th["min_text_area"]):
        out.append(ctx.flag(
            "TEXT_OR_WATERMARK",
            f"found {text.n_words} text/logo area(s) ({text.n_chars} characters, "
            f"{100 * text.text_area:.1f}% of the image) outside the product; {rule_txt}",
            "Upload the photo without added text, badges, logos or watermarks (use the original "
            "export); put promotions in the listing text or in secondary images.", NAME))
    if border.found:
        frame_txt = (f"{lab} forbids added borders" if rule and rule.value == "forbidden"
                     else "borders make the product look smaller and off-brand in search grids")
        out.append(ctx.flag(
            "BORDER",
            f"the image has an added frame on {border.sides} sides (about {border.width_px:.0f} "
            f"px wide, colour RGB {border.color[0]},{border.color[1]},{border.color[2]}); "
            f"{frame_txt}",
            "Crop the frame off (or export without it) so the photo's own background reaches the "
            "edges.", NAME))
    if inset is not None and inset.found:
        # Only a rule that names insets is quoted as forbidding them (Amazon's does).
        inset_txt = (f"{lab} forbids inset images on the main image"
                     if rule and rule.value == "forbidden" and "inset" in (rule.note or "")
                     else "a picture-in-picture shrinks the product in search grids and is "
                          "not a photo of the product alone")
        out.append(ctx.flag(
            "INSET_IMAGE",
            f"found {len(inset.boxes)} inset picture(s) ({100 * inset.area:.0f}% of the image) "
            f"pasted into the photo; {inset_txt}",
            "Use the plain product photo as the main image and move the detail or lifestyle "
            "shot to its own secondary image.", NAME))
    return out


@register(NAME, maps=(MapKind.TEXT,))
def check(ctx: ImageContext) -> CheckResult:
    th = ctx.thresholds(NAME)
    mask = ctx.mask_bool_or_none
    h, w = ctx.gray.shape
    s = min(1.0, float(th["work_long_side"]) / max(h, w))
    shape = (max(1, round(h * s)), max(1, round(w * s)))
    lab_s = ctx.lab if s >= 1.0 else cv2.resize(ctx.lab, shape[::-1], interpolation=cv2.INTER_AREA)
    plain = backdrop(lab_s, shape, float(th["backdrop_de"]), float(th["backdrop_min_share"]))
    if mask is not None:
        m = mask if mask.shape == shape else cv2.resize(
            mask.astype(np.uint8), shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
        mask = m & ~plain
    zone = product_zone(mask, shape, float(th["product_min_component"]),
                        float(th["product_dilate_frac"]))
    gray_u8 = cv2.cvtColor(ctx.rgb, cv2.COLOR_RGB2GRAY)
    text = find_text(gray_u8, zone, th)
    badges = find_badges(lab_s, th)
    if badges:
        text = with_badges(text, badges, s)
    border = find_border(ctx.lab, ctx.rgb, th)
    inset = find_insets(gray_u8, ctx.mask_bool_or_none, plain, th)
    metrics = {
        "text_area": text.text_area,
        "n_words": float(text.n_words),
        "n_chars": float(text.n_chars),
        "busy": text.busy,
        "n_badges": float(len(badges)),
        "border_sides": float(border.sides),
        "border_width_px": border.width_px,
        "has_border": float(border.found),
        "product_zone_fraction": float(zone.mean()),
        "n_insets": float(len(inset.boxes)),
        "inset_area": inset.area,
    }
    # The dashboard's overlay shows insets with the text: both are things pasted on the photo.
    tmap = text.map
    if inset.found:
        tmap = tmap.copy()
        for x0, y0, x1, y1 in inset.boxes:
            tmap[y0:y1, x0:x1] = 1.0
    return CheckResult(name=NAME, score=score(text, border, th, inset), metrics=metrics,
                       flags=flags(ctx, text, border, th, inset), maps={MapKind.TEXT: tmap})
