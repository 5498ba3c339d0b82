"""Stickers and emoji with no letters pasted on the photo: a smiley, a heart, a star, a disc.

Sellers hide a face, a logo or a flaw under an emoji, or dress the photo with a heart or a star;
Amazon forbids "text, logos, watermarks" on the main image, which "must be the actual product,
not a graphic or illustration" (marketplace-rules.md). The badge finder (:mod:`.badges`) wants
letters on its plate, and a letterless sticker has none, so it is found by what a drawing
program gives it and a camera does not: one flat, saturated colour over a whole shape.

Measure (:func:`plates`, :func:`is_sticker`): the holes of the colour-edge map
(:func:`.badges.plate_holes`, the plate's inside ringed by its outline) that lie whole on the
photo, at least ``sticker_edge_margin`` of the short side from the frame (a hole cut by the
frame is the backdrop or a strip, the banner finder's, and an editor's 1-4 px stroke around the
photo closes the backdrop along it into holes), and span ``sticker_min_area`` ..
``badge_max_area`` of the frame, with a shape a sticker has: isoperimetric quotient
4 pi A / P^2 >= ``sticker_min_roundness`` and solidity (area over its convex hull's) >=
``sticker_min_solidity``, both lines a classic five-pointed star's (inner radius 0.38 of the
outer: 0.27 and 0.47) less a margin, which a disc (1.0, 1.0) and a heart (0.68, 0.92) clear,
and drawn about a centre: its minimum-area rectangle (Freeman & Shapira 1975, OpenCV's
``minAreaRect``) at most ``sticker_max_aspect`` to one (a disc, a star, a heart and an emoji are
about 1; a garment's cuff or stripe and a carton's strip are bands). A sticker hides a part of
the product (a face, a logo, a flaw), so it spans at most ``sticker_max_product_share`` of the
product mask's area: a flat, smooth garment in a retouched studio shot (a sports bra between
the model's skin, 12-13% of the product) is the product, not a sticker on it.
Its inside (the hole's pixels off the edge map) must be one flat colour: at least
``sticker_flat_share`` of it within ``sticker_flat_de`` (Delta E 1976) of its median colour,
the median of chroma C*ab >= ``sticker_min_chroma``. A photographed surface of that size is
shaded and textured, so it is not that flat (the badge finder's plate test, ``badge_flat_de`` 8,
is far looser, as letters already vouch for a badge). White, grey and black holes are left out
by the chroma: flat white is the backdrop seen between a strap and a bag or a clipped
highlight, and flat black a shadow. The flat and chroma lines were chosen on the tuning photos
only (``python scripts/choose_sticker_rule.py``: the most sticker copies found with no clean
tuning photo flagged; README, "Stickers with no letters").

A sticker is reported as a badge is (a logo area: ``TEXT_OR_WATERMARK``); one that a badge
already covers (a smiley's eyes read as letters) is reported once, as the badge.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.quality.overlays.badges import Hole


@dataclass(frozen=True)
class Plate:
    """A hole of the colour-edge map whole on the photo, of a sticker's size and shape."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (end exclusive), the Lab image's pixels
    area: float                     # share of the frame
    chroma: float                   # C*ab of the inside's median colour
    spread: float  # Delta E from that median within which sticker_flat_share of the inside lies


def plates(lab: np.ndarray, edges: np.ndarray, holes: list[Hole], th: dict,
           product: np.ndarray | None = None) -> list[Plate]:
    """The candidate plates among ``holes`` (:func:`.badges.plate_holes` of ``edges``, the
    colour-edge map :func:`.badges.colour_edges` of ``lab``, Lab float32): whole on the photo,
    ``sticker_min_area`` .. ``badge_max_area`` of the frame and at most
    ``sticker_max_product_share`` of the ``product`` mask's area (bool, ``lab``'s size; no
    such bound without a product), round and solid enough (the module docstring), with their
    inside's colour and flatness read."""
    H, W = lab.shape[:2]
    a_min = float(th["sticker_min_area"]) * H * W
    a_max = float(th["badge_max_area"]) * H * W
    if product is not None and product.any():
        a_max = min(a_max, float(th["sticker_max_product_share"]) * float(
            np.count_nonzero(product)))
    min_round = float(th["sticker_min_roundness"])
    min_solid = float(th["sticker_min_solidity"])
    max_aspect = float(th["sticker_max_aspect"])
    edge = max(2, round(float(th["sticker_edge_margin"]) * min(H, W)))
    share = float(th["sticker_flat_share"])
    out = []
    for c, area in holes:
        if not a_min <= area <= a_max:
            continue
        x, y, w, h = cv2.boundingRect(c)
        if x < edge or y < edge or x + w > W - edge or y + h > H - edge:
            continue  # cut by the frame, or closed by an added frame's stroke along it
        per = cv2.arcLength(c, True)
        hull = cv2.contourArea(cv2.convexHull(c))
        if (per <= 0 or hull <= 0 or area / hull < min_solid
                or 4 * np.pi * area / per ** 2 < min_round):
            continue
        rw, rh = cv2.minAreaRect(c)[1]
        if max(rw, rh) > max_aspect * max(min(rw, rh), 1e-6):
            continue  # a band: a garment's cuff or stripe, a carton's strip
        fill = np.zeros((h, w), np.uint8)
        cv2.drawContours(fill, [c - np.array([x, y])], -1, 1, thickness=-1)
        inner = fill.astype(bool) & (edges[y:y + h, x:x + w] == 0)
        px = lab[y:y + h, x:x + w][inner]
        if len(px) < 20:
            continue
        med = np.median(px, axis=0)
        d2 = ((px - med) ** 2).sum(axis=1)
        # the k-th smallest distance, k = ceil(share n): "share of the inside within de of the
        # median" >= share exactly when it is <= de
        k = min(len(d2), max(1, int(np.ceil(share * len(d2))))) - 1
        out.append(Plate((x, y, x + w, y + h), area / (H * W), float(np.hypot(med[1], med[2])),
                         float(np.sqrt(np.partition(d2, k)[k]))))
    return out


def is_sticker(p: Plate, th: dict) -> bool:
    """Whether a plate is a sticker: saturated (``sticker_min_chroma``) and flat
    (``sticker_flat_share`` of its inside within ``sticker_flat_de`` of its median)."""
    return p.chroma >= float(th["sticker_min_chroma"]) and p.spread <= float(th["sticker_flat_de"])


def find_stickers(lab: np.ndarray, edges: np.ndarray, holes: list[Hole], th: dict,
                  product: np.ndarray | None = None) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1, ``lab``'s pixels) of the letterless stickers (see the module
    docstring) among ``holes`` (as :func:`plates`)."""
    return [p.box for p in plates(lab, edges, holes, th, product) if is_sticker(p, th)]
