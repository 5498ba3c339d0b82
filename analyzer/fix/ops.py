"""Image operations shared by the fixes and by the search what-if
(:mod:`analyzer.search.integration` imports the first three from here)."""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.vision.backdrop import band, band_width

# --- used by the search what-if (moved here from analyzer.search.integration) ------------------


def whiten_background(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The product composited on pure white with its (soft) mask: out = p * rgb + (1-p) * 255."""
    p = np.clip(mask.astype(np.float32), 0, 1)[:, :, None]
    return np.rint(rgb.astype(np.float32) * p + 255.0 * (1.0 - p)).astype(np.uint8)


def product_fill(mask: np.ndarray) -> float:
    """How much of the frame the product spans: max(bbox width / W, bbox height / H)."""
    b = mask >= 0.5
    if b.sum() < 16:
        return 0.0
    ys = np.flatnonzero(b.any(axis=1))
    xs = np.flatnonzero(b.any(axis=0))
    h, w = b.shape
    return float(max((xs[-1] + 1 - xs[0]) / w, (ys[-1] + 1 - ys[0]) / h))


def crop_to_fill(rgb: np.ndarray, mask: np.ndarray, fill: float = 0.85,
                 white: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A square frame centred on the product whose side is the product's long side / ``fill``
    (Amazon's "product fills 85% of the frame"); outside the photo it is padded with white (or
    the edge pixels when ``white`` is False). Returns (rgb, mask)."""
    b = mask >= 0.5
    if b.sum() < 16:
        return rgb.copy(), mask.copy()
    ys = np.flatnonzero(b.any(axis=1))
    xs = np.flatnonzero(b.any(axis=0))
    x0, x1, y0, y1 = xs[0], xs[-1] + 1, ys[0], ys[-1] + 1
    side = int(np.ceil(max(x1 - x0, y1 - y0) / fill))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    fx0, fy0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    h, w = b.shape
    pad = (max(0, -fy0), max(0, fy0 + side - h), max(0, -fx0), max(0, fx0 + side - w))
    border = cv2.BORDER_CONSTANT if white else cv2.BORDER_REPLICATE
    big = cv2.copyMakeBorder(rgb, *pad, border, value=(255, 255, 255))
    bm = cv2.copyMakeBorder(mask.astype(np.float32), *pad, cv2.BORDER_CONSTANT, value=0.0)
    oy, ox = fy0 + pad[0], fx0 + pad[2]
    return (np.ascontiguousarray(big[oy:oy + side, ox:ox + side]),
            np.ascontiguousarray(bm[oy:oy + side, ox:ox + side]))


# --- used by the fixes ---------------------------------------------------------------------------


def resize_to(a: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """``a`` resized to (H, W) = ``shape`` (bilinear, or nearest for labels)."""
    h, w = shape
    if a.shape[:2] == (h, w):
        return a
    interp = cv2.INTER_NEAREST if nearest else (
        cv2.INTER_AREA if a.shape[0] > h else cv2.INTER_LINEAR)
    return cv2.resize(a, (w, h), interpolation=interp)


def guided_filter(guide: np.ndarray, p: np.ndarray, radius: int, eps: float,
                  work_long_side: int = 1024) -> np.ndarray:
    """Edge-aware refinement of ``p`` (float32 0..1) by a grey ``guide`` (float32 0..1).

    He, Sun & Tang, "Guided Image Filtering", TPAMI 35(6), 2013: q = a * I + b with
    a = cov(I, p) / (var(I) + eps), b = mean(p) - a * mean(I) over (2r+1)^2 windows, averaged. The
    fast variant (He & Sun, arXiv:1505.00996, 2015): a and b are computed on a copy shrunk to
    ``work_long_side`` and applied to the full-size guide, so a mask made at 1024 px takes the
    full-size photo's edges (hair, fur, the outline of glass) at the cost of a 1024 px filter.
    """
    h, w = guide.shape
    s = min(1.0, work_long_side / max(h, w))
    small = (max(1, round(h * s)), max(1, round(w * s)))
    gi, pi = resize_to(guide, small), resize_to(p, small)
    r = max(1, round(radius * s))
    k = (2 * r + 1, 2 * r + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)

    mi, mp = box(gi), box(pi)
    cov = box(gi * pi) - mi * mp
    var = box(gi * gi) - mi * mi
    a = cov / (var + eps)
    b = mp - a * mi
    ma, mb = resize_to(box(a), (h, w)), resize_to(box(b), (h, w))
    return np.clip(ma * guide + mb, 0.0, 1.0).astype(np.float32)


def stretch_alpha(prob: np.ndarray, th: dict) -> np.ndarray:
    """The product probability as the matte uses it: 0 at ``alpha_low``, 1 at ``alpha_high``,
    linear between (a mask unsure everywhere, 0.02-0.1 over the product, is still kept)."""
    lo, hi = float(th["alpha_low"]), float(th["alpha_high"])
    return np.clip((prob - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def backdrop_field(rgb: np.ndarray, alpha: np.ndarray, side: int = 96,
                   grow: float = 0.02) -> np.ndarray:
    """The backdrop's colour everywhere, including behind the product (float32 H x W x 3, 0..255).

    Estimated on a copy ``side`` px on its long side: the pixels well outside the product (alpha
    below 0.02 after growing the product by ``grow`` of the side) keep their colour, the rest is
    filled by inpainting (Telea 2004, :func:`cv2.inpaint`), then smoothed and enlarged. A backdrop
    lit unevenly (a gradient, a vignette) is followed, which a single backdrop colour would not.
    """
    h, w = alpha.shape
    s = side / max(h, w)
    sh, sw = max(4, round(h * s)), max(4, round(w * s))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    a = cv2.resize(alpha.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    fg = (a > 0.02).astype(np.uint8)
    r = max(1, round(grow * side))
    fg = cv2.dilate(fg, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    if fg.all():  # no backdrop visible at all: the frame's border stands in for it
        fg[1:-1, 1:-1] = 1
        fg[0, :] = fg[-1, :] = fg[:, 0] = fg[:, -1] = 0
    filled = cv2.inpaint(small, fg * 255, max(3, side // 16), cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(filled.astype(np.float32), (0, 0), max(1.0, side / 48))
    return cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)


def border_white_share(rgb: np.ndarray, frac: float = 0.03, level: int = 250) -> float:
    """Share of the frame's outer band whose every channel is >= ``level``."""
    rim = band(rgb, band_width(rgb.shape, frac, min_px=1))
    return float((rim.min(axis=1) >= level).mean())


def otsu_two_levels(v: np.ndarray, th: dict) -> bool:
    """Whether the luma values ``v`` (0-255) are two flat levels rather than one: split in two by
    Otsu's threshold (Otsu, IEEE SMC 9(1), 1979), both parts at least ``levels_min_share`` of
    them, ``levels_min_gap`` apart, explaining at least ``levels_min_eta`` of their variance (a
    gradient or vignette spreads its levels evenly: about 0.75)."""
    if len(v) < 64 or float(v.var()) < 1e-6:
        return False
    hist = np.bincount(np.clip(v, 0, 255).astype(np.int64), minlength=256).astype(np.float64)
    p = hist / hist.sum()
    levels = np.arange(256)
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * levels)
    mt = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mt * w0 - m0) ** 2 / (w0 * (1 - w0))
    between = np.nan_to_num(between)
    t = int(np.argmax(between))
    low, high = v[v <= t], v[v > t]
    share = min(len(low), len(high)) / len(v)
    if share < float(th["levels_min_share"]):
        return False
    gap = float(high.mean() - low.mean())
    eta = float(between[t] / v.var())
    return gap >= float(th["levels_min_gap"]) and eta >= float(th["levels_min_eta"])


def sides_touched(product: np.ndarray, band_frac: float, min_share: float) -> int:
    """How many sides of the frame the product reaches (within ``band_frac`` of the short side,
    along at least ``min_share`` of that side), as the framing check counts them."""
    h, w = product.shape
    b = max(1, round(band_frac * min(h, w)))
    shares = (product[:b].any(axis=0).mean(), product[-b:].any(axis=0).mean(),
              product[:, :b].any(axis=1).mean(), product[:, -b:].any(axis=1).mean())
    return int(sum(s >= min_share for s in shares))
