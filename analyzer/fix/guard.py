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
stays under the ratio. Before refusing, the backdrop grown from the frame's border
(:mod:`analyzer.fix.cutout`) is tried in place of the mask (see :func:`product_doubt`).
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.fix.cutout import grow_backdrop
from analyzer.fix.ops import backdrop_field, otsu_two_levels, sides_touched, stretch_alpha
from analyzer.fix.types import FixState


def unplain_light(rgb: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray,
                  th: dict) -> tuple[float, float]:
    """The light, non-plain part of the would-be backdrop: (share of that backdrop, share of
    the frame)."""
    odd, region = unplain_map(rgb, alpha, backdrop, th)
    if region.sum() < 64:
        return 0.0, 0.0
    return float(odd.sum() / region.sum()), float(odd.mean())


def unplain_map(rgb: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray,
                th: dict) -> tuple[np.ndarray, np.ndarray]:
    """(the light non-plain pixels, the would-be backdrop away from the product's edge), both at
    ``unplain_side`` px."""
    h, w = alpha.shape
    s = min(1.0, float(th["unplain_side"]) / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    bd = cv2.resize(backdrop, size, interpolation=cv2.INTER_AREA)
    fg = (cv2.resize(alpha, size, interpolation=cv2.INTER_AREA) > 0.02).astype(np.uint8)
    r = max(1, round(float(th["unplain_band_frac"]) * max(size)))
    fg = cv2.dilate(fg, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    region = fg == 0
    odd = (np.abs(small - bd).max(axis=2) > float(th["unplain_rgb"])) & (
        small.min(axis=2) >= float(th["light_px"])) & region
    return odd, region


def cut_explains(rgb: np.ndarray, prob: np.ndarray, cut: np.ndarray, th: dict) -> float:
    """Share of the guard's evidence (the light non-plain pixels around the analysis's mask:
    folds, seams, knit) that lies inside the *solid* part of the cut's product (opened by a disk
    ``solid_frac`` of the long side wide). A cut that found a light product's body holds its
    folds inside; one that grew over the flat parts of a garment leaves the folds as a thin
    network at its edges, which the opening removes. 1.0 when there is no evidence."""
    alpha = stretch_alpha(prob, th)
    odd, _ = unplain_map(rgb, alpha, backdrop_field(rgb, alpha, int(th["backdrop_side"])), th)
    if not odd.any():
        return 1.0
    h, w = odd.shape
    solid = (cv2.resize(cut, (w, h), interpolation=cv2.INTER_AREA) >= 0.5).astype(np.uint8)
    r = max(1, round(float(th["solid_frac"]) * max(h, w)))
    solid = cv2.morphologyEx(solid, cv2.MORPH_OPEN,
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return float(solid[odd].mean())


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
    return otsu_two_levels(v, th)


def _doubt_of(state: FixState, prob: np.ndarray, th: dict) -> tuple[str | None, float, bool]:
    """The guard on the product probability ``prob``: (the reason, or None; the light non-plain
    share of the would-be backdrop; whether that backdrop is two flat levels)."""
    core = float((prob >= float(th["core_prob"])).mean())
    # The backdrop as the matte will see it: the probability stretched by alpha_low/alpha_high
    # (a mask unsure everywhere, 0.02-0.1 over the product, still leaves it to be whitened).
    alpha = stretch_alpha(prob, th)
    backdrop = backdrop_field(state.rgb, alpha, int(th["backdrop_side"]))
    share, frame = unplain_light(state.rgb, alpha, backdrop, th)
    levels = two_levels(state.rgb, alpha, th)
    if frame >= float(th["erase_min"]) and frame > float(th["erase_ratio"]) * core:
        return (
            f"the product is too close to the backdrop colour to cut out safely: {frame:.0%} of "
            f"the frame around what the mask found is light and has folds, seams or texture "
            f"(most likely more of a light product), against {core:.0%} the mask is sure of; "
            "the backdrop, framing and props were left as they are so nothing of the product is "
            "erased; shoot it on a contrasting backdrop (a white product on mid grey or a colour)"
        ), share, levels
    return None, share, levels


def product_doubt(state: FixState) -> str | None:
    """The reason the product cannot be cut out safely, or None. Computed on the first call and
    kept on ``state``; the later fixes get the same answer. When the guard doubts the analysis's
    mask, or the light would-be backdrop is two flat levels (:func:`two_levels`: a plain
    backdrop and the flat body of a light product the mask missed), the backdrop is grown from
    the frame's border instead
    (:func:`analyzer.fix.cutout.grow_backdrop`); when the guard, asked again with that cut, no
    longer doubts it, the product it leaves does not run off the frame on two or more sides
    (there the border may be more of a light garment) and that product's solid part holds the
    guard's evidence (:func:`cut_explains`), the cut replaces ``state.alpha`` (with a
    note) and the fixes go on.
    Also keeps, for the background's cropped-product guard, ``state.unplain_share`` (the light
    non-plain share of the would-be backdrop) and ``state.two_levels``, both from the analysis's
    mask: the evidence that a light "backdrop" was more of the product stays, whatever the cut."""
    if state.doubt_checked:
        return state.doubt
    th = state.rules["background"]
    doubt, state.unplain_share, state.two_levels = _doubt_of(state, state.alpha, th)
    state.doubt_checked = True
    if doubt or state.two_levels:
        cut = grow_backdrop(state.rgb, state.alpha, th)
        if (cut is not None and _doubt_of(state, cut, th)[0] is None
                and sides_touched(cut >= 0.5, float(th["touch_band_frac"]),
                                  float(th["touch_min"])) < 2
                and cut_explains(state.rgb, state.alpha, cut, th) >= float(th["explain_min"])):
            state.alpha = cut
            state.notes.append(
                "the mask found only part of a light product on a light backdrop: the backdrop "
                "was grown from the frame's border over the smooth light surface instead, and "
                "only what both call backdrop is changed")
            doubt = None
    state.doubt = doubt
    return state.doubt
