"""Dimension lines drawn on the photo: a measurement arrow beside the product.

Marketplaces forbid graphics on the main image (marketplace-rules.md: Amazon "text, logos ...
must be the actual product, not a graphic", eBay "added ... marketing material"); a seller's
size arrows belong in a secondary image. With no label on them, neither the text finder (no
glyphs) nor the badge finder (no plate) nor the clutter check (a line is no object) sees them.

Measure (:func:`find_lines`), on the overlays' working copy: every part of the frame that is
neither the plain backdrop nor the product zone (``plain``, ``zone``: :mod:`.zone`) is a
candidate, read along three axes (horizontal, vertical, its principal axis by second-order
moments). Along an axis the line is the band of rows around the most common one
(:func:`_band_line`); the part is a drawn dimension line when, along its best axis,

- the band is at least ``line_min_len`` of the frame's long side long;
- it is unbroken (a pixel at ``line_min_cover`` of the positions along it) and thin (at most
  ``line_max_width`` of the long side across, and at least ``line_min_width_px`` px may always
  be: a 1 px stroke anti-aliased on a 198 px icon is 3 px): a cord, a strap or a shadow curves
  out of any one band;
- one end carries a mark, an arrowhead, a tick or an extension line: within ``line_end_frac``
  of the length from an end, the part spans at least ``line_end_ratio`` times the band's width
  (plus 2 px) across (a drawn rule ends in one; a product's thin straight part rarely does);
- it lies on the backdrop: at least ``line_min_plain`` of a 2 px ring around it is the
  plain backdrop or the product zone (a floor's seam runs between textures);
- and it lies beside the product, not in it and not across the frame: at most
  ``line_max_in_hull`` of it inside the product zone's convex hull (a seam or a printed rule
  of a blown-out garment or carton stands on white inside the product's outline), not from
  one edge of the frame to the other (a seam, a table's edge) and not along a frame edge it
  touches (the side of a card or a floor the frame cuts).

Lines drawn across the product itself are not searched (the product's own seams and edges are
lines too). Reference for the line test by moments and bins: the projection profiles of
document analysis (e.g. O'Gorman & Kasturi, "Document Image Analysis", IEEE CS Press 1995,
ch. 4). The values were chosen on the tune split (``scripts/choose_line_rule.py``, README).
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.vision.mask_ops import convex_hull, label_with_stats

Box = tuple[int, int, int, int]


def _band_line(u: np.ndarray, v: np.ndarray, th: dict) -> dict[str, float]:
    """The line along ``u`` in pixels given as (``u`` along an axis, ``v`` across it), rounded
    to px: the band of ``v`` around its most common value (the contiguous rows holding at least
    a third of that row's count), with its length along ``u``, its cover (share of the 1 px
    positions along its length holding a band pixel), its width (the band's rows) and its end
    marks (every pixel of the part, band or not, within ``line_end_frac`` of the band's ends:
    the widest extent across, less 2 px, over the width)."""
    v0 = int(v.min())
    hist = np.bincount(v - v0)
    mode = int(hist.argmax())
    lo = hi = mode
    floor = hist[mode] / 3.0
    while lo > 0 and hist[lo - 1] >= floor:
        lo -= 1
    while hi + 1 < len(hist) and hist[hi + 1] >= floor:
        hi += 1
    band = (v - v0 >= lo) & (v - v0 <= hi)
    ub = u[band]
    u_lo, u_hi = int(ub.min()), int(ub.max())
    n = u_hi - u_lo + 1
    cover = np.unique(ub).size / n
    k = max(2, round(float(th["line_end_frac"]) * n))
    width = float(hi - lo + 1)
    end = 0.0
    for a, b in ((u_lo, u_lo + k), (u_hi - k, u_hi)):
        sel = (u >= a) & (u <= b)
        if sel.any():
            end = max(end, float(v[sel].max() - v[sel].min() + 1))
    return {"length": float(n), "cover": float(cover), "width": width,
            "end": (end - 2.0) / max(width, 1.0)}


def line_features(ys: np.ndarray, xs: np.ndarray, long_side: int, th: dict
                  ) -> dict[str, float]:
    """What the line test reads on one part's pixel coordinates (:func:`_band_line`), along
    the best of three axes: horizontal, vertical and the part's principal axis (second-order
    moments; a line at any angle). Two lines joined at a corner (a width and a height arrow
    linked by their extension lines) are read one axis at a time, the other line then an end
    mark. The best axis is the longest band that is thin and unbroken (``long_side``: the
    frame's, in px)."""
    x = xs.astype(np.int64)
    y = ys.astype(np.int64)
    dx, dy = xs - xs.mean(), ys - ys.mean()
    theta = 0.5 * np.arctan2(2 * float((dx * dy).mean()),
                             float((dx * dx).mean() - (dy * dy).mean()))
    c, s = float(np.cos(theta)), float(np.sin(theta))
    pu = np.rint(dx * c + dy * s).astype(np.int64)
    pv = np.rint(-dx * s + dy * c).astype(np.int64)
    reads = [_band_line(u, v, th) for u, v in ((x, y), (y, x), (pu, pv))]
    return max(reads, key=lambda f: (_thin_unbroken(f, long_side, th), f["length"]))


def _max_width(long_side: int, th: dict) -> float:
    """The widest a drawn line may be, px: ``line_max_width`` of the long side, and always at
    least ``line_min_width_px``."""
    return max(float(th["line_min_width_px"]), float(th["line_max_width"]) * long_side)


def _thin_unbroken(f: dict[str, float], long_side: int, th: dict) -> bool:
    """Whether a band read (:func:`_band_line`) is unbroken and thin (module docstring)."""
    return (f["cover"] >= float(th["line_min_cover"])
            and f["width"] <= _max_width(long_side, th))


def is_line(f: dict[str, float], long_side: int, th: dict) -> bool:
    """Whether :func:`line_features` read a drawn dimension line (module docstring)."""
    return (f["length"] >= float(th["line_min_len"]) * long_side
            and _thin_unbroken(f, long_side, th) and f["end"] >= float(th["line_end_ratio"]))


def candidates(plain: np.ndarray, zone: np.ndarray, th: dict
               ) -> list[tuple[Box, np.ndarray, np.ndarray, float]]:
    """Parts of the frame off the backdrop and off the product zone long and thin enough to be
    a line: (box, ys, xs, plain share of the ring around it)."""
    h, w = plain.shape
    long_side = max(h, w)
    off = (~plain & ~zone).view(np.uint8)
    n, labels, st, _ = label_with_stats(off)
    if n <= 1:
        return []
    bw, bh, area = st[1:, 2], st[1:, 3], st[1:, 4]
    span = np.hypot(bw, bh)
    min_len = float(th["line_min_len"]) * long_side
    # thin on average: the line's own width plus its end marks (arrowheads, ticks)
    keep = np.nonzero((span >= min_len) & (area <= 4 * _max_width(long_side, th) * span))[0]
    ring_ok = plain | zone
    out = []
    for i in keep:
        x0, y0, ww, hh = (int(v) for v in st[i + 1, :4])
        r = 2
        ya, yb, xa, xb = max(0, y0 - r), min(h, y0 + hh + r), max(0, x0 - r), min(w, x0 + ww + r)
        comp = (labels[ya:yb, xa:xb] == i + 1).view(np.uint8)
        ring = cv2.dilate(comp, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) & ~comp.view(bool)
        ring = ring.view(bool)
        share = float(ring_ok[ya:yb, xa:xb][ring].mean()) if ring.any() else 0.0
        ys, xs = np.nonzero(comp)
        out.append(((x0, y0, x0 + ww, y0 + hh), ys + ya, xs + xa, share))
    return out


def find_lines(plain: np.ndarray, zone: np.ndarray, th: dict) -> list[Box]:
    """Drawn dimension lines' boxes (x0, y0, x1, y1) at the working size of ``plain`` and
    ``zone`` (module docstring). None on a photo with no plain backdrop."""
    if not plain.any():
        return []
    h, w = plain.shape
    long_side = max(h, w)
    found = [(box, ys, xs) for box, ys, xs, share in candidates(plain, zone, th)
             if share >= float(th["line_min_plain"])
             and is_line(line_features(ys, xs, long_side, th), long_side, th)]
    if not found:
        return []
    hull = convex_hull(zone) if zone.any() else None  # only for the rare part that passed
    return [box for box, ys, xs in found
            if beside(box, float(hull[ys, xs].mean()) if hull is not None else 0.0, (h, w), th)]


def beside(box: Box, in_hull: float, shape: tuple[int, int], th: dict) -> bool:
    """Whether a line (its box, and the share of its pixels inside the product zone's convex
    hull) lies beside the product: not mostly within the product's outline (its own seam or
    print), not from one edge of the frame to the other (a seam, a table's edge) and not
    along a frame edge it touches (the side of a card or a floor the frame cuts)."""
    x0, y0, x1, y1 = box
    h, w = shape
    if (x0 <= 0 and x1 >= w) or (y0 <= 0 and y1 >= h):
        return False
    # along a frame edge it touches: an edge of something the frame cuts, or a border
    if (y0 <= 0 or y1 >= h) if x1 - x0 >= y1 - y0 else (x0 <= 0 or x1 >= w):
        return False
    return in_hull <= float(th["line_max_in_hull"])
