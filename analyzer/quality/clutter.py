"""How busy the photo is around the product: props, other objects, a patterned background.

Measured outside the product (the mask grown by ``grow_frac`` of the long side; the frame's outer
band when the product covers almost everything), on a copy at most ``work_long_side`` px long so
the numbers do not depend on the upload's size:

- ``edge_density_bg``: share of background pixels on a Canny edge (Canny, "A computational
  approach to edge detection", IEEE TPAMI 8(6), 1986) after a Gaussian blur of ``blur_sigma``
  px, with fixed hysteresis thresholds so a plain, noisy backdrop gives few edges.
- ``color_entropy_bg``: Shannon entropy (bits) of the background's colour histogram with
  ``color_bins`` levels per RGB channel; ``color_complexity_bg``: the number of those colour bins
  needed to cover ``color_cover`` of the background (1 for a plain backdrop).
- ``salient_components``: separate parts of the product mask of at least ``component_rel`` of
  the largest and ``component_abs`` of the frame (several objects, or props the mask picked up).

Score: ``100 * (w_edges * r(edge_density_bg) + w_color * r(color_entropy_bg) + w_parts *
r(salient_components))`` with linear ramps ``r`` between the good/bad values in thresholds.yaml.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.codes import MapKind
from analyzer.quality.background import background_region, ramp
from analyzer.quality.context import ImageContext
from analyzer.quality.registry import register
from analyzer.results import CheckResult, Flag
from analyzer.vision.mask_ops import large_components

NAME = "clutter"


def to_work_size(img: np.ndarray, long_side: int, nearest: bool = False) -> np.ndarray:
    """``img`` shrunk (never enlarged) so its long side is at most ``long_side``."""
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    if s >= 1.0:
        return img
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(img, size, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)


def edge_map(rgb: np.ndarray, blur_sigma: float = 1.0, low: float = 40.0,
             high: float = 100.0) -> np.ndarray:
    """Canny edges (bool) of the grey image after a Gaussian blur of ``blur_sigma`` px."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if blur_sigma > 0:
        gray = cv2.GaussianBlur(gray, (0, 0), blur_sigma)
    return cv2.Canny(gray, low, high, L2gradient=True) > 0


def color_stats(rgb: np.ndarray, region: np.ndarray, bins: int = 8,
                cover: float = 0.9) -> tuple[float, float]:
    """(entropy in bits, bins covering ``cover`` of the pixels) of the region's colours."""
    n = int(np.count_nonzero(region))
    if n == 0:
        return 0.0, 0.0
    # OpenCV's uniform bins over [0, 256) are floor(v * bins / 256), the same levels as
    # quantising each channel, without copying the region's pixels out first.
    counts = cv2.calcHist([np.ascontiguousarray(rgb)], [0, 1, 2], region.astype(np.uint8),
                          [bins] * 3, [0, 256] * 3).ravel().astype(np.float64)
    p = counts[counts > 0] / n
    entropy = float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no "-0.0"
    sorted_p = np.sort(p)[::-1]
    n_cover = int(np.searchsorted(np.cumsum(sorted_p), cover - 1e-9) + 1)
    return entropy, float(n_cover)


def count_components(mask: np.ndarray, rel: float = 0.1, abs_frac: float = 0.005) -> int:
    """Separate parts of ``mask`` at least ``rel`` of the largest and ``abs_frac`` of the frame."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return 0
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep_min = max(float(areas.max()) * rel, abs_frac * mask.size)
    return int((areas >= keep_min).sum())


def measure_clutter(rgb: np.ndarray, mask: np.ndarray, th: dict) -> tuple[dict[str, float],
                                                                          np.ndarray]:
    """The clutter measures (see the module docstring) and the edge map at work size."""
    small = to_work_size(rgb, int(th["work_long_side"]))
    small_mask = to_work_size(mask.astype(np.uint8), int(th["work_long_side"]), nearest=True) > 0
    region = background_region(small_mask, float(th["grow_frac"]), float(th["min_bg_fraction"]),
                               float(th["border_frac"]))
    edges = edge_map(small, float(th["blur_sigma"]), float(th["canny_low"]),
                     float(th["canny_high"]))
    entropy, n_colors = color_stats(small, region, int(th["color_bins"]),
                                    float(th["color_cover"]))
    parts = large_components(small_mask, 0.0, 0.0) if small_mask.any() else small_mask
    m = {
        "edge_density_bg": float(edges[region].mean()) if region.any() else 0.0,
        "edge_density_all": float(edges.mean()),
        "color_entropy_bg": entropy,
        "color_complexity_bg": n_colors,
        "salient_components": float(count_components(parts, float(th["component_rel"]),
                                                     float(th["component_abs"]))),
        "background_fraction": float(region.mean()),
    }
    return m, edges


def score_clutter(m: dict[str, float], th: dict) -> float:
    """0-100 from the measures (weights and ramps in thresholds.yaml ``checks.clutter``)."""
    w = th["weights"]
    parts = {
        "edges": ramp(m["edge_density_bg"], th["edges_good"], th["edges_bad"]),
        "color": ramp(m["color_entropy_bg"], th["entropy_good"], th["entropy_bad"]),
        "parts": ramp(m["salient_components"], th["components_good"], th["components_bad"]),
    }
    total = sum(float(w[k]) for k in parts)
    return float(100.0 * sum(float(w[k]) * v for k, v in parts.items()) / total)


def flag_clutter(ctx: ImageContext, m: dict[str, float], score: float, th: dict) -> list[Flag]:
    """CLUTTERED_BACKGROUND when the score is below ``score_flag``."""
    if score >= float(th["score_flag"]):
        return []
    objects = (f"; {m['salient_components']:.0f} separate objects stand out"
               if m["salient_components"] > float(th["components_good"]) else "")
    return [ctx.flag(
        "CLUTTERED_BACKGROUND",
        f"busy background: {m['edge_density_bg']:.1%} of it is edges and its colours spread "
        f"over {m['color_complexity_bg']:.0f} colour groups (a plain backdrop: under "
        f"{float(th['edges_good']):.0%} and 1-3 groups){objects}",
        "Remove props, hands and other items and shoot the product alone on a plain, "
        "light backdrop.", NAME)]


@register(NAME, maps=(MapKind.EDGES,))
def check(ctx: ImageContext) -> CheckResult:
    th = ctx.thresholds(NAME)
    m, edges = measure_clutter(ctx.rgb, ctx.mask_bool, th)
    score = score_clutter(m, th)
    h, w = ctx.rgb.shape[:2]
    if edges.shape != (h, w):
        edges = cv2.resize(edges.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return CheckResult(name=NAME, score=score, metrics=m, flags=flag_clutter(ctx, m, score, th),
                       maps={MapKind.EDGES: edges})
