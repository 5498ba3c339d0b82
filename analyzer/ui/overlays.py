"""Overlay images for the report card: pure functions from arrays to RGB uint8 arrays.

Each overlay is drawn on the working-size photo (``LoadedImage.rgb``); maps produced by the checks
(``CheckResult.maps``) may be at a different size and are resized to it. Nothing here knows about
Streamlit. :func:`available_overlays` lists what can be shown for one report and, for what cannot,
why not, so the dashboard can grey the option out with a note instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from analyzer.codes import MapKind
from analyzer.quality.registry import map_producers

# (check, map-key fragments) the dashboard looks for, in order; key names come from the checks.
OVERLAY_LABELS = {
    "photo": "Photo",
    "mask": "Product mask",
    "blur": "Blur map",
    "edges": "Clutter / edges",
    "fill": "Fill box (target)",
    "white": "Pure-white background",
    "overlays": "Text / overlays",
}

OVERLAY_LEGENDS = {
    "photo": "The photo as analysed (working size).",
    "mask": "Green: what the tool takes as the product. The background is dimmed.",
    "blur": "Red: edges that are soft or blurred (the redder, the blurrier). Sharp edges and "
            "flat areas stay clear.",
    "edges": "Edges and texture outside the product (props, patterns, clutter) in red.",
    "fill": "Blue: the product's bounding box. Dashed orange: the fill target, centred.",
    "white": "Background pixels: green = pure white (255,255,255), red = not pure white.",
    "overlays": "Regions that look like text, logos, inset pictures or borders.",
}


@dataclass(frozen=True)
class OverlayOption:
    key: str
    label: str
    available: bool
    reason: str = ""


def to_unit(m: np.ndarray) -> np.ndarray:
    """Any map (bool, uint8, float in any range) to float32 in [0, 1].

    Floats already in [0, 1] are kept; others are scaled between their 1st and 99th percentile,
    so a few extreme pixels do not wash the map out. NaNs become 0.
    """
    a = np.asarray(m)
    if a.dtype == bool:
        return a.astype(np.float32)
    a = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if a.dtype == np.float32 and a.size and a.min() >= 0.0 and a.max() <= 1.0 and \
            np.asarray(m).dtype.kind == "f":
        return a
    if np.asarray(m).dtype == np.uint8:
        return a / 255.0
    lo, hi = (np.percentile(a, [1, 99]) if a.size else (0.0, 1.0))
    if hi - lo < 1e-9:
        return np.zeros_like(a) if hi <= 0 else np.ones_like(a)
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0)


def fit_map(m: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A 2-D map resized to ``shape[:2]`` (bilinear), as float32 in [0, 1]."""
    u = to_unit(m)
    if u.ndim == 3:
        u = u.mean(axis=2)
    h, w = shape[:2]
    if u.shape != (h, w):
        u = cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
    return u


def blend(rgb: np.ndarray, color: tuple[int, int, int] | np.ndarray, weight: np.ndarray,
          strength: float = 0.6) -> np.ndarray:
    """rgb * (1 - strength * w) + color * strength * w, per pixel."""
    w = (np.clip(weight, 0.0, 1.0) * strength)[..., None]
    col = np.asarray(color, dtype=np.float32)
    out = rgb.astype(np.float32) * (1.0 - w) + col * w
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def mask_overlay(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Product tinted green, background dimmed to grey, product outline drawn."""
    m = fit_map(mask, rgb.shape)
    dim = (rgb.astype(np.float32) * 0.35 + 255 * 0.25)
    base = rgb.astype(np.float32) * m[..., None] + dim * (1.0 - m[..., None])
    out = blend(np.clip(base, 0, 255).astype(np.uint8), (34, 197, 94), m, 0.35)
    contours, _ = cv2.findContours((m >= 0.5).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (21, 128, 61), _line(rgb))
    return out


def blur_overlay(rgb: np.ndarray, blur: np.ndarray) -> np.ndarray:
    """Blurriness (1 = blurry) as a red tint over a faded copy; sharp and flat areas stay clear."""
    b = fit_map(blur, rgb.shape)
    grey = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    faded = np.clip(rgb.astype(np.float32) * 0.5 + grey.astype(np.float32) * 0.5, 0, 255)
    return blend(faded.astype(np.uint8), (220, 38, 38), np.clip(b * 1.2, 0, 1), 0.85)


def edges_overlay(rgb: np.ndarray, edges: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Edges in red; inside the product (when a mask is given) they are drawn faintly."""
    e = fit_map(edges, rgb.shape)
    if mask is not None:
        m = fit_map(mask, rgb.shape)
        e = e * (1.0 - 0.8 * m)
    base = blend(rgb, (255, 255, 255), np.ones(rgb.shape[:2], np.float32), 0.45)
    return blend(base, (220, 38, 38), np.clip(e * 1.5, 0, 1), 0.95)


def white_overlay(rgb: np.ndarray, white: np.ndarray | None = None,
                  mask: np.ndarray | None = None, tolerance: int = 0,
                  region: np.ndarray | None = None) -> np.ndarray:
    """Background pixels green where pure white, red where not; the product is left as is.

    ``white`` is the background check's map (truthy = pure white); without it, purity is measured
    here as min(R, G, B) >= 255 - tolerance. ``region`` is the background the check measured
    (truthy = background); without it, the complement of the product ``mask``.
    """
    if white is None:
        pure = (rgb.min(axis=2) >= 255 - tolerance).astype(np.float32)
    else:
        pure = fit_map(white, rgb.shape)
    if region is not None:
        bg = fit_map(region, rgb.shape)
    elif mask is not None:
        bg = 1.0 - fit_map(mask, rgb.shape)
    else:
        bg = np.ones(rgb.shape[:2], np.float32)
    out = blend(rgb, (34, 197, 94), pure * bg, 0.55)
    return blend(out, (239, 68, 68), (1.0 - pure) * bg, 0.7)


def fill_overlay(rgb: np.ndarray, bbox: tuple[int, int, int, int] | None,
                 target: float = 0.85, bbox_scale: float = 1.0,
                 tile_square: bool = False) -> np.ndarray:
    """The product's bounding box (solid blue) and the fill target (dashed orange): the centred
    target of the frame, or with ``tile_square`` (a frame a search tile shrinks, the framing
    check's ``display_scale`` under 1) the square around the product that it fills at the
    target (clipped to the frame).

    ``bbox`` is (x0, y0, x1, y1) in the coordinates of an image ``bbox_scale`` times the working
    copy (e.g. original pixels with ``bbox_scale = original / working``). Fill is read as the
    bounding box's span of the frame's longer side (marketplace-rules.md, "Notes").
    """
    out = rgb.copy()
    h, w = rgb.shape[:2]
    lw = _line(rgb)
    box = None
    if bbox is not None:
        bx0, by0, bx1, by1 = (int(round(v / bbox_scale)) for v in bbox)
        bx0, bx1 = max(0, min(bx0, w - 1)), max(0, min(bx1, w - 1))
        by0, by1 = max(0, min(by0, h - 1)), max(0, min(by1, h - 1))
        box = (bx0, by0, bx1, by1)
    if tile_square and box is not None:
        side = max(box[2] - box[0], box[3] - box[1]) / target
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        x0, y0 = max(0, int(round(cx - side / 2))), max(0, int(round(cy - side / 2)))
        x1, y1 = min(w - 1, int(round(cx + side / 2))), min(h - 1, int(round(cy + side / 2)))
    else:
        tw, th = int(round(w * target)), int(round(h * target))
        x0, y0 = (w - tw) // 2, (h - th) // 2
        x1, y1 = x0 + tw - 1, y0 + th - 1
    _dashed_rect(out, (x0, y0), (x1, y1), (249, 115, 22), lw)
    if box is not None:
        cv2.rectangle(out, box[:2], box[2:], (37, 99, 235), lw + 1)
    return out


def bbox_fill(bbox: tuple[int, int, int, int] | None, shape: tuple[int, ...]) -> float | None:
    """Span of the frame covered by the box: max(box w / image w, box h / image h)."""
    if bbox is None:
        return None
    h, w = shape[:2]
    x0, y0, x1, y1 = bbox
    return float(max((x1 - x0) / max(w, 1), (y1 - y0) / max(h, 1)))


def _line(rgb: np.ndarray) -> int:
    return max(2, int(round(max(rgb.shape[:2]) / 300)))


def _dashed_rect(img: np.ndarray, p0: tuple[int, int], p1: tuple[int, int],
                 color: tuple[int, int, int], lw: int) -> None:
    dash = max(8, lw * 5)
    (x0, y0), (x1, y1) = p0, p1
    for x in range(x0, x1, dash * 2):
        cv2.line(img, (x, y0), (min(x + dash, x1), y0), color, lw)
        cv2.line(img, (x, y1), (min(x + dash, x1), y1), color, lw)
    for y in range(y0, y1, dash * 2):
        cv2.line(img, (x0, y), (x0, min(y + dash, y1)), color, lw)
        cv2.line(img, (x1, y), (x1, min(y + dash, y1)), color, lw)


def find_map(checks: dict[str, Any], kind: MapKind | str) -> np.ndarray | None:
    """The ``kind`` map of the check that declares it (:func:`map_producers`), or None when that
    check did not run or made none for this photo."""
    check = map_producers().get(MapKind(kind))
    res = checks.get(check) if check is not None else None
    arr = (getattr(res, "maps", None) or {}).get(kind)
    return None if arr is None or np.ndim(arr) < 2 else np.asarray(arr)


def report_bbox(report: Any, mask: np.ndarray | None) -> tuple[tuple[int, int, int, int] | None,
                                                               float]:
    """The product box and its scale relative to the working copy.

    Prefers the framing check's metrics (``framing.bbox_x0`` ... in original pixels, or a
    normalised ``bbox``), then the mask's box in working pixels.
    """
    metrics = getattr(report, "metrics", {}) or {}
    keys = [("framing.bbox_x0", "framing.bbox_y0", "framing.bbox_x1", "framing.bbox_y1")]
    for k in keys:
        if all(key in metrics and metrics[key] is not None for key in k):
            vals = tuple(float(metrics[key]) for key in k)
            img = getattr(report, "image", None)
            if all(0.0 <= v <= 1.0 for v in vals) and img is not None:
                h, w = img.rgb.shape[:2]
                return (int(vals[0] * w), int(vals[1] * h), int(vals[2] * w),
                        int(vals[3] * h)), 1.0
            scale = 1.0
            if img is not None and img.scale > 0:
                scale = 1.0 / img.scale
            return tuple(int(v) for v in vals), scale  # type: ignore[return-value]
    if mask is not None:
        ys, xs = np.nonzero(fit_map(mask, mask.shape) >= 0.5)
        if len(xs):
            return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1), 1.0
    return None, 1.0


OverlayFn = Callable[[], np.ndarray]


# Overlays drawn with the product mask (computed on demand when no check stored one).


def available_overlays(report: Any, mask: np.ndarray | None) -> list[OverlayOption]:
    """Which overlays this report can show (``mask``: the checks' product mask, or None);
    unavailable ones say why."""
    checks = getattr(report, "checks", {}) or {}
    has_img = getattr(report, "image", None) is not None
    opts = [OverlayOption("photo", OVERLAY_LABELS["photo"], has_img,
                          "" if has_img else "the image was not kept")]
    m = mask
    has_mask = m is not None
    opts.append(OverlayOption("mask", OVERLAY_LABELS["mask"], has_img and has_mask,
                              "" if has_mask else "no product mask was computed"))
    for kind, check in ((MapKind.BLUR, "sharpness"), (MapKind.EDGES, "clutter")):
        found = find_map(checks, kind) is not None
        opts.append(OverlayOption(kind, OVERLAY_LABELS[kind], has_img and found,
                                  "" if found else f"the {check} check produced no map"))
    box, _ = report_bbox(report, m)
    has_box = box is not None or (m is None and has_mask)
    opts.append(OverlayOption("fill", OVERLAY_LABELS["fill"], has_img and has_box,
                              "" if has_box else "no product was found"))
    opts.append(OverlayOption("white", OVERLAY_LABELS["white"], has_img, ""))
    if find_map(checks, MapKind.TEXT) is not None:
        opts.append(OverlayOption("overlays", OVERLAY_LABELS["overlays"], has_img, ""))
    return opts


def render_overlay(report: Any, kind: str, mask: np.ndarray | None,
                   fill_target: float = 0.85) -> np.ndarray:
    """The RGB array for overlay ``kind`` of ``report`` (needs ``report.image``)."""
    rgb = report.image.rgb
    checks = getattr(report, "checks", {}) or {}
    m = mask
    if kind == "photo":
        return rgb
    if kind == "mask" and m is not None:
        return mask_overlay(rgb, m)
    if kind == "blur":
        b = find_map(checks, MapKind.BLUR)
        if b is not None:
            return blur_overlay(rgb, b)
    if kind == "edges":
        e = find_map(checks, MapKind.EDGES)
        if e is not None:
            return edges_overlay(rgb, e, m)
    if kind == "fill":
        box, scale = report_bbox(report, m)
        metrics = getattr(report, "metrics", {}) or {}
        return fill_overlay(rgb, box, fill_target, scale,
                            tile_square=metrics.get("framing.display_scale", 1.0) < 1.0)
    if kind == "white":
        return white_overlay(rgb, find_map(checks, MapKind.WHITE), m,
                             region=find_map(checks, MapKind.BACKGROUND))
    if kind == "overlays":
        o = find_map(checks, MapKind.TEXT)
        if o is not None:
            return blend(rgb, (168, 85, 247), fit_map(o, rgb.shape), 0.7)
    return rgb
