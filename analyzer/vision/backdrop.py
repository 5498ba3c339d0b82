"""The frame border's colour, and how far each pixel is from it: what tells a plain studio
backdrop from a scene, and the product from the backdrop when there is no neural mask."""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.vision.mask_ops import label

# The studio-shot product mask (studio_product_prob): what the built-in embedder crops a catalog
# photo by, and what the search layer masks a listing by, so both are described alike.
PLAIN_SIDE = 256               # the plain-background test and its mask work on a copy this size
PLAIN_BORDER_DE = 8.0          # border pixels this close (Delta E) to the median border colour...
PLAIN_BORDER_SHARE = 0.70      # ...this share or more (the product may touch an edge)...
PLAIN_MIN_L = 85.0             # ...and a light colour (L*): a plain studio background
PLAIN_FG_DE = 12.0             # foreground = farther than this from the background colour


def lab_of(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (L* 0-100) of a uint8 RGB image, as float32."""
    # one pass to float32 in 0..1 (the same values as astype then divide, at a third the cost)
    return cv2.cvtColor(np.divide(rgb, np.float32(255.0), dtype=np.float32), cv2.COLOR_RGB2Lab)


def border_pixels(a: np.ndarray) -> np.ndarray:
    """The pixels of the outer band (1/50 of the short side, at least 2 px) of an H x W x C
    array, as an N x C array."""
    return band(a, band_width(a.shape))


def delta_e76(lab: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-pixel Delta E 1976 (Euclidean distance in L*a*b*) of an H x W x 3 array to ``ref``.

    Equal, element for element, to ``np.linalg.norm(lab - ref, axis=2)`` (the same products
    summed in the same order), without NumPy's generic reduction over a 3-long axis: 2-5x
    faster on the checks' working copies.
    """
    d = lab - ref
    dl, da, db = d[..., 0], d[..., 1], d[..., 2]
    return np.sqrt(dl * dl + da * da + db * db)


def border_color(lab: np.ndarray) -> np.ndarray:
    """The median colour of the outer band of an H x W x 3 (Lab) array."""
    return np.median(border_pixels(lab), axis=0)


def border_color_distance(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel Lab distance (Delta E 1976) to the median colour of the image border."""
    lab = lab_of(rgb)
    return delta_e76(lab, border_color(lab))


def band_width(shape: tuple[int, ...], frac: float | None = None, min_px: int = 2) -> int:
    """Width of the frame's outer band: ``frac`` of the short side (default 1/50), at least
    ``min_px`` pixels."""
    short = min(shape[:2])
    return max(min_px, round(frac * short) if frac is not None else short // 50)


def border_median_rgb(rgb: np.ndarray, frac: float = 0.02) -> tuple[int, int, int]:
    """The median colour of an RGB image's outer band (``frac`` of the short side, at least
    1 px): the colour to pad it with so the padding reads as more of its backdrop."""
    ring = band(rgb, band_width(rgb.shape, frac, min_px=1))
    return tuple(int(v) for v in np.median(ring, axis=0))  # type: ignore[return-value]


def band(a: np.ndarray, width: int, corners_once: bool = False) -> np.ndarray:
    """The pixels of the outer ``width``-px band of an H x W (x C) array, as N (x C).

    The four strips overlap at the corners; ``corners_once`` takes the side strips without them
    (each corner pixel then counts once)."""
    w = width
    sides = [a[w:-w, :w], a[w:-w, -w:]] if corners_once else [a[:, :w], a[:, -w:]]
    parts = [a[:w], a[-w:], *sides]
    if a.ndim == 2:
        return np.concatenate([p.ravel() for p in parts])
    return np.concatenate([p.reshape(-1, a.shape[2]) for p in parts])


def plain_backdrop_color(lab: np.ndarray, width: int, max_de: float, min_share: float, *,
                         metric: str = "euclid", corners_once: bool = False
                         ) -> np.ndarray | None:
    """The backdrop colour of a studio shot (the median of the frame's outer band), or None when
    the backdrop is not plain: fewer than ``min_share`` of the band's pixels lie within
    ``max_de`` of it. ``metric``: "euclid" (Delta E 1976) or "chebyshev" (each of L*, a*, b*
    within ``max_de``, a box around the colour)."""
    return plain_band_color(band(lab, width, corners_once), max_de, min_share, metric=metric)


def plain_band_color(rim: np.ndarray, max_de: float, min_share: float, *,
                     metric: str = "euclid") -> np.ndarray | None:
    """:func:`plain_backdrop_color` of the band's pixels ``rim`` (N x 3, as :func:`band` gives
    them), for a caller that has only converted the band."""
    ref = np.median(rim, axis=0)
    d = (np.abs(rim - ref).max(axis=1) if metric == "chebyshev"
         else np.linalg.norm(rim - ref, axis=1))
    return None if float((d <= max_de).mean()) < min_share else ref


def even_margins(widths: np.ndarray) -> bool:
    """Whether bands round a picture are of similar widths (the widest at most twice the
    narrowest + 2 px): an editor's frame or canvas is, a product's margins in a photo seldom are
    (the border finder's rule, and the printed-face rule's test for a pasted picture)."""
    w = np.asarray(widths, dtype=np.float64)
    return bool(w.max() <= 2.0 * w.min() + 2)


def connected_to_border(mask: np.ndarray, connectivity: int = 4) -> np.ndarray:
    """The pixels of ``mask`` (nonzero) whose connected region touches the frame border: a
    backdrop seen around the product, not the holes inside it."""
    # Framed in a 1 px ring of foreground, every region that touches the border joins the ring:
    # one label, read off a corner, and one comparison (half the cost of gathering the border's
    # labels and indexing a keep-table with every pixel; the same pixels, for 4 or 8 neighbours).
    framed = cv2.copyMakeBorder(np.ascontiguousarray(np.asarray(mask, dtype=np.uint8)),
                                1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    _, labels = label(framed, connectivity)
    return labels[1:-1, 1:-1] == labels[0, 0]


def studio_product_prob(rgb: np.ndarray) -> np.ndarray | None:
    """A product mask for a photo on a plain background (a studio shot), or None if the
    background is not plain.

    Plain: at least ``PLAIN_BORDER_SHARE`` of the border pixels lie within ``PLAIN_BORDER_DE``
    (CIE76 Delta E) of the median border colour, and that colour is light (L* >=
    ``PLAIN_MIN_L``). On ../shared/data this holds for 90% of luma studio shots, all grocery
    iconic images, none of the in-store photos and ~1/3 of the amateur clothing photos (those on
    white sheets). The product is then every pixel farther than
    ``PLAIN_FG_DE`` from that colour, plus the enclosed holes (a white logo on a black shirt):
    background is only what connects to the border. This is what the neural mask finds on such
    photos, for ~1/30 of its cost, which is what makes building a large catalog affordable.
    """
    from analyzer.vision.backdrop import (
        band,
        band_width,
        border_color_distance,
        connected_to_border,
    )

    h, w = rgb.shape[:2]
    s = min(1.0, PLAIN_SIDE / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA) if s < 1 else rgb
    dist = border_color_distance(small)
    b = band_width(small.shape)
    if float((band(dist, b) <= PLAIN_BORDER_DE).mean()) < PLAIN_BORDER_SHARE:
        return None
    ref = np.median(band(small, b), axis=0).astype(np.uint8)[None, None]
    if float(cv2.cvtColor(ref, cv2.COLOR_RGB2Lab)[0, 0, 0]) * 100.0 / 255.0 < PLAIN_MIN_L:
        return None
    fg = (dist > PLAIN_FG_DE).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    background = connected_to_border(1 - fg, connectivity=4)
    prob = cv2.GaussianBlur((~background).astype(np.float32), (3, 3), 0)
    return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR) if s < 1 else prob
