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

The light or the backdrop? A tinted backdrop is either a white one under a coloured light (a
cast: correct it) or a coloured surface (a wooden floor, a pink blanket, a yellow wall under
the camera's already balanced light: correcting it turns a cream lace mint and jeans cyan). A
light tints everything it falls on, so the product is asked too: its own illuminant estimate by
the grey-edge hypothesis (the Minkowski ``p``-norm of each linear channel's gradient over the
product's core, van de Weijer, Gevers & Gijsenij, "Edge-based color constancy", IEEE TIP 16(9),
2007), and the share of the backdrop's tint that it shows,
``share = <c(e_p) - n, c(e_b) - n> / |c(e_b) - n|^2`` with ``c`` the chromaticity ``v / sum(v)``
and ``n`` neutral: 1 when the product's edges carry the backdrop's tint, 0 (or below) when they
do not. A product colour at right angles to the tint drops out of the projection; one of the
backdrop's own hue (a beige sweater on a beige carpet) cannot be told apart and is corrected.
Under ``min_product_share`` the backdrop's colour is its own: the fix is skipped with a note.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.fix.types import Change, ChangeCode, FixKind, FixState
from analyzer.quality.clutter import to_work_size
from analyzer.vision.srgb import linear_to_srgb, srgb_to_linear

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


def product_illuminant(rgb: np.ndarray, alpha: np.ndarray, th: dict) -> np.ndarray | None:
    """The grey-edge illuminant estimate (linear RGB, module doc) of the product's core, or None
    when the product has too few unclipped pixels to say. The core is the product (alpha > 0.5)
    eroded by ``edge_core_frac`` of the long side, so the outline's edges, half backdrop, do
    not vote; measured on a copy at most ``edge_work_side`` px long."""
    side = int(th["edge_work_side"])
    rgb, alpha = to_work_size(rgb, side), to_work_size(alpha, side)
    lin = cv2.GaussianBlur(srgb_to_linear(rgb.astype(np.float32) / 255.0), (0, 0),
                           float(th["edge_sigma"]))
    r = max(1, round(float(th["edge_core_frac"]) * max(rgb.shape[:2])))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    core = cv2.erode((alpha > 0.5).astype(np.uint8), disk) > 0
    # clipped pixels have lost the light's colour (blown highlights, crushed shadows)
    core &= (lin.max(axis=2) < 0.95) & (lin.min(axis=2) > 0.005)
    if int(core.sum()) < int(th["edge_min_pixels"]):
        return None
    p = float(th["edge_p"])
    est = []
    for c in range(3):
        g = cv2.magnitude(cv2.Sobel(lin[..., c], cv2.CV_32F, 1, 0),
                          cv2.Sobel(lin[..., c], cv2.CV_32F, 0, 1))[core].astype(np.float64)
        est.append(float(np.mean(g ** p)) ** (1.0 / p))
    e = np.asarray(est)
    return e if e.sum() > 0 else None


def tint_share(product: np.ndarray, patch: np.ndarray) -> float:
    """How much of the backdrop patch's tint the product's estimate shows (module doc): 1 = all
    of it, 0 = none; 1 when the patch has no tint to speak of."""
    n = np.full(3, 1.0 / 3.0)
    db = np.asarray(patch, np.float64) / max(float(np.sum(patch)), 1e-12) - n
    dp = product / max(float(product.sum()), 1e-12) - n
    norm = float(db @ db)
    return 1.0 if norm < 1e-8 else float(dp @ db) / norm


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
    rgb8 = np.rint(linear_to_srgb(patch) * 255).astype(int)
    prod = product_illuminant(state.rgb, state.alpha, th)
    share = tint_share(prod, patch) if prod is not None else 1.0
    if share < float(th["min_product_share"]):
        state.notes.append(
            f"colour not corrected: the backdrop reads RGB {rgb8[0]},{rgb8[1]},{rgb8[2]}, but "
            f"the product does not share its tint ({100 * max(share, 0.0):.0f}% of it), so "
            "that is the colour of the floor, wall or cloth, not of the light; the product "
            "keeps its colours as shot. If they look wrong, set the white balance on a white "
            "card when you shoot")
        return None
    g = gains_for(patch, float(th["max_gain"]))
    state.rgb = apply_gains(state.rgb, g)
    return Change(ChangeCode.COLOR_CORRECTED,
                  f"colour cast removed: the backdrop's white read RGB "
                  f"{rgb8[0]},{rgb8[1]},{rgb8[2]}; channel gains {g[0]:.2f} / {g[1]:.2f} / "
                  f"{g[2]:.2f} (linear light)")
