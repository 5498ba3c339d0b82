"""How busy the photo is around the product: props, other objects, a patterned background.

Measured outside the product (the mask grown by ``grow_frac`` of the long side; the frame's outer
band when the product covers almost everything), on a copy at most ``work_long_side`` px long so
the numbers do not depend on the upload's size:

- ``edge_density_bg``: share of background pixels on a Canny edge (Canny, "A computational
  approach to edge detection", IEEE TPAMI 8(6), 1986) after a Gaussian blur of ``blur_sigma``
  px, with fixed hysteresis thresholds so a plain, noisy backdrop gives few edges.
- ``color_entropy_bg``: Shannon entropy (bits) of the background's colour histogram with
  ``color_bins`` levels per RGB channel; ``color_complexity_bg``: the number of those colour bins
  needed to cover ``color_cover`` of the background (1 for a plain backdrop).
- ``salient_components``: separate parts of the product mask of at least ``component_rel`` of
  the largest and ``component_abs`` of the frame (several objects, or props the mask picked up).
- ``other_objects``: props. A salient-object mask takes every object on a plain backdrop as
  "the product", so a briefcase and a cushion beside a shoe leave the background empty. Which
  part is the product is decided first: the mask part with the largest area weighted by
  centrality, ``area * (1 - centre_weight * d)`` with ``d`` the centroid's distance from the
  frame centre over the half-diagonal (a seller centres and fills with the product). Every other
  part of at least ``prop_min_rel`` of its area and ``prop_min_abs`` of the frame is another
  object, unless it looks like a piece of the same product: a colour histogram (``prop_bins``
  levels per RGB channel) intersecting the product's by at least ``piece_min_similarity``
  (Swain & Ballard, "Color indexing", IJCV 7(1), 1991) and either a similar size and shape (area
  ratio >= ``pair_min_area_ratio``, bounding-box aspect within ``pair_max_aspect_ratio`` and
  silhouettes, scaled to one box, overlapping by IoU >= ``pair_min_shape_iou``, the second one
  mirrored or not: a pair of shoes, a set) or small and close to the product (a strap, a tag: at
  most ``piece_max_rel`` of its area, within ``piece_max_gap`` of the long side). A part that
  lies inside the product's convex hull (``piece_min_inside`` of it: a pocket or zip the mask
  cut out) or that continues the product out of the frame (touching a frame edge the product
  touches, within ``edge_piece_max_gap``: a model's arm in a close-up) is the product, whatever its
  colour (``part_of_product``), and so is a cap or lid straight above or below it within its
  width (at most ``lid_max_rel`` of its area, within ``lid_max_gap`` of the long side:
  ``stacked_on_product``), and so is its reflection on a glossy surface: a part under it whose
  rows are the product's rows mirrored and faded toward the backdrop
  (``reflection_of_product``).

Graphics pasted on the photo (badges, banners, inset pictures: the overlays check's finders,
:func:`analyzer.quality.overlays.graphics`, run once per photo) are left out: the overlays check
reports them, and a "SALE" sticker counted again as "1 other object beside the product" told the
seller to remove a prop that is not there.

When the seller's title names a set (:func:`analyzer.quality.title.names_a_set`: a kit, a
bundle, a "3-pack"; ``ImageContext.title_names_set``), the
other objects are counted as pieces of the product (``title_names_set`` = 1).

Score: ``100 * (w_edges * r(edge_density_bg) + w_color * r(color_entropy_bg) + w_parts *
r(salient_components))`` with linear ramps ``r`` between the good/bad values in thresholds.yaml,
then at most ``props_score_one - props_score_step * (other_objects - 1)`` when there are props.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from analyzer.codes import MapKind
from analyzer.quality.background import background_region, ramp
from analyzer.quality.context import ImageContext
from analyzer.quality.overlays import graphics
from analyzer.quality.registry import register
from analyzer.results import CheckResult, Flag
from analyzer.vision.backdrop import band, band_width, plain_band_color
from analyzer.vision.mask_ops import (
    component_areas,
    convex_hull,
    large_components,
    select_components,
)
from analyzer.vision.shrink import shrink_area

NAME = "clutter"


def to_work_size(img: np.ndarray, long_side: int, nearest: bool = False,
                 fast: bool = False) -> np.ndarray:
    """``img`` shrunk (never enlarged) so its long side is at most ``long_side``: nearest
    neighbour, or area averaging (OpenCV's; ``fast``: :func:`analyzer.vision.shrink.shrink_area`'s
    fast one, for the clutter measures)."""
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    if s >= 1.0:
        return img
    size = (max(1, round(w * s)), max(1, round(h * s)))
    if nearest:
        return cv2.resize(img, size, interpolation=cv2.INTER_NEAREST)
    if fast:
        return shrink_area(img, size, fast=True)
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def edge_map(rgb: np.ndarray, blur_sigma: float = 1.0, low: float = 40.0,
             high: float = 100.0) -> np.ndarray:
    """Canny edges (bool) of the grey image after a Gaussian blur of ``blur_sigma`` px."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if blur_sigma > 0:
        gray = cv2.GaussianBlur(gray, (0, 0), blur_sigma)
    return cv2.Canny(gray, low, high, L2gradient=True) > 0


def color_stats(rgb: np.ndarray, region: np.ndarray, bins: int = 8,
                cover: float = 0.9) -> tuple[float, float]:
    """(entropy in bits, bins covering ``cover`` of the pixels) of the region's colours."""
    n = int(np.count_nonzero(region))
    if n == 0:
        return 0.0, 0.0
    # OpenCV's uniform bins over [0, 256) are floor(v * bins / 256), the same levels as
    # quantising each channel, without copying the region's pixels out first.
    counts = cv2.calcHist([np.ascontiguousarray(rgb)], [0, 1, 2], region.astype(np.uint8),
                          [bins] * 3, [0, 256] * 3).ravel().astype(np.float64)
    p = counts[counts > 0] / n
    entropy = float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no "-0.0"
    sorted_p = np.sort(p)[::-1]
    n_cover = int(np.searchsorted(np.cumsum(sorted_p), cover - 1e-9) + 1)
    return entropy, float(n_cover)


def count_components(mask: np.ndarray, rel: float = 0.1, abs_frac: float = 0.005) -> int:
    """Separate parts of ``mask`` at least ``rel`` of the largest and ``abs_frac`` of the frame
    (8-connected; the areas by :func:`component_areas`, the same as OpenCV's statistics at a
    fraction of their cost: 0.6-0.9 ms a photo less)."""
    n, _, areas = component_areas(mask)
    if n <= 1:
        return 0
    keep_min = max(float(areas.max()) * rel, abs_frac * mask.size)
    return int((areas >= keep_min).sum())


def _hist(rgb: np.ndarray, region: np.ndarray, bins: int) -> np.ndarray:
    h = cv2.calcHist([np.ascontiguousarray(rgb)], [0, 1, 2], region.astype(np.uint8),
                     [bins] * 3, [0, 256] * 3).ravel()
    return h / max(float(h.sum()), 1.0)


def _shape_iou(a: np.ndarray, sa: np.ndarray, b: np.ndarray, sb: np.ndarray,
               side: int = 32) -> float:
    """IoU of two parts' silhouettes, each scaled to a ``side`` x ``side`` box; the better of
    ``b`` as is and mirrored (the left and the right shoe)."""
    def norm(m: np.ndarray, st: np.ndarray) -> np.ndarray:
        x, y, w, h = (int(v) for v in st[:4])
        crop = m[y:y + h, x:x + w].astype(np.uint8)
        return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA) > 0

    na, nb = norm(a, sa), norm(b, sb)
    best = 0.0
    for cand in (nb, nb[:, ::-1]):
        union = np.count_nonzero(na | cand)
        best = max(best, np.count_nonzero(na & cand) / union if union else 0.0)
    return float(best)


def _frame_edges(stat: np.ndarray, h: int, w: int) -> set[str]:
    """Which frame edges a part's bounding box (x, y, w, h) touches."""
    x, y, bw, bh = (int(v) for v in stat[:4])
    return {e for e, on in (("left", x <= 0), ("top", y <= 0), ("right", x + bw >= w),
                            ("bottom", y + bh >= h)) if on}


def part_of_product(region: np.ndarray, stat: np.ndarray, hull: np.ndarray,
                    main_edges: set[str], gap: float, gap_max: float, h: int, w: int,
                    min_inside: float) -> bool:
    """A mask part that is the product itself, split off by the mask, whatever its colour:

    - at least ``min_inside`` of it inside the product's convex hull (a pocket, a zip, a logo
      the mask cut out of a garment; a prop beside the product lies outside its hull, and one
      behind or over it touches it and is one part with it);
    - or touching a frame edge that the product touches too, within ``gap_max`` of it: the
      same thing continuing out of the frame (a model's arm or a sleeve cut by the crop of a
      close-up; a product a seller centres with a margin never touches the frame).
    """
    n = int(np.count_nonzero(region))
    if n and np.count_nonzero(region & hull) >= min_inside * n:
        return True
    return gap <= gap_max and bool(main_edges & _frame_edges(stat, h, w))


def stacked_on_product(stat: np.ndarray, main_stat: np.ndarray, area_rel: float,
                       gap_max: float, max_rel: float) -> bool:
    """A cap, a lid or a stopper the mask split off the product, whatever its colour: a part
    straight above or below the product within its width (its horizontal extent inside the
    product's), at most ``max_rel`` of its area, at most ``gap_max`` px from it. A bottle's
    white shoulder, as white as the backdrop, cuts its cap off in both masks (two yoghurt
    bottles of the store split were called cluttered so); a prop stands beside the product,
    its extent outside the product's."""
    x, y, w, h = (int(v) for v in stat[:4])
    mx, my, mw, mh = (int(v) for v in main_stat[:4])
    if area_rel > max_rel or x < mx or x + w > mx + mw:
        return False
    gap = my - (y + h) if y + h <= my else y - (my + mh)
    return 0 <= gap <= gap_max


def reflection_of_product(rgb: np.ndarray, labels: np.ndarray, main: int, part: int,
                          stat: np.ndarray, main_stat: np.ndarray, backdrop: np.ndarray,
                          gap_max: float, min_explained: float, max_fade: float) -> bool:
    """The product's mirror image on a glossy surface, fading toward the backdrop: a part
    below the product, its horizontal extent inside the product's box, at most ``gap_max`` px
    under the product's pixels in its columns, whose rows are product rows mirrored about a
    line between the two, blended with the backdrop at an opacity that falls with the distance
    (``main`` and ``part`` are the two labels).

    With ``D = b - I`` the pixels' difference from the backdrop colour ``b`` (``backdrop``, RGB:
    the frame's outer band, not the pixels round the part, which hold the reflection's faint
    tails), a reflection row is ``D_r = a_y * D_m`` with ``D_m`` the mirrored product row and
    ``a_y`` the surface's opacity there. Per row ``a_y`` is the least-squares fit in [0, 1],
    over the part's columns and a quarter of its width either side (so its outline must follow
    the mirrored product's, not only its colours); for the best mirror line (half-pixel steps)
    the fit must explain at least ``min_explained`` of ``sum D_r^2`` (rows with no product row
    to mirror explain nothing), and the opacity must fade: its mean over the part's lowest third
    at most ``max_fade`` of its mean over the top third. A grey box under a black product
    matches the product's colours row by row at one constant opacity; it stays a prop. The part
    may start well under the product: a reflection's faint first rows (a thin cord, a soft edge) are
    often left out of the mask.
    """
    x, y, w, h = (int(v) for v in stat[:4])
    mx, my, mw, mh = (int(v) for v in main_stat[:4])
    if x < mx or x + w > mx + mw or y <= my or h < 3:
        return False
    # the product's lowest row above the part, in the part's columns (a leg's foot: the other
    # leg's reflection may have joined the product and lengthened its box)
    above = np.flatnonzero((labels[my:y, x:x + w] == main).any(axis=1))
    if above.size == 0:
        return False
    bottom = my + int(above[-1]) + 1  # the first row under the product there
    if y - bottom > gap_max:
        return False
    pad = max(2, w // 4)
    x0, x1 = max(mx, x - pad), min(mx + mw, x + w + pad)
    lab = labels[y:y + h, x0:x1]
    keep = ((lab == 0) | (lab == part))[..., None]  # other objects' pixels are left out
    box = rgb[y:y + h, x0:x1].astype(np.float32)
    b = np.asarray(backdrop, np.float32)
    dr = ((b - box) * keep).reshape(h, -1)
    total = float((dr * dr).sum())
    if total <= 0:
        return False
    rows = np.arange(y, y + h)
    best, fade = 0.0, np.zeros(h)
    # The mirror line is the surface the product stands on: under the product's lowest pixel
    # in the part's columns (a hand hanging by a model's side is mirrored about the floor under
    # the feet), and above the part, at most half-way to it when its first row is visible.
    for k in range(2 * bottom - 1, bottom + y):  # twice the mirror line's row
        src = k - rows
        ok = src >= my  # rows below the product's mirror image have no source
        if not ok.any():
            break
        dm = np.zeros((h, x1 - x0, 3), np.float32)
        dm[ok] = (b - rgb[src[ok], x0:x1].astype(np.float32)) * keep[ok]
        dm = dm.reshape(h, -1)
        mm = (dm * dm).sum(axis=1)
        a = np.where(mm > 0, (dr * dm).sum(axis=1) / np.maximum(mm, 1e-6), 0.0)
        a = np.clip(a, 0.0, 1.0)  # a faded copy: never darker than the product itself
        resid = dr - a[:, None] * dm
        explained = 1.0 - float((resid * resid).sum()) / total
        if explained > best:
            best, fade = explained, a
    third = max(1, h // 3)
    top, low = float(fade[:third].mean()), float(fade[-third:].mean())
    return best >= min_explained and low <= max_fade * top


def other_objects(rgb: np.ndarray, mask: np.ndarray, th: dict) -> tuple[int, int]:
    """(props, pieces): mask parts that are other objects, and parts that look like more pieces
    of the product itself (see the module docstring)."""
    n, labels, st, cent = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 2:
        return 0, 0
    h, w = mask.shape
    areas = st[1:, cv2.CC_STAT_AREA].astype(np.float64)
    d = np.hypot((cent[1:, 0] - w / 2) / (w / 2), (cent[1:, 1] - h / 2) / (h / 2)) / np.sqrt(2)
    weight = areas * (1.0 - float(th["centre_weight"]) * np.clip(d, 0, 1))
    main = int(np.argmax(weight))
    keep_min = max(areas[main] * float(th["prop_min_rel"]), float(th["prop_min_abs"]) * h * w)
    cands = [i for i in range(len(areas)) if i != main and areas[i] >= keep_min]
    if not cands:
        return 0, 0
    bins = int(th["prop_bins"])
    # the product's colours from its own pixels; histograms on the small work copy are cheap
    main_hist = _hist(rgb, labels == main + 1, bins)
    mx, my, mw, mh = st[main + 1, :4]
    main_aspect = mh / max(mw, 1)
    # distance of every pixel to the product (for "close to it")
    dist = cv2.distanceTransform((labels != main + 1).astype(np.uint8), cv2.DIST_L2, 3)
    gap_max = float(th["piece_max_gap"]) * max(h, w)
    hull = convex_hull(labels == main + 1)
    main_edges = _frame_edges(st[main + 1], h, w)
    backdrop = np.median(band(rgb, band_width(rgb.shape, 0.03), corners_once=True), axis=0)
    props = pieces = 0
    for i in cands:
        region = labels == i + 1
        if part_of_product(region, st[i + 1], hull, main_edges, float(dist[region].min()),
                           float(th["edge_piece_max_gap"]) * max(h, w), h, w,
                           float(th["piece_min_inside"])) or stacked_on_product(
                st[i + 1], st[main + 1], areas[i] / areas[main],
                float(th["lid_max_gap"]) * max(h, w), float(th["lid_max_rel"])
        ) or reflection_of_product(rgb, labels, main + 1, i + 1, st[i + 1], st[main + 1],
                                   backdrop, float(th["reflection_max_gap"]) * max(h, w),
                                   float(th["reflection_min_explained"]),
                                   float(th["reflection_max_fade"])):
            pieces += 1
            continue
        sim = float(np.minimum(main_hist, _hist(rgb, region, bins)).sum())
        x, y, cw, ch = st[i + 1, :4]
        ar = (ch / max(cw, 1)) / max(main_aspect, 1e-6)
        ar = max(ar, 1.0 / max(ar, 1e-6))
        same_size = (areas[i] / areas[main] >= float(th["pair_min_area_ratio"])
                     and ar <= float(th["pair_max_aspect_ratio"])
                     and _shape_iou(labels == main + 1, st[main + 1], region, st[i + 1])
                     >= float(th["pair_min_shape_iou"]))
        close = (areas[i] / areas[main] <= float(th["piece_max_rel"])
                 and float(dist[region].min()) <= gap_max)
        if sim >= float(th["piece_min_similarity"]) and (same_size or close):
            pieces += 1
        else:
            props += 1
    return props, pieces


def backdrop_objects(rgb: np.ndarray, th: dict) -> np.ndarray | None:
    """Pixels that stand off a plain backdrop, or None when the backdrop is not plain.

    The backdrop's colour is the median of the frame's outer band; it is plain when at least
    ``backdrop_min_share`` of that band lies within ``backdrop_de`` (Delta E 1976) of it. Then
    every pixel more than ``object_de`` from it is an object (a saliency mask may keep only the
    most salient one), opened by a 3 x 3 square so JPEG ringing and dust do not count.
    """
    # OpenCV's 8-bit Lab holds L * 255 / 100: scaled back to Delta E units
    lab8 = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    scale = np.array([100.0 / 255.0, 1.0, 1.0], np.float32)
    rim = band(lab8, band_width(lab8.shape, 0.03), corners_once=True).astype(np.float32) * scale
    ref = plain_band_color(rim, float(th["backdrop_de"]), float(th["backdrop_min_share"]))
    if ref is None:
        return None
    # Delta E 1976 to the backdrop through one table per channel: an 8-bit channel has 256
    # values, so each one's squared difference is computed once, not once a pixel (the same
    # float32 products and sum, in the same order, as delta_e76 on the scaled image).
    v = np.arange(256, dtype=np.float32)[:, None] * scale[None] - ref.astype(np.float32)[None]
    sq = cv2.LUT(lab8, (v * v).reshape(1, 256, 3))
    de = np.sqrt(sq[..., 0] + sq[..., 1] + sq[..., 2])
    fg = (de > float(th["object_de"])).astype(np.uint8)
    return cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0


def measure_clutter(rgb: np.ndarray, mask: np.ndarray, th: dict,
                    pasted_boxes: Sequence[tuple[int, int, int, int]] = ()
                    ) -> tuple[dict[str, float], np.ndarray]:
    """The clutter measures (see the module docstring) and the edge map at work size.
    ``pasted_boxes``: boxes (px of ``rgb``) of graphics pasted on the photo (badges, banners,
    inset pictures), left out of the objects and of the background: they are overlays, reported
    as such by the overlays check, not props or a busy backdrop."""
    small = to_work_size(rgb, int(th["work_long_side"]), fast=True)
    small_mask = to_work_size(mask.astype(np.uint8), int(th["work_long_side"]), nearest=True) > 0
    region = background_region(small_mask, float(th["grow_frac"]), float(th["min_bg_fraction"]),
                               float(th["border_frac"]))
    pasted = _boxes_mask(pasted_boxes, rgb.shape[:2], small.shape[:2])
    if pasted is not None:
        small_mask = _without_pasted(small_mask, pasted)
        region &= ~pasted
    edges = edge_map(small, float(th["blur_sigma"]), float(th["canny_low"]),
                     float(th["canny_high"]))
    entropy, n_colors = color_stats(small, region, int(th["color_bins"]),
                                    float(th["color_cover"]))
    parts = large_components(small_mask, 0.0, 0.0) if small_mask.any() else small_mask
    objects = parts
    fg = backdrop_objects(small, th)
    if fg is not None:
        objects = parts | (fg if pasted is None else _without_pasted(fg, pasted))
    n_props, n_pieces = other_objects(small, objects, th) if objects.any() else (0, 0)
    m = {
        "edge_density_bg": float(edges[region].mean()) if region.any() else 0.0,
        "edge_density_all": float(edges.mean()),
        "color_entropy_bg": entropy,
        "color_complexity_bg": n_colors,
        "salient_components": float(count_components(parts, float(th["component_rel"]),
                                                     float(th["component_abs"]))),
        "background_fraction": float(region.mean()),
        "other_objects": float(n_props),
        "product_pieces": float(n_pieces + 1 if parts.any() else 0),
    }
    return m, edges


def _boxes_mask(boxes: Sequence[tuple[int, int, int, int]], shape: tuple[int, int],
                small: tuple[int, int]) -> np.ndarray | None:
    """The ``boxes`` (px of an image of ``shape``) as a mask at the ``small`` size, grown by a
    pixel (a plate's antialiased rim), or None when there are none."""
    if not boxes:
        return None
    sy, sx = small[0] / shape[0], small[1] / shape[1]
    out = np.zeros(small, bool)
    for x0, y0, x1, y1 in boxes:
        out[max(0, int(y0 * sy) - 1):int(np.ceil(y1 * sy)) + 1,
            max(0, int(x0 * sx) - 1):int(np.ceil(x1 * sx)) + 1] = True
    return out


def _without_pasted(mask: np.ndarray, pasted: np.ndarray, share: float = 0.5) -> np.ndarray:
    """``mask`` less its parts (8-connected) that lie mostly (``share`` of their pixels) inside
    ``pasted``: a sticker the mask took whole goes, a product a box only grazes stays whole
    (cutting the box out of it could split it into "objects")."""
    n, labels, areas = component_areas(mask)
    if n <= 1:
        return mask
    keep = np.zeros(n, bool)
    keep[1:] = np.bincount(labels[pasted], minlength=n)[1:] < share * areas
    return select_components(labels, keep)


def score_clutter(m: dict[str, float], th: dict) -> float:
    """0-100 from the measures (weights and ramps in thresholds.yaml ``checks.clutter``)."""
    w = th["weights"]
    parts = {
        "edges": ramp(m["edge_density_bg"], th["edges_good"], th["edges_bad"]),
        "color": ramp(m["color_entropy_bg"], th["entropy_good"], th["entropy_bad"]),
        "parts": ramp(m["salient_components"], th["components_good"], th["components_bad"]),
    }
    total = sum(float(w[k]) for k in parts)
    score = float(100.0 * sum(float(w[k]) * v for k, v in parts.items()) / total)
    n_props = m.get("other_objects", 0.0)
    if "other_objects" in m:
        # pieces of one product (a pair) are not several objects: only props add to the count
        parts["parts"] = ramp(1.0 + n_props, th["components_good"], th["components_bad"])
        score = float(100.0 * sum(float(w[k]) * v for k, v in parts.items()) / total)
    if n_props >= 1:
        cap = float(th["props_score_one"]) - float(th["props_score_step"]) * (n_props - 1)
        score = min(score, max(0.0, cap))
    return score


def flag_clutter(ctx: ImageContext, m: dict[str, float], score: float, th: dict) -> list[Flag]:
    """CLUTTERED_BACKGROUND when the score is below ``score_flag``."""
    if score >= float(th["score_flag"]):
        return []
    objects = (f"; {m['salient_components']:.0f} separate objects stand out"
               if m["salient_components"] > float(th["components_good"]) else "")
    if m.get("other_objects", 0.0) >= 1:
        n_o = int(m["other_objects"])
        objects = f"; {n_o} other object{'s' if n_o > 1 else ''} beside the product"
    n = int(m.get("other_objects", 0.0))
    if n >= 1 and score_clutter({**m, "other_objects": 0.0}, th) >= float(th["score_flag"]):
        # a plain backdrop with other objects on it: say so, not "busy background"
        return [ctx.flag(
            "CLUTTERED_BACKGROUND",
            f"{n} other object{'s' if n > 1 else ''} beside the product (not the same item: "
            "different colours, size or shape); a main image shows the product alone",
            "Remove props, hands and other items and shoot the product alone on a plain, "
            "light backdrop. If they are all sold together, give the product's title (a set, "
            "kit or bundle): then they count as the product.", NAME)]
    return [ctx.flag(
        "CLUTTERED_BACKGROUND",
        f"busy background: {m['edge_density_bg']:.1%} of it is edges and its colours spread "
        f"over {m['color_complexity_bg']:.0f} colour groups (a plain backdrop: under "
        f"{float(th['edges_good']):.0%} and 1-3 groups){objects}",
        "Remove props, hands and other items and shoot the product alone on a plain, "
        "light backdrop.", NAME)]


@register(NAME, maps=(MapKind.EDGES,))
def check(ctx: ImageContext) -> CheckResult:
    th = ctx.thresholds(NAME)
    m, edges = measure_clutter(ctx.rgb, ctx.mask_bool, th, graphics(ctx).boxes())
    m["title_names_set"] = 0.0
    if ctx.title_names_set:
        # the seller sells them together: the objects beside the product are the product
        m["product_pieces"] += m["other_objects"]
        m["other_objects"] = 0.0
        m["title_names_set"] = 1.0
    # Declared cover art (ImageContext.cover_art): the cover's design is the product's print,
    # with no backdrop around it to hold props; measured, not judged.
    m["cover_art"] = float(ctx.cover_art)
    score = 100.0 if ctx.cover_art else score_clutter(m, th)
    flags = [] if ctx.cover_art else flag_clutter(ctx, m, score, th)
    h, w = ctx.rgb.shape[:2]
    if edges.shape != (h, w):
        edges = cv2.resize(edges.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return CheckResult(name=NAME, score=score, metrics=m, flags=flags,
                       maps={MapKind.EDGES: edges})
