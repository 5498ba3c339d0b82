"""Where the product sits in the frame: how much of it it fills, whether it is cut off, centred.

The product box is the bounding box of the product mask's main parts: connected components of at
least ``min_component_rel`` of the largest one (and ``min_component_abs`` of the frame), so specks
and a stray shadow do not stretch the box. Measures:

- ``fill_frame``: the box's span of the photo's own frame, ``max(box_w / W, box_h / H)``.
  Marketplace "fill 85%" rules are read as the product spanning that share of the frame
  (marketplace-rules.md, "Notes"); on a square frame this is the share of the longer side, and on
  any frame it is the axis along which the product could not be enlarged further.
- ``display_scale``: how much a search tile shrinks the photo beyond what its shape allows. A
  grid tile shows a photo whole, so a frame wider than ``display_aspect_max`` (4:3, the widest
  shape marketplace-rules.md names: Etsy's thumbnails; Walmart and Shopify ask for square) or
  taller than its inverse is fitted by its long side: ``min(1, T / a, a * T)`` for the frame's
  aspect ``a = W / H`` and ``T = display_aspect_max`` (give or take
  ``display_aspect_tolerance``). 1 for every usual shape (3:4 to 4:3).
- ``fill``: the span shoppers see, ``max(box_w / W * sx, box_h / H * sy)`` with the short axis's
  share scaled by ``display_scale`` (``sy`` for a wide frame, ``sx`` for a tall one): equal to
  ``fill_frame`` on a usual shape, and a product filling the height of a 4:1 panorama spans a
  third of its tile, as the seller sees it there. Compared with the marketplace's
  ``fill_target``.
- ``fill_area``: mask pixels / frame pixels; ``bbox_area``: box area / frame area.
- ``center_offset``: ``max(|cx - 0.5|, |cy - 0.5|)`` of the box centre in frame fractions.
- ``edge_touch_sides``: sides of the frame where the product reaches the edge on at least
  ``touch_min`` of the side's length: the mask is in the outer ``edge_band_frac`` band, or it comes
  within ``near_edge_frac`` of the edge and the pixels between it and the edge are not
  background-coloured (masks stop short of a cut edge). A touching side is a cut-off when the
  border elsewhere is background (``border_bg_min`` of the border pixels), i.e. the frame is not a
  full-bleed close-up.
- ``skin_fraction_upper``: skin-coloured share of the upper half of the mask. Apparel worn by a
  model and cropped at the head or the feet (one cut-off side, top or bottom, with a face, neck or
  arms in the upper half) is what marketplaces accept for clothing; the mask takes the whole model
  for the product, so such a cut-off is a note (info) without a score penalty
  (:func:`model_crop`).
- ``frame_l_std``: L* std of the frame. NO_PRODUCT (an error) is a blank upload: one flat tone, or
  no product found (mask under ``no_product_area``) on a plain frame (:func:`no_product`).

Score: ``100 * ramp(fill)`` (100 at the target, 0 at ``fill_bad``) minus ``cut_off_penalty`` per
cut-off side (none for a model crop) and ``ramp`` of the centre offset times
``off_center_penalty``, floored at 0; 0 when no product is found.
The box goes to the metrics as frame fractions (``bbox_x0`` ... ``bbox_y1``) for the dashboard.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from analyzer.codes import Severity
from analyzer.quality.context import ImageContext
from analyzer.quality.registry import register
from analyzer.quality.resolution import parse_aspects
from analyzer.quality.scoring import ramp
from analyzer.results import CheckResult, Flag
from analyzer.vision.mask_ops import bbox_of, large_components

NAME = "framing"
SIDES = ("top", "bottom", "left", "right")


def edge_touch(mask: np.ndarray, band_frac: float = 0.005) -> dict[str, float]:
    """Share of each side's length where the product mask reaches the outer band of the frame."""
    h, w = mask.shape
    b = max(1, round(band_frac * min(h, w)))
    return {
        "top": float(mask[:b].any(axis=0).mean()),
        "bottom": float(mask[-b:].any(axis=0).mean()),
        "left": float(mask[:, :b].any(axis=1).mean()),
        "right": float(mask[:, -b:].any(axis=1).mean()),
    }


def _sides(a: np.ndarray, b: int) -> dict[str, np.ndarray]:
    """The outer ``b`` rows/columns of ``a`` on each side, oriented side-length first."""
    return {"top": a[:b], "bottom": a[-b:][::-1], "left": np.swapaxes(a[:, :b], 0, 1),
            "right": np.swapaxes(a[:, -b:], 0, 1)[::-1]}


def edge_touch_image(mask: np.ndarray, lab: np.ndarray, bg_lab: np.ndarray,
                     near_frac: float = 0.1, differ_de: float = 12.0,
                     gap_share: float = 0.9) -> dict[str, float]:
    """Share of each side's length where the product runs off the frame, checked in the pixels.

    Salient-object masks often stop short of the frame edge where the product is cut, so the mask
    alone misses cut-offs. A position along a side counts when the mask comes within
    ``near_frac`` of the short side of the edge there and at least ``gap_share`` of the pixels
    between the mask and the edge differ from the background colour ``bg_lab`` by more than
    ``differ_de`` (Delta E 1976): product, not backdrop, fills the gap to the edge.
    """
    h, w = mask.shape
    near = max(1, round(near_frac * min(h, w)))
    ref = bg_lab.reshape(1, 1, 3).astype(np.float32)
    # Colour distances only in the four bands, not the whole frame; squared distances compared
    # with differ_de ** 2 (cv2.transform sums the squared channels per pixel in one pass).
    bands = {"top": lab[:near], "bottom": lab[-near:], "left": lab[:, :near],
             "right": lab[:, -near:]}
    ones = np.ones((1, 3), np.float32)

    def far(v: np.ndarray) -> np.ndarray:
        # OpenCV subtracts the per-channel scalar in one pass; NumPy's broadcast over a
        # length-3 last axis is several times slower.
        d = cv2.subtract(np.ascontiguousarray(v, dtype=np.float32),
                         (float(ref[0, 0, 0]), float(ref[0, 0, 1]), float(ref[0, 0, 2]), 0.0))
        cv2.multiply(d, d, dst=d)
        return cv2.transform(d, ones) > differ_de ** 2

    fars = {k: _sides(far(v), near)[k] for k, v in bands.items()}
    masks = _sides(mask, near)
    out = {}
    rows = np.arange(near)[:, None]
    for s in SIDES:
        mk, fr = masks[s], fars[s]
        has = mk.any(axis=0)
        first = np.argmax(mk, axis=0)  # rows of backdrop-or-product between edge and mask
        # Far-from-backdrop pixels in the rows before the mask, counted per position.
        gap = np.count_nonzero(fr & (rows < first), axis=0) / np.maximum(first, 1)
        out[s] = float((has & ((first == 0) | (gap >= gap_share))).mean())
    return out


def skin_fraction(rgb: np.ndarray, region: np.ndarray) -> float:
    """Share of ``region`` pixels in the skin-colour box of Chai & Ngan ("Face segmentation using
    skin-color map in videophone applications", IEEE TCSVT 9(4), 1999): Cr 133-173, Cb 77-127."""
    if not region.any():
        return 0.0
    step = max(1, round(max(region.shape) / 256))  # a 256 px grid is plenty for a share
    ycc = cv2.cvtColor(np.ascontiguousarray(rgb[::step, ::step]), cv2.COLOR_RGB2YCrCb)
    r = region[::step, ::step]
    if not r.any():
        return 0.0
    cr, cb = ycc[..., 1][r], ycc[..., 2][r]
    return float(((cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)).mean())


def _upper_half(mask: np.ndarray) -> np.ndarray:
    """The part of ``mask`` in the upper half of its own vertical extent (a model's head, neck
    and arms)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return mask
    out = mask.copy()
    out[(rows[0] + rows[-1] + 1) // 2:] = False
    return out


def _grid_steps(h: int, w: int) -> tuple[int, int]:
    """Row and column steps of a ~256 px sampling grid; a thin axis (a 20 x 4000 strip) keeps
    at least 64 samples, where one step for both axes read only two of its columns."""
    step = max(1, round(max(h, w) / 256))
    return max(1, min(step, h // 64)), max(1, min(step, w // 64))


def display_scale(w: int, h: int, th: dict) -> float:
    """How much a search tile shrinks a ``w`` x ``h`` photo beyond what a usual shape allows:
    ``min(1, T / a, a * T)``, ``a = w / h``, ``T = display_aspect_max`` widened by
    ``display_aspect_tolerance`` (a 400 x 534 phone photo is 3:4; module docstring)."""
    a = w / max(h, 1)
    t = parse_aspects(th["display_aspect_max"])[0] * (1.0 + float(th["display_aspect_tolerance"]))
    return float(min(1.0, t / a, a * t))


def measure_framing(mask: np.ndarray, th: dict, lab: np.ndarray | None = None,
                    rgb: np.ndarray | None = None) -> dict[str, float]:
    """Fill, centring and edge contact of the product ``mask`` (see the module docstring).

    With ``lab`` (the image in CIE L*a*b*), edge contact is confirmed in the pixels
    (:func:`edge_touch_image`); without it, it is read from the mask alone (:func:`edge_touch`).
    """
    h, w = mask.shape
    parts = large_components(mask, float(th["min_component_rel"]), float(th["min_component_abs"]))
    box = bbox_of(parts)
    band = max(1, round(float(th["edge_band_frac"]) * min(h, w)))
    border = np.concatenate([parts[:band].ravel(), parts[-band:].ravel(),
                             parts[:, :band].ravel(), parts[:, -band:].ravel()])
    touch = edge_touch(parts, float(th["edge_band_frac"]))
    if lab is not None and box is not None:
        bg = ~parts
        if np.count_nonzero(bg) / bg.size > 0.01:
            sy, sx = _grid_steps(h, w)  # the median of a 256 px grid is plenty
            bg_lab = np.median(lab[::sy, ::sx][bg[::sy, ::sx]], axis=0)
            by_image = edge_touch_image(parts, lab, bg_lab, float(th["near_edge_frac"]),
                                        float(th["differ_de"]), float(th["gap_share"]))
            touch = {s: max(touch[s], by_image[s]) for s in SIDES}
    m: dict[str, float] = {
        "product_found": float(box is not None),
        "fill_area": float(np.count_nonzero(parts) / parts.size),
        "mask_area": float(np.count_nonzero(mask) / mask.size),
        "skin_fraction_upper": skin_fraction(rgb, _upper_half(parts)) if rgb is not None
        else 0.0,
        "border_background_fraction": float(1.0 - border.mean()),
    }
    if lab is not None:
        sy, sx = _grid_steps(h, w)
        m["frame_l_std"] = float(lab[::sy, ::sx, 0].std())
    if box is None:
        m.update({"fill": 0.0, "fill_frame": 0.0, "display_scale": display_scale(w, h, th),
                  "frame_aspect": float(w / h), "bbox_area": 0.0, "center_offset": 0.0,
                  "center_offset_x": 0.0, "center_offset_y": 0.0, "edge_touch_sides": 0.0})
        return m
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2.0 / w - 0.5, (y0 + y1) / 2.0 / h - 0.5
    touch_min = float(th["touch_min"])
    scale = display_scale(w, h, th)
    wide = w >= h
    m.update({
        "fill": float(max((x1 - x0) / w * (1.0 if wide else scale),
                          (y1 - y0) / h * (scale if wide else 1.0))),
        "fill_frame": float(max((x1 - x0) / w, (y1 - y0) / h)),
        "display_scale": scale,
        "frame_aspect": float(w / h),
        "bbox_area": float((x1 - x0) * (y1 - y0) / (w * h)),
        "bbox_x0": x0 / w, "bbox_y0": y0 / h, "bbox_x1": x1 / w, "bbox_y1": y1 / h,
        "center_offset_x": float(cx), "center_offset_y": float(cy),
        "center_offset": float(max(abs(cx), abs(cy))),
        "edge_touch_sides": float(sum(touch[s] >= touch_min for s in SIDES)),
    })
    for s in SIDES:
        m[f"edge_touch_{s}"] = touch[s]
    return m


def cut_off_sides(m: dict[str, float], th: dict) -> list[str]:
    """Sides where the product runs into the frame edge while the border elsewhere is background."""
    if m["product_found"] < 1 or m["border_background_fraction"] < float(th["border_bg_min"]):
        return []
    return [s for s in SIDES if m.get(f"edge_touch_{s}", 0.0) >= float(th["touch_min"])]


def no_distinct_product(m: dict[str, float], th: dict) -> bool:
    """The mask found no product: its main parts cover less than ``no_product_area`` of the
    frame (or nothing at all)."""
    return m["product_found"] < 1 or m["fill_area"] < float(th["no_product_area"])


def no_product(m: dict[str, float], th: dict) -> bool:
    """Nothing to sell in the frame: a blank upload. The whole frame is one flat tone (L* std
    below ``uniform_l_std``, where a saliency mask can still make up a faint blob), or no product
    was found on a plain frame (L* std below ``plain_l_std``: an all-white canvas with a speck).
    A busy frame where the mask finds nothing distinct (a pile of lemons) is not blank: that is
    PRODUCT_TOO_SMALL's "no distinct product"."""
    std = m.get("frame_l_std", 100.0)
    return std < float(th["uniform_l_std"]) or (
        no_distinct_product(m, th) and std < float(th["plain_l_std"]))


def far_too_small(ctx: ImageContext, m: dict[str, float], th: dict) -> bool:
    """A product spanning less than ``fill_error`` of the frame, on a marketplace whose
    ``search_suppression`` rule names a product too small (Amazon): an error there, not the
    fill target's warning. The target (85%) is a style rule a good photo may miss by a little
    (a clean studio photo spans 57-100%, an amateur one from 43%); under half the frame is the
    product lost in it (a product shot from across the room, or shrunk onto a canvas: graded A
    or B with the warning alone). Tune (72 luma shots): one clean photo under the line, a
    close-up whose span the mask misread (35%)."""
    return (m["fill"] < float(th["fill_error"])
            and "PRODUCT_TOO_SMALL" in ctx.marketplace.suppressed_codes())


def model_crop(m: dict[str, float], cut: list[str], th: dict) -> bool:
    """A person (apparel on a model) cropped at the head or the feet on purpose: the one cut-off
    side is the top or the bottom, and at least ``model_skin_min`` of the upper half of the
    product mask (face, neck, arms) reads as skin. The salient-object mask takes the whole model
    for the product, so the crop is the model's, not the garment's. A pack touching both the top
    and the bottom, or a product held in a hand low in the frame, stays a cut-off."""
    return len(cut) == 1 and cut[0] in ("top", "bottom") and \
        m.get("skin_fraction_upper", 0.0) >= float(th["model_skin_min"])


def score_framing(m: dict[str, float], target: float, th: dict) -> float:
    """0-100: fill against ``target``, less penalties for cut-off sides and off-centring."""
    if no_product(m, th) or no_distinct_product(m, th):
        return 0.0
    s = 100.0 * ramp(m["fill"], target, float(th["fill_bad"]))
    cut = cut_off_sides(m, th)
    if not model_crop(m, cut, th):
        s -= float(th["cut_off_penalty"]) * len(cut)
    s -= float(th["off_center_penalty"]) * (
        1.0 - ramp(m["center_offset"], float(th["center_ok"]), float(th["center_bad"])))
    return float(max(0.0, s))


def _too_small_words(m: dict[str, float], label: str, target: float,
                     th: dict) -> tuple[str, str]:
    """PRODUCT_TOO_SMALL's message and fix; a frame of an unusual shape says why its tile shows
    the product smaller than the photo does."""
    if m.get("display_scale", 1.0) >= 1.0:
        return (f"product spans {m['fill']:.0%} of the frame; {label} asks about {target:.0%}",
                f"Crop closer (or shoot closer) so the product spans at least {target:.0%} of "
                f"the frame, leaving a small even margin.")
    a = m["frame_aspect"]
    shape = f"{a:.1f}:1" if a >= 1 else f"1:{1 / a:.1f}"
    wide = str(th["display_aspect_max"])
    tall = ":".join(reversed(wide.split(":")))
    return (f"product spans {m['fill']:.0%} of a search tile; {label} asks about {target:.0%}: "
            f"the photo is {shape}, outside the {tall} to {wide} a tile shows whole, so the "
            f"tile shrinks it to {m['display_scale']:.0%} (the product spans "
            f"{m['fill_frame']:.0%} of the photo's own frame)",
            f"Crop the photo to a square around the product (or a shape between {tall} and "
            f"{wide}), so the product spans at least {target:.0%} of it.")


def flag_framing(ctx: ImageContext, m: dict[str, float], target: float, th: dict) -> list[Flag]:
    """NO_PRODUCT, PRODUCT_TOO_SMALL, PRODUCT_CUT_OFF and OFF_CENTER for these measures."""
    label = ctx.marketplace.label
    flags: list[Flag] = []
    if no_product(m, th):
        flat = m.get("frame_l_std", 100.0) < float(th["uniform_l_std"])
        what = (f"the image is one flat tone (lightness std {m['frame_l_std']:.1f}, under "
                f"{th['uniform_l_std']})" if flat else
                f"no product was found: the largest object covers {m['fill_area']:.2%} of the "
                f"frame (under {float(th['no_product_area']):.1%})")
        flags.append(ctx.flag(
            "NO_PRODUCT",
            f"{what}; {label} asks for the product to fill about {target:.0%} of the main image",
            "Upload the product photo itself (check that the right file was exported, not a "
            "blank or all-white canvas), with the product filling most of the frame.", NAME))
        return flags
    if no_distinct_product(m, th):
        flags.append(ctx.flag(
            "PRODUCT_TOO_SMALL",
            f"no distinct product was found in the frame; {label} asks the product to fill "
            f"about {target:.0%} of it",
            "Photograph the product on its own against a plain backdrop, close enough to fill "
            "the frame.", NAME))
        return flags
    cut = cut_off_sides(m, th)
    if m["fill"] < target - float(th["fill_tolerance"]):
        f = ctx.flag("PRODUCT_TOO_SMALL", *_too_small_words(m, label, target, th), check=NAME)
        if cut and not model_crop(m, cut, th):
            # cropping closer would cut more of a product the frame already cuts (an eleventh
            # new user's try: told both "crop to a square" and "step back")
            f = replace(f, fix="Re-shoot with the whole product in the frame, filling it "
                        "(a square, or close to it): a crop would cut more of it off.")
        if far_too_small(ctx, m, th):
            f = replace(f, severity=Severity.ERROR, message=(
                f"{f.message}: under half the "
                f"{'frame' if m.get('display_scale', 1.0) >= 1.0 else 'tile'}, where {label} "
                f"hides a listing from "
                f"search for a product too small in its main image"))
        flags.append(f)
    edges_txt = f"{', '.join(cut)} edge{'s' if len(cut) > 1 else ''}"
    if cut and model_crop(m, cut, th):
        # Marketplaces (Amazon, Walmart) accept apparel on a model cropped at the head or feet:
        # a note, not a warning, and no score penalty.
        flags.append(Flag(
            code="PRODUCT_CUT_OFF", severity="info",
            message=f"the model runs into the {edges_txt} of the frame "
                    f"({m['skin_fraction_upper']:.0%} of its upper half reads as skin): fine "
                    f"for apparel on a model cropped on purpose; the garment should be whole",
            fix="Check that the whole garment (collar to hem) is in the frame; crop the model, "
                "not the product.", check=NAME))
    elif cut:
        flags.append(ctx.flag(
            "PRODUCT_CUT_OFF",
            f"product runs into the {', '.join(cut)} edge{'s' if len(cut) > 1 else ''} of the "
            f"frame; the whole product should be visible",
            "Step back or zoom out so the whole product is in the frame with a small margin on "
            "every side.", NAME))
    if m["center_offset"] > float(th["center_flag"]) and not cut:
        dx, dy = m["center_offset_x"], m["center_offset_y"]
        horiz = "right" if dx > 0 else "left"
        vert = "low" if dy > 0 else "high"
        where = horiz if abs(dx) >= abs(dy) else vert
        flags.append(ctx.flag(
            "OFF_CENTER",
            f"product is off-centre (sits {where}, {m['center_offset']:.0%} of the frame from "
            f"the centre)",
            "Re-crop so the product sits in the middle of the frame.", NAME))
    return flags


@register(NAME)
def check(ctx: ImageContext) -> CheckResult:
    th = ctx.thresholds(NAME)
    target = float(ctx.marketplace.value("fill_target", th["default_fill_target"]))
    m = measure_framing(ctx.mask_bool, th, ctx.lab, ctx.rgb)
    m["fill_target"] = target
    return CheckResult(name=NAME, score=score_framing(m, target, th), metrics=m,
                       flags=flag_framing(ctx, m, target, th))
