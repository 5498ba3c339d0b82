"""QR codes, Data Matrix symbols and barcodes pasted on the photo (a shop's "scan me" sticker).

Marketplaces forbid added marketing material on the main image (marketplace-rules.md: eBay
"added text or marketing material", Amazon "text, logos"); a code sticker in a corner is one, and
neither the text finder (its modules are not letters) nor the badge finder (it is not a flat
plate with glyphs) reads it.

Measure (:func:`find_codes`), two stages so that a photo without one costs a box filter:

1. Candidates at the overlays' working size: where the colour-edge map (``colour_edges``) is
   dense, at least ``code_edge_density`` of a window ``code_window`` of the short side (a
   symbol's modules or bars are an edge every one or two pixels; a photographed surface's
   texture is sparser or not all over), in blobs whose box is ``code_min_side`` ..
   ``code_max_side`` of the short side, filled (``code_min_fill`` of its box), lying mostly off
   the product zone (at most ``code_max_zone`` of it: a barcode printed on a package is the
   product's own) or in a corner of the frame (within ``code_corner`` of the short side of two
   edges, where a shop puts its sticker and which a saliency mask takes for product on a busy
   floor).
2. Each candidate's box read on the full-resolution grey image: a symbol is two-tone ink on
   paper (at least ``code_min_binary`` of its pixels within a quarter of the contrast of the
   ink or the paper, contrast p95 - p5 at least ``code_min_contrast`` grey levels, ink
   ``code_dark_share`` of it, and at most ``code_max_blob_ink`` of the dense-edge blob's own
   pixels: a symbol is about half ink, where the dark features of a face or a shoe blown out
   on white, or a woven strap, are mostly dark) and dense in ink/paper crossings: a *matrix*
   symbol (QR, Data Matrix) crosses at least ``code_min_crossings`` times a row and a column
   on average and is squarish (sides at most ``code_max_aspect`` to one); a *barcode* crosses
   at least ``code_min_bar_crossings`` times a row or a column, and its gradients share one
   orientation (structure-tensor coherence at least ``code_min_coherence``; Bigun & Granlund,
   ICCV 1987): bars, where a line of text has strokes of every direction.

The values were chosen on the tune splits (studio and amateur) by
``scripts/choose_code_rule.py`` (README).

Detecting finder patterns (OpenCV's ``QRCodeDetector``) costs 7-22 ms a photo and found none
of a new user's small, turned stickers; this reads what the eye reads, a patch of binary
texture, and does not decode it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.vision.mask_ops import label_with_stats

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Blob:
    """A dense-edge blob the size and fill of a code sticker (stage 1)."""

    box: Box            # in the edge map's pixels
    pixels: np.ndarray  # bool: the blob's own pixels in its box, on the half-size grid
    zone: float         # share of its box in the product zone
    corner: float       # to the nearest corner (the farther of its two edges), / short side


def blobs(edges: np.ndarray, zone: np.ndarray, th: dict) -> list[Blob]:
    """Every dense-edge blob of ``edges`` the size and fill of a code sticker, with where it
    lies (``zone``: the product zone, ``edges``' size); :func:`placed` picks the candidates."""
    H, W = edges.shape
    short = min(H, W)
    # The density and its blobs on a half-size grid (each 2 x 2 block's edge count, then a
    # window half as wide): the blobs need no finer grid, and labelling a quarter of the
    # pixels costs a quarter (a textured floor makes thousands of small blobs). ``edges`` is
    # 0/1 (uint8), so the four add without overflow.
    e = edges[:H // 2 * 2, :W // 2 * 2]
    quad = e[::2, ::2] + e[1::2, ::2] + e[::2, 1::2] + e[1::2, 1::2]  # edges per block, 0..4
    k = max(3, round(float(th["code_window"]) * short / 2) | 1)
    dens = cv2.boxFilter(quad, cv2.CV_32F, (k, k), normalize=True)
    blob = (dens >= 4 * float(th["code_edge_density"])).view(np.uint8)
    _, labels, st, _ = label_with_stats(blob)
    x, y, w, h, area = (st[1:, c] * (2 if c < 4 else 4) for c in range(5))
    lo, hi = float(th["code_min_side"]) * short, float(th["code_max_side"]) * short
    # size and fill over every blob at once
    side = np.maximum(w, h)
    keep = np.nonzero((side >= lo) & (side <= hi) & (np.minimum(w, h) >= lo / 3) &
                      (area >= float(th["code_min_fill"]) * w * h))[0]
    if not len(keep):
        return []
    x0, y0 = np.minimum(x[keep], W), np.minimum(y[keep], H)
    x1, y1 = np.minimum(x[keep] + w[keep], W), np.minimum(y[keep] + h[keep], H)
    corner = np.maximum(np.minimum(x0, W - x1), np.minimum(y0, H - y1)) / short
    zi = cv2.integral(zone.view(np.uint8))  # the zone's share in each box: four lookups
    inside = (zi[y1, x1] - zi[y0, x1] - zi[y1, x0] + zi[y0, x0]) / np.maximum(
        (x1 - x0) * (y1 - y0), 1)
    return [Blob((int(x0[j]), int(y0[j]), int(x1[j]), int(y1[j])),
                 labels[y0[j] // 2:(y1[j] + 1) // 2, x0[j] // 2:(x1[j] + 1) // 2] == i + 1,
                 float(inside[j]), float(corner[j]))
            for j, i in enumerate(keep)]


def placed(zone_share: float, corner: float, th: dict) -> bool:
    """Whether a blob lies where a sticker is pasted: mostly off the product zone (at most
    ``code_max_zone`` of its box) or in a corner (within ``code_corner`` of the short side)."""
    return zone_share <= float(th["code_max_zone"]) or corner <= float(th["code_corner"])


def candidates(edges: np.ndarray, zone: np.ndarray, th: dict) -> list[Blob]:
    """Stage 1's candidates: the :func:`blobs` that are :func:`placed`."""
    return [b for b in blobs(edges, zone, th) if placed(b.zone, b.corner, th)]


def crop(gray_u8: np.ndarray, box: Box, scale: float) -> np.ndarray:
    """The full-resolution grey under a box of the working size (``scale`` of ``gray_u8``'s);
    the blob's box already reaches about half a window past the symbol's outline."""
    H0, W0 = gray_u8.shape
    x0, y0, x1, y1 = box
    return gray_u8[int(y0 / scale):min(H0, int(np.ceil(y1 / scale))),
                   int(x0 / scale):min(W0, int(np.ceil(x1 / scale)))]


def _crossings(ink: np.ndarray, axis: int) -> float:
    """Mean number of ink/paper changes along ``axis`` (1: along each row)."""
    return float(np.count_nonzero(np.diff(ink, axis=axis)) / ink.shape[1 - axis])


def code_features(grey: np.ndarray, blob: np.ndarray | None = None) -> dict[str, float]:
    """What stage 2 reads on a grey crop (uint8, full resolution): contrast (p95 - p5), the
    two-tone share, the ink share, the mean ink/paper crossings a row and a column, the
    gradients' orientation coherence, the aspect (long side over short) and the ink share on
    the dense-edge blob's own pixels (``blob``, any size: resized to the crop; the crop's ink
    share without it)."""
    h, w = grey.shape
    p5, p95 = np.percentile(grey, (5, 95))
    c = float(p95 - p5)
    g = grey.astype(np.float32)
    ink = g < (p5 + p95) / 2
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    a, b = cv2.norm(gx, cv2.NORM_L2SQR), cv2.norm(gy, cv2.NORM_L2SQR)
    cxy = 0.5 * (a + b - cv2.norm(gx, gy, cv2.NORM_L2SQR))
    on = ink
    if blob is not None:
        inside = cv2.resize(blob.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        on = ink[inside] if inside.any() else ink
    return {"contrast": c,
            "binary": float(((g <= p5 + c / 4) | (g >= p95 - c / 4)).mean()),
            "dark": float(ink.mean()),
            "rows": _crossings(ink, 1), "cols": _crossings(ink, 0),
            "coherence": float(np.hypot(a - b, 2 * cxy) / (a + b + 1e-6)),
            "aspect": max(h, w) / max(1, min(h, w)),
            "blob_ink": float(on.mean())}


def is_code(f: dict[str, float], th: dict) -> bool:
    """Whether :func:`code_features` read a printed code (module docstring, stage 2)."""
    lo_d, hi_d = th["code_dark_share"]
    if (f["contrast"] < float(th["code_min_contrast"]) or f["binary"] < float(th["code_min_binary"])
            or not lo_d <= f["dark"] <= hi_d or f["blob_ink"] > float(th["code_max_blob_ink"])):
        return False
    matrix = (min(f["rows"], f["cols"]) >= float(th["code_min_crossings"])
              and f["aspect"] <= float(th["code_max_aspect"]))
    bars = (f["coherence"] >= float(th["code_min_coherence"])
            and max(f["rows"], f["cols"]) >= float(th["code_min_bar_crossings"]))
    return matrix or bars


def find_codes(edges: np.ndarray, zone: np.ndarray, gray_u8: np.ndarray, scale: float,
               th: dict) -> list[Box]:
    """Code stickers' boxes in ``edges``' pixels (the working size, ``scale`` of ``gray_u8``'s):
    dense-edge candidates, each confirmed on the full-resolution grey image."""
    out = []
    for b in candidates(edges, zone, th):
        grey = crop(gray_u8, b.box, scale)
        if min(grey.shape) < 8:
            continue
        p5, p95 = np.percentile(grey, (5, 95))  # the cheapest test first: most fail it
        if p95 - p5 >= float(th["code_min_contrast"]) and is_code(code_features(grey, b.pixels),
                                                                  th):
            out.append(b.box)
    return out
