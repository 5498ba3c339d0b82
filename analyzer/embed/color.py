"""A colour descriptor of the product's pixels: what a shopper means by "the red one".

A joint hue/saturation histogram of the product pixels (weighted by the product mask), with the
near-grey pixels counted apart in lightness bins, since hue is meaningless for them:

* chromatic pixels (HSV saturation >= ``SAT_GREY``): ``HUE_BINS`` hue bins x ``SAT_BINS``
  saturation bins, hue soft-assigned linearly to its two nearest (circular) bins so that a hue on a
  bin edge does not flip the descriptor;
* grey pixels: ``GREY_BINS`` bins of HSV value (black, dark grey, light grey, white).

Each pixel's weight is its product probability times a ramp from grey to chromatic. The histogram
is L1-normalised and square-rooted (the Hellinger kernel, Arandjelovic & Zisserman, "Three things
everyone should know to improve object retrieval", CVPR 2012), then L2-normalised, so the dot
product of two descriptors is the Bhattacharyya coefficient of the two colour distributions.
"""

from __future__ import annotations

import cv2
import numpy as np

HUE_BINS = 12
SAT_BINS = 2
GREY_BINS = 4
SAT_GREY = 0.18      # below: the pixel counts as grey (white, black, grey products)
SAT_SPLIT = 0.55     # muted vs vivid colours
WORK_SIDE = 96       # colour statistics need few pixels; keep it cheap
DIM = HUE_BINS * SAT_BINS + GREY_BINS
HSV_DIM = 8 * 4 * 4  # hsv_histogram's default bins


def color_descriptor(rgb: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """(DIM,) float32 unit vector describing the colours of ``rgb`` under ``weight`` (H x W in
    [0, 1], the product probability; None = all pixels equally)."""
    h, w = rgb.shape[:2]
    s = min(1.0, WORK_SIDE / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if s < 1.0 else rgb
    if weight is None:
        wt = np.ones(small.shape[:2], np.float32)
    else:
        wt = cv2.resize(weight.astype(np.float32), size, interpolation=cv2.INTER_AREA) \
            if s < 1.0 else weight.astype(np.float32)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3).astype(np.float32)
    hue = hsv[:, 0] / 256.0 * HUE_BINS           # [0, HUE_BINS)
    sat = hsv[:, 1] / 255.0
    val = hsv[:, 2] / 255.0
    wt = wt.reshape(-1)
    if float(wt.sum()) < 1e-3:
        wt = np.ones_like(wt)
    # Ramp from grey to chromatic over +-0.05 around SAT_GREY: no hard threshold on noisy pixels.
    chroma = np.clip((sat - SAT_GREY) / 0.1 + 0.5, 0.0, 1.0)
    hist = np.zeros(DIM, np.float64)
    # Chromatic part, hue soft-assigned between the two nearest bin centres.
    pos = hue - 0.5
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    lo %= HUE_BINS
    hi = (lo + 1) % HUE_BINS
    sbin = (sat >= SAT_SPLIT).astype(np.int64)
    wc = wt * chroma
    np.add.at(hist, lo * SAT_BINS + sbin, wc * (1.0 - frac))
    np.add.at(hist, hi * SAT_BINS + sbin, wc * frac)
    # Grey part, by lightness.
    vbin = np.minimum((val * GREY_BINS).astype(np.int64), GREY_BINS - 1)
    np.add.at(hist, HUE_BINS * SAT_BINS + vbin, wt * (1.0 - chroma))
    hist /= max(hist.sum(), 1e-12)
    hist = np.sqrt(hist)
    return (hist / max(np.linalg.norm(hist), 1e-12)).astype(np.float32)


def hsv_histogram(rgb: np.ndarray, bins: tuple[int, int, int] = (8, 4, 4)) -> np.ndarray:
    """(prod(bins),) float32 unit vector: the joint HSV histogram of the *whole* image (no
    mask; hue x saturation x value), square-rooted (Hellinger) and L2-normalised. Cheaper and
    cruder than :func:`color_descriptor`; what the trained head's recipe adds for colour."""
    h, w = rgb.shape[:2]
    s = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA) if s < 1.0 else rgb
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV_FULL)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(bins), [0, 256, 0, 256, 0, 256])
    hist = np.sqrt(hist.reshape(-1).astype(np.float64) / max(float(hist.sum()), 1e-12))
    return (hist / max(np.linalg.norm(hist), 1e-12)).astype(np.float32)
