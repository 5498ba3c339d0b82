"""Glare: a light source mirrored in the product's surface, blown to white.

A flash or a lamp reflected in a glossy box, a bottle, a shoe or satin leaves a hotspot whose
core clips to pure white (the surface's colour and print are gone there) and whose light fades
out into the surface's own colour around it. The exposure check's clipping measures miss it
on purpose: a neutral (white) clip on the product is not scored, since where a mask's rim falls
on a white backdrop decides how much of it there is, and a white product is white by design.

Measure (:func:`spots`), on the exposure check's working copy: every connected part of the
product region (``region``: the mask shrunk at its rim, its holes filled, since the mask leaves
a large spot blown to white out as backdrop) whose pixels are all at least
``glare_level`` in every channel, the largest ``glare_max_spots`` of at least ``glare_min_px``
px. Around each, by the distance from it (a distance transform) in units of its equivalent
radius ``R = sqrt(area / pi)``:

- ``enclosed``: the share of the ring out to ``glare_ring`` R (at least 1.5 px) that is
  product: glare lies on the product, surrounded by it, where a white part of the frame
  reaching into the mask (the backdrop at a gap, a white shirt under an open jacket that
  continues to the collar) does not;
- ``surface_de``: how far from white the surface around it is (Delta E 1976 from L* 100,
  a* = b* = 0): the highest median of the rings at 1-1.5, 1.5-2 and 2-3 R; a white product's
  clipped patches lie on white;
- ``near_de``: the median Delta E from white right outside the spot (out to 0.25 R, at least
  1.5 px): glare's light fades out, so its rim is nearly white, where a white print, a label or
  a logo on a coloured product ends in a crisp edge, its rim already the product's colour;
- ``halo``: the share of the product's pixels out to 1.5 R (at least 2 px) whose Delta E from
  white lies between a quarter and three quarters of the surface's: the light fading from white
  into the surface's colour leaves a band of mixtures, where a white part of the product (a
  collar, a stripe, a print's white field, whose own rim is white too) ends in a crisp edge
  with next to nothing between (without it, 6 of the 721 amateur tune photos were flagged).

A spot is glare (:func:`is_glare`) when ``enclosed >= glare_enclosed``, ``surface_de >=
glare_surface_de``, ``near_de <= glare_fade * surface_de`` and ``halo >= glare_halo``; the
measure the check scores and flags is the largest glare spot's area as a share of the product
region (:func:`glare_share`).

The rule reads the specular highlight of photometry (the dichromatic reflection model: a
highlight adds the light source's colour to the surface's, Shafer, "Using color to separate
reflection components", Color Research & Application 10(4), 1985), clipped where the added
light passes the sensor's white. Its thresholds were chosen on the tuning splits
(``scripts/choose_glare_rule.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.vision.mask_ops import label_with_stats


@dataclass(frozen=True)
class GlareSpot:
    """One blown-out white spot on the product and what surrounds it (module docstring)."""

    share: float       # its area over the product region's
    enclosed: float    # the share of the ring around it that is product
    surface_de: float  # Delta E from white of the surface around it
    near_de: float     # Delta E from white right outside it
    halo: float        # the share of the ring around it between white and the surface


def _white_distance(lab: np.ndarray) -> np.ndarray:
    """Delta E 1976 of each pixel (L* 0..100, the last axis L*, a*, b*) from white (100, 0, 0),
    float32."""
    d = np.float32(100.0) - lab[..., 0]
    return np.sqrt(d * d + lab[..., 1] * lab[..., 1] + lab[..., 2] * lab[..., 2])


def spots(lab: np.ndarray, rgb: np.ndarray, region: np.ndarray, th: dict,
          all_features: bool = False) -> list[GlareSpot]:
    """The white spots on the product (module docstring), largest first; ``lab`` (float32,
    L* 0..100) and ``rgb`` (uint8) are the same pixels, ``region`` (bool) the product's. A spot
    the product does not enclose (``glare_enclosed``) cannot be glare: its colour reads are
    skipped (nan), and spots under ``glare_ok`` of the product (never scored) are not read,
    unless ``all_features`` (a choice script trying other lines)."""
    n = int(np.count_nonzero(region))
    if n == 0:
        return []
    level = int(th["glare_level"])
    white = cv2.inRange(rgb, (level,) * 3, (255,) * 3)
    white &= region.view(np.uint8) * np.uint8(255)
    bx, by, bw, bh = cv2.boundingRect(white)
    if bw == 0 or bh == 0:
        return []
    # labelled only within the box around the white pixels (most of a product is not white),
    # the labels kept at full size; the box starts on even coordinates (OpenCV's 2 x 2 blocks)
    bx, by = bx - bx % 2, by - by % 2
    _, lab_c, st, _ = label_with_stats((white[by:by + bh + 1, bx:bx + bw + 1] > 0).view(np.uint8),
                                       8)
    h, w = region.shape
    labels = np.zeros((h, w), lab_c.dtype)
    labels[by:by + lab_c.shape[0], bx:bx + lab_c.shape[1]] = lab_c
    st[:, 0] += bx
    st[:, 1] += by
    areas = st[1:, cv2.CC_STAT_AREA]
    order = np.argsort(-areas, kind="stable")[: int(th["glare_max_spots"])] + 1
    ring = float(th["glare_ring"])
    # spots under glare_ok of the product are never scored: not read (the largest come first)
    least = max(float(th["glare_min_px"]), 0.0 if all_features else float(th["glare_ok"]) * n)
    out = []
    for i in order:
        x, y, sw, sh, area = (int(v) for v in st[i])
        if area < least:
            break
        r = float(np.sqrt(area / np.pi))
        pad = int(np.ceil(3.0 * r)) + 2
        y0, y1 = max(0, y - pad), min(h, y + sh + pad)
        x0, x1 = max(0, x - pad), min(w, x + sw + pad)
        spot = labels[y0:y1, x0:x1] == i
        dist = cv2.distanceTransform((~spot).view(np.uint8), cv2.DIST_L2, 3)
        reg = region[y0:y1, x0:x1]
        around = (dist > 0) & (dist <= max(1.5, ring * r))
        enclosed = float(reg[around].mean()) if around.any() else 0.0
        if not all_features and enclosed < float(th["glare_enclosed"]):
            nan = float("nan")
            out.append(GlareSpot(area / n, enclosed, nan, nan, nan))
            continue
        # every ring lies within 3 R (and 2 px) of the spot: its product pixels' distances and
        # Delta E, read once as flat arrays
        near = (dist > 0) & (dist <= max(2.0, 3.0 * r)) & reg
        d = dist[near]
        de = _white_distance(lab[y0:y1, x0:x1][near])
        far = [_ring_median(de, d, a * r, b * r) for a, b in ((1.0, 1.5), (1.5, 2.0), (2.0, 3.0))]
        far = [v for v in far if np.isfinite(v)]
        surface = max(far) if far else float("nan")
        # the halo: light fading from white into the surface's colour leaves the ring's pixels
        # between the two, where a white part's crisp edge leaves them at one or the other
        band = de[d <= max(2.0, 1.5 * r)]
        mid = (band >= 0.25 * surface) & (band <= 0.75 * surface)
        out.append(GlareSpot(share=area / n, enclosed=enclosed, surface_de=surface,
                             near_de=_ring_median(de, d, 0.0, max(1.5, 0.25 * r)),
                             halo=float(mid.mean()) if mid.size else 0.0))
    return out


def _ring_median(de: np.ndarray, d: np.ndarray, lo: float, hi: float) -> float:
    """The median of ``de`` over the pixels at a distance ``d`` in (lo, hi]; nan with fewer than
    3 of them."""
    sel = (d > lo) & (d <= hi)
    return float(np.median(de[sel])) if np.count_nonzero(sel) >= 3 else float("nan")


def is_glare(s: GlareSpot, th: dict) -> bool:
    """Whether a white spot is glare: enclosed by the product, on a surface far from white, its
    rim nearly white and a halo of mixtures around it (module docstring)."""
    return bool(s.enclosed >= float(th["glare_enclosed"])
                and np.isfinite(s.surface_de) and s.surface_de >= float(th["glare_surface_de"])
                and np.isfinite(s.near_de) and s.near_de <= float(th["glare_fade"]) * s.surface_de
                and np.isfinite(s.halo) and s.halo >= float(th["glare_halo"]))


def glare_share(found: list[GlareSpot], th: dict) -> float:
    """The largest glare spot's share of the product region (0.0 when there is none)."""
    return max((s.share for s in found if is_glare(s, th)), default=0.0)
