"""Where the product sits in the frame: how much of it it fills, whether it is cut off, centred.

The product box is the bounding box of the product mask's main parts: connected components of at
least ``min_component_rel`` of the largest one (and ``min_component_abs`` of the frame), so specks
and a stray shadow do not stretch the box. Measures:

- ``fill``: the box's span of the frame, ``max(box_w / W, box_h / H)``. Marketplace "fill 85%"
  rules are read as the product spanning that share of the frame (marketplace-rules.md, "Notes");
  on a square frame this is the share of the longer side, and on any frame it is the axis along
  which the product could not be enlarged further. Compared with the marketplace's ``fill_target``.
- ``fill_area``: mask pixels / frame pixels; ``bbox_area``: box area / frame area.
- ``center_offset``: ``max(|cx - 0.5|, |cy - 0.5|)`` of the box centre in frame fractions.
- ``edge_touch_sides``: sides of the frame where the product reaches the edge on at least
  ``touch_min`` of the side's length: the mask is in the outer ``edge_band_frac`` band, or it comes
  within ``near_edge_frac`` of the edge and the pixels between it and the edge are not
  background-coloured (masks stop short of a cut edge). A touching side is a cut-off when the
  border elsewhere is background (``border_bg_min`` of the border pixels), i.e. the frame is not a
  full-bleed close-up.

Score: ``100 * ramp(fill)`` (100 at the target, 0 at ``fill_bad``) minus ``cut_off_penalty`` per
cut-off side and ``ramp`` of the centre offset times ``off_center_penalty``, floored at 0.
The box goes to the metrics as frame fractions (``bbox_x0`` ... ``bbox_y1``) for the dashboard.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.quality.context import ImageContext
from analyzer.quality.registry import register
from analyzer.results import CheckResult, Flag

NAME = "framing"
SIDES = ("top", "bottom", "left", "right")


def main_parts(mask: np.ndarray, min_component_rel: float = 0.05,
               min_component_abs: float = 0.001) -> np.ndarray:
    """The mask's connected components that are at least ``min_component_rel`` of the largest
    and ``min_component_abs`` of the frame (8-connectivity)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep_min = max(float(areas.max()) * min_component_rel, min_component_abs * mask.size)
    keep = np.zeros(n, bool)
    keep[1:] = areas >= keep_min
    return keep[labels]


def box_of(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), exclusive end, of the True pixels; None if there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


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
    # Colour distances only in the four bands, not the whole frame.
    bands = {"top": lab[:near], "bottom": lab[-near:], "left": lab[:, :near],
             "right": lab[:, -near:]}
    fars = {k: _sides(np.linalg.norm(v - ref, axis=2) > differ_de, near)[k]
            for k, v in bands.items()}
    masks = _sides(mask, near)
    out = {}
    for s in SIDES:
        mk, fr = masks[s], fars[s].astype(np.float32)
        has = mk.any(axis=0)
        first = np.argmax(mk, axis=0)  # rows of backdrop-or-product between edge and mask
        csum = np.vstack([np.zeros((1, fr.shape[1]), np.float32), np.cumsum(fr, axis=0)])
        gap = csum[first, np.arange(fr.shape[1])] / np.maximum(first, 1)
        out[s] = float((has & ((first == 0) | (gap >= gap_share))).mean())
    return out


def measure_framing(mask: np.ndarray, th: dict, lab: np.ndarray | None = None
                    ) -> dict[str, float]:
    """Fill, centring and edge contact of the product ``mask`` (see the module docstring).

    With ``lab`` (the image in CIE L*a*b*), edge contact is confirmed in the pixels
    (:func:`edge_touch_image`); without it, it is read from the mask alone (:func:`edge_touch`).
    """
    h, w = mask.shape
    parts = main_parts(mask, float(th["min_component_rel"]), float(th["min_component_abs"]))
    box = box_of(parts)
    band = max(1, round(float(th["edge_band_frac"]) * min(h, w)))
    border = np.concatenate([parts[:band].ravel(), parts[-band:].ravel(),
                             parts[:, :band].ravel(), parts[:, -band:].ravel()])
    touch = edge_touch(parts, float(th["edge_band_frac"]))
    if lab is not None and box is not None:
        bg = ~parts
        if bg.mean() > 0.01:
            step = max(1, round(max(h, w) / 256))  # the median of a 256 px grid is plenty
            bg_lab = np.median(lab[::step, ::step][bg[::step, ::step]], axis=0)
            by_image = edge_touch_image(parts, lab, bg_lab, float(th["near_edge_frac"]),
                                        float(th["differ_de"]), float(th["gap_share"]))
            touch = {s: max(touch[s], by_image[s]) for s in SIDES}
    m: dict[str, float] = {
        "product_found": float(box is not None),
        "fill_area": float(parts.mean()),
        "border_background_fraction": float(1.0 - border.mean()),
    }
    if box is None:
        m.update({"fill": 0.0, "bbox_area": 0.0, "center_offset": 0.0, "center_offset_x": 0.0,
                  "center_offset_y": 0.0, "edge_touch_sides": 0.0})
        return m
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2.0 / w - 0.5, (y0 + y1) / 2.0 / h - 0.5
    touch_min = float(th["touch_min"])
    m.update({
        "fill": float(max((x1 - x0) / w, (y1 - y0) / h)),
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


def _ramp(x: float, good: float, bad: float) -> float:
    """1 at ``good``, 0 at ``bad``, linear between (either direction)."""
    if good == bad:
        return 1.0 if x >= good else 0.0
    return float(1.0 - min(1.0, max(0.0, (x - good) / (bad - good))))


def score_framing(m: dict[str, float], target: float, th: dict) -> float:
    """0-100: fill against ``target``, less penalties for cut-off sides and off-centring."""
    if m["product_found"] < 1:
        return 0.0
    s = 100.0 * _ramp(m["fill"], target, float(th["fill_bad"]))
    s -= float(th["cut_off_penalty"]) * len(cut_off_sides(m, th))
    s -= float(th["off_center_penalty"]) * (
        1.0 - _ramp(m["center_offset"], float(th["center_ok"]), float(th["center_bad"])))
    return float(max(0.0, s))


def flag_framing(ctx: ImageContext, m: dict[str, float], target: float, th: dict) -> list[Flag]:
    """PRODUCT_TOO_SMALL, PRODUCT_CUT_OFF and OFF_CENTER for these measures."""
    label = ctx.marketplace.label
    flags: list[Flag] = []
    if m["product_found"] < 1:
        flags.append(ctx.flag(
            "PRODUCT_TOO_SMALL",
            f"no distinct product was found in the frame; {label} asks the product to fill "
            f"about {target:.0%} of it",
            "Photograph the product on its own against a plain backdrop, close enough to fill "
            "the frame.", NAME))
        return flags
    if m["fill"] < target - float(th["fill_tolerance"]):
        flags.append(ctx.flag(
            "PRODUCT_TOO_SMALL",
            f"product spans {m['fill']:.0%} of the frame; {label} asks about {target:.0%}",
            f"Crop closer (or shoot closer) so the product spans at least {target:.0%} of the "
            f"frame, leaving a small even margin.", NAME))
    cut = cut_off_sides(m, th)
    if cut:
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
    m = measure_framing(ctx.mask_bool, th, ctx.lab)
    m["fill_target"] = target
    return CheckResult(name=NAME, score=score_framing(m, target, th), metrics=m,
                       flags=flag_framing(ctx, m, target, th))
