"""Colour cast corrected from the backdrop's white patch.

Measure: the backdrop pixels (product alpha < 0.02) whose luminance is in the top
``patch_top_share`` are the white patch; its median colour, in linear light, is the light's
colour as the camera saw it (the white-patch / "max-RGB" assumption of Land's Retinex; Ebner,
*Color Constancy*, Wiley 2007, ch. 4). Fix: von Kries channel gains in linear light,
g_c = max(R, G, B) / c of the patch, so the patch becomes neutral at its brightest channel (the
white patch assumption: that channel was not dimmed by the light's colour); gains clipped to
[1, max_gain]. Applied to the whole frame, product
included, since a cast comes from the light. A backdrop darker than ``min_patch_luma`` or none
at all is no white patch: the fix is skipped with a note.
"""

from __future__ import annotations

import numpy as np

from analyzer.fix.ops import linear_to_srgb, srgb_to_linear
from analyzer.fix.types import Change, ChangeCode, FixKind, FixState

KIND = FixKind.COLOR
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def white_patch(rgb: np.ndarray, alpha: np.ndarray, top_share: float) -> np.ndarray | None:
    """The median linear RGB of the backdrop's brightest ``top_share``; None without backdrop."""
    step = max(1, round(max(rgb.shape[:2]) / 512))
    px = rgb[::step, ::step][alpha[::step, ::step] < 0.02]
    if len(px) < 64:
        return None
    lin = srgb_to_linear(px.astype(np.float32) / 255.0)
    y = lin @ LUMA
    top = lin[y >= np.quantile(y, 1.0 - top_share)]
    return np.median(top, axis=0).astype(np.float32)


def gains_for(patch: np.ndarray, max_gain: float) -> np.ndarray:
    top = float(patch.max())
    return np.clip(top / np.maximum(patch, 1e-4), 1.0, max_gain).astype(np.float32)


def apply_gains(rgb: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Channel gains in linear light, through a 256-entry table per channel (exact for uint8)."""
    lin = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)
    out = np.empty_like(rgb)
    for c in range(3):
        lut = np.rint(linear_to_srgb(lin * gains[c]) * 255.0).astype(np.uint8)
        out[..., c] = lut[rgb[..., c]]
    return out


def apply(state: FixState) -> Change | None:
    th = state.rules["color"]
    patch = white_patch(state.rgb, state.alpha, float(th["patch_top_share"]))
    if patch is None or float(patch @ LUMA) < float(th["min_patch_luma"]):
        state.notes.append("colour cast not corrected: no light backdrop to take white from "
                           "(set the white balance on a white card when you shoot)")
        return None
    g = gains_for(patch, float(th["max_gain"]))
    state.rgb = apply_gains(state.rgb, g)
    rgb8 = np.rint(linear_to_srgb(patch) * 255).astype(int)
    return Change(ChangeCode.COLOR_CORRECTED,
                  f"colour cast removed: the backdrop's white read RGB "
                  f"{rgb8[0]},{rgb8[1]},{rgb8[2]}; channel gains {g[0]:.2f} / {g[1]:.2f} / "
                  f"{g[2]:.2f} (linear light)")
