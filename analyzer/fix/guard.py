"""Guard: would cutting the product out erase it? Checked once, before props, background and
framing use the product mask.

A white product on a light-grey backdrop is the case the salient-object mask gets wrong: it finds
a detail (a zip, a cuff, a collar) and calls the white body around it backdrop, so whitening the
backdrop erases most of the product, painting out "props" erases parts of it and framing crops to
the detail. The "backdrop" the mask leaves is compared with what a backdrop is, smooth light: its
pixels away from the product's edge (outside the mask grown by ``unplain_band_frac`` of the long
side, at ``unplain_side`` px) that are light (darkest channel >= ``light_px``) and differ from the
smooth backdrop estimate (:func:`analyzer.fix.ops.backdrop_field`) by more than ``unplain_rgb`` in
any channel are folds, seams and knit of a light object, not backdrop. When they cover at least
``erase_min`` of the frame and more than ``erase_ratio`` times the area the mask is sure of
(probability >= ``core_prob``), the product is too close to the backdrop's colour to be cut out
safely: those three fixes leave the photo alone (with a note) and the others (colour, output)
still run. A plain backdrop (tinted, grey, a gradient, a vignette) has no such pixels, so the
guard cannot fire there; a textured backdrop (a bed, a rug) around a product the mask is sure of
stays under the ratio.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.fix.ops import backdrop_field
from analyzer.fix.types import FixState


def unplain_light(rgb: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray,
                  th: dict) -> tuple[float, float]:
    """The light, non-plain part of the would-be backdrop: (share of that backdrop, share of
    the frame)."""
    h, w = alpha.shape
    s = min(1.0, float(th["unplain_side"]) / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    bd = cv2.resize(backdrop, size, interpolation=cv2.INTER_AREA)
    fg = (cv2.resize(alpha, size, interpolation=cv2.INTER_AREA) > 0.02).astype(np.uint8)
    r = max(1, round(float(th["unplain_band_frac"]) * max(size)))
    fg = cv2.dilate(fg, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    region = fg == 0
    if region.sum() < 64:
        return 0.0, 0.0
    odd = (np.abs(small - bd).max(axis=2) > float(th["unplain_rgb"])) & (
        small.min(axis=2) >= float(th["light_px"])) & region
    return float(odd.sum() / region.sum()), float(odd.mean())


def two_levels(rgb: np.ndarray, alpha: np.ndarray, th: dict) -> bool:
    """Whether the light would-be backdrop is two flat levels rather than one light (a plain
    backdrop and the flat body of a light product the mask missed, e.g. 242 and 232): its luma
    split in two by Otsu's threshold (Otsu, IEEE SMC 9(1), 1979) gives two parts of at least
    ``levels_min_share`` each, ``levels_min_gap`` apart, that explain at least ``levels_min_eta``
    of its variance (a gradient or vignette spreads its levels evenly: about 0.75)."""
    h, w = alpha.shape
    s = min(1.0, 256 / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    y = cv2.cvtColor(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    a = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    v = y[(a < 0.02) & (y >= int(th["light_px"]))].astype(np.float32)
    if len(v) < 64 or float(v.var()) < 1e-6:
        return False
    hist = np.bincount(v.astype(np.int64), minlength=256).astype(np.float64)
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


def product_doubt(state: FixState) -> str | None:
    """The reason the product cannot be cut out safely, or None. Computed on the first call
    (from the mask as the analysis made it) and kept on ``state``; the later fixes get the same
    answer. Also keeps, for the background's cropped-product guard, ``state.unplain_share`` (the
    light non-plain share of the would-be backdrop) and ``state.two_levels``."""
    if state.doubt_checked:
        return state.doubt
    th = state.rules["background"]
    core = float((state.alpha >= float(th["core_prob"])).mean())
    # The backdrop as the matte will see it: the probability stretched by alpha_low/alpha_high
    # (a mask unsure everywhere, 0.02-0.1 over the product, still leaves it to be whitened).
    lo, hi = float(th["alpha_low"]), float(th["alpha_high"])
    alpha = np.clip((state.alpha - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
    backdrop = backdrop_field(state.rgb, alpha, int(th["backdrop_side"]))
    share, frame = unplain_light(state.rgb, alpha, backdrop, th)
    state.unplain_share = share
    state.two_levels = two_levels(state.rgb, alpha, th)
    state.doubt_checked = True
    if frame >= float(th["erase_min"]) and frame > float(th["erase_ratio"]) * core:
        state.doubt = (
            f"the product is too close to the backdrop colour to cut out safely: {frame:.0%} of "
            f"the frame around what the mask found is light and has folds, seams or texture "
            f"(most likely more of a light product), against {core:.0%} the mask is sure of; "
            "the backdrop, framing and props were left as they are so nothing of the product is "
            "erased; shoot it on a contrasting backdrop (a white product on mid grey or a colour)")
    return state.doubt
