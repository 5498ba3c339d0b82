"""The fixes the search simulation can try on a listing (the "what if" of the search panel):
whiten the background, crop so the product fills the frame. Which apply follows the quality
engine's flags, or the same facts measured on the photo."""

from __future__ import annotations

from typing import Any

import numpy as np

from analyzer.fix.ops import crop_to_fill, product_fill, whiten_background

WHITEN_FLAGS = ("BACKGROUND_NOT_WHITE", "BACKGROUND_OFF_WHITE", "CLUTTERED_BACKGROUND")
CROP_FLAGS = ("PRODUCT_TOO_SMALL", "OFF_CENTER")


def white_background_share(rgb: np.ndarray, mask: np.ndarray, ring: float = 0.05) -> float:
    """How white the background is at the photo's border: for each side, the share of its outer
    ``ring`` (background by the mask) whose every channel is >= 245; the second-whitest side's
    share is returned. The border is measured rather than all of the background, and two sides
    may be dark, because a garment often runs off the frame and a mask may miss a dark part of
    a product; a grey or cluttered background darkens all four sides."""
    h, w = mask.shape
    rh, rw = max(2, int(ring * h)), max(2, int(ring * w))
    sides = [(slice(0, rh), slice(None)), (slice(h - rh, h), slice(None)),
             (slice(None), slice(0, rw)), (slice(None), slice(w - rw, w))]
    shares = []
    for ys, xs in sides:
        bg = mask[ys, xs] < 0.5
        if bg.sum() < 8:
            continue
        shares.append(float((rgb[ys, xs][bg].min(axis=1) >= 245).mean()))
    if not shares:
        return 1.0
    shares.sort(reverse=True)
    return shares[1] if len(shares) > 1 else shares[0]


def plan_fixes(rgb: np.ndarray, mask: np.ndarray, flag_codes: set[str],
               cfg: Any) -> list[str]:
    """``cfg``: a :class:`analyzer.search.search_config.SearchConfig` (its ``whiten_below`` and
    ``crop_below_fill``)."""
    fixes = []
    if flag_codes & set(WHITEN_FLAGS) or white_background_share(rgb, mask) < cfg.whiten_below:
        fixes.append("whiten_background")
    if flag_codes & set(CROP_FLAGS) or product_fill(mask) < cfg.crop_below_fill:
        fixes.append("crop_to_fill")
    return fixes


def apply_fixes(rgb: np.ndarray, mask: np.ndarray, fixes: list[str],
                fill: float) -> tuple[np.ndarray, np.ndarray]:
    out, m = rgb, mask
    if "whiten_background" in fixes:
        out = whiten_background(out, m)
    if "crop_to_fill" in fixes:
        out, m = crop_to_fill(out, m, fill, white="whiten_background" in fixes
                              or white_background_share(out, m) >= 0.9)
    return out, m


def fix_words(fixes: list[str]) -> str:
    words = {"whiten_background": "whitening the background",
             "crop_to_fill": "cropping so the product fills 85% of the frame"}
    w = [words.get(f, f) for f in fixes]
    return (" and ".join(w)).capitalize()
