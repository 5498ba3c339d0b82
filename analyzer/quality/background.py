"""How white, even and plain the background is, against the marketplace's white-background rule.

Measured on a grid of at most ``measure_long_side`` px a side (every n-th pixel). Background
pixels are the pixels outside the product mask grown by ``grow_frac`` of the long side,
so the anti-aliased outline and the contact shadow right under the product do not count (studio
shots keep a soft shadow there; marketplaces accept it). When the product covers almost the whole
frame (less than ``min_bg_fraction`` left), the outer ``border_frac`` band of the frame stands in
for the background: it is what a shopper sees around the product in a thumbnail.

A figure that continues the product off the frame is not backdrop either: the model wearing a
garment (the skin of a belly or legs above and below a pair of shorts), the rest of an outfit, an
arm holding the product. The salient-object mask often leaves those out, and counted as backdrop
they flagged clean studio shots of apparel on a model as off-white (a marketplace judges the
backdrop, and allows apparel on a model). :func:`analyzer.vision.figure.attached_figure`
removes from the background every broad region unlike the backdrop's colour
(``figure_chroma_de`` in a*b*, or ``figure_light_de`` in L*: a soft shadow is the backdrop
darkened, with its hue, and stays backdrop) that touches the grown product mask *and* runs off
the frame within the product's span, without running through the frame or being walled in by
the product (see that function for the whole rule); the share removed is ``figure_fraction``.
A prop standing apart on the backdrop touches neither the product nor the frame's edge, so it
still counts here (and in the clutter check).

Measures (all over the background pixels):

- ``pure_white_fraction``: share with every channel >= ``white_level`` (255 within JPEG
  tolerance; Amazon and Walmart ask for RGB 255,255,255).
- ``near_white_fraction``: share within ``near_white_de`` (CIE Delta E 1976) of white, L*a*b*
  (100, 0, 0): pure or slightly tinted white.
- ``offwhite_delta_e``: CIEDE2000 colour difference (Sharma, Wu & Dalal, Color Res. Appl. 30(1),
  2005; :func:`skimage.color.deltaE_ciede2000`) of the mean background colour from white.
- ``background_l_std``: standard deviation of L* (uneven light, texture, props), and
  ``background_gradient``: range of L* between the 4 x 4 block means (a light fall-off).
- ``border_white_fraction``: pure-white share of the frame's outer ``border_frac`` band, which no
  mask decides. The score's white term and the flags use the larger of the two white shares, so
  a mask that takes part of a printed box for backdrop does not fail a white studio shot.

Score: ``100 * (w_pure * r(max(pure_white_fraction, border_white_fraction)) + w_near *
r(near_white_fraction) + w_even * r(background_l_std))`` with linear ramps ``r`` between the
good/bad values in thresholds.yaml.
The score does not depend on the marketplace; the flags and their severities do.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000

from analyzer.codes import MapKind
from analyzer.quality.context import ImageContext
from analyzer.quality.registry import register
from analyzer.quality.scoring import ramp  # noqa: F401 (also imported from here by clutter)
from analyzer.results import CheckResult, Flag
from analyzer.vision.figure import attached_figure
from analyzer.vision.mask_ops import grow
from analyzer.vision.shrink import every

NAME = "background"


def border_band(shape: tuple[int, int], frac: float) -> np.ndarray:
    """The outer band of the frame, ``frac`` of the short side wide (at least 1 px)."""
    h, w = shape
    b = max(1, round(frac * min(h, w)))
    band = np.zeros((h, w), bool)
    band[:b] = band[-b:] = True
    band[:, :b] = band[:, -b:] = True
    return band


def background_region(mask: np.ndarray, grow_frac: float = 0.015,
                      min_bg_fraction: float = 0.03, border_frac: float = 0.03) -> np.ndarray:
    """Background pixels: not the product mask grown by ``grow_frac`` of the long side.

    Falls back to the frame's outer band when less than ``min_bg_fraction`` of the frame is left.
    """
    r = round(grow_frac * max(mask.shape))
    region = ~grow(mask, r)
    if region.mean() < min_bg_fraction:
        region = border_band(mask.shape, border_frac)
    return region


def pure_white_map(rgb: np.ndarray, white_level: int = 250) -> np.ndarray:
    """True where every channel is at least ``white_level`` (255 within JPEG tolerance)."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        return np.all(rgb >= white_level, axis=2)
    # One pass of uint8 compares (cv2.inRange), the same test as np.all(rgb >= level) ~15x faster.
    lo = (int(white_level),) * 3
    return cv2.inRange(np.ascontiguousarray(rgb), lo, (255, 255, 255)) != 0


def measure_background(rgb: np.ndarray, lab: np.ndarray, region: np.ndarray,
                       white_level: int = 250, near_white_de: float = 6.0,
                       white: np.ndarray | None = None) -> dict[str, float]:
    """Whiteness and evenness of the ``region`` pixels of ``rgb`` (see the module docstring).

    ``lab`` is ``rgb`` in CIE L*a*b* (float, L 0..100); ``white`` is
    ``pure_white_map(rgb, white_level)`` when the caller has it already. Returns the metrics as
    plain floats.
    """
    n = int(np.count_nonzero(region))
    if n == 0:
        return {"background_fraction": 0.0, "pure_white_fraction": 0.0,
                "near_white_fraction": 0.0, "offwhite_delta_e": 0.0,
                "mean_background_rgb_r": 0.0, "mean_background_rgb_g": 0.0,
                "mean_background_rgb_b": 0.0, "background_l_std": 0.0,
                "background_gradient": 0.0}
    region_u8 = region.view(np.uint8) if region.dtype == bool else region.astype(np.uint8)
    region_u8 = np.ascontiguousarray(region_u8)
    rgb_c = np.ascontiguousarray(rgb)
    lab_c = np.ascontiguousarray(lab, dtype=np.float32)
    if white is None:
        white = pure_white_map(rgb_c, white_level)
    pure = np.count_nonzero(white & region.astype(bool, copy=False)) / n
    # Delta E 1976 from white (100, 0, 0) <= near_white_de, compared squared (no square root);
    # cv2.transform sums the three squared channels per pixel in one pass.
    d = lab_c - np.array([100.0, 0.0, 0.0], np.float32)
    cv2.multiply(d, d, dst=d)
    de2 = cv2.transform(d, np.ones((1, 3), np.float32))
    near = np.count_nonzero((de2 <= near_white_de ** 2) & region.astype(bool, copy=False)) / n
    # Masked means and std in one pass each (double accumulators, population std as NumPy's).
    mean_rgb = cv2.mean(rgb_c, mask=region_u8)[:3]
    l_mean, l_std = cv2.meanStdDev(lab_c[..., 0].copy(), mask=region_u8)
    mean_lab = np.array([float(l_mean[0, 0]), *cv2.mean(lab_c, mask=region_u8)[1:3]])
    offwhite = float(deltaE_ciede2000(mean_lab[None].astype(np.float64),
                                      np.array([[100.0, 0.0, 0.0]]))[0])
    return {
        "background_fraction": float(n / region.size),
        "pure_white_fraction": float(pure),
        "near_white_fraction": float(near),
        "offwhite_delta_e": offwhite,
        "mean_background_rgb_r": float(mean_rgb[0]),
        "mean_background_rgb_g": float(mean_rgb[1]),
        "mean_background_rgb_b": float(mean_rgb[2]),
        "background_l_std": float(l_std[0, 0]),
        "background_gradient": block_gradient(lab[..., 0], region),
    }


def block_gradient(lightness: np.ndarray, region: np.ndarray, blocks: int = 4,
                   min_share: float = 0.2) -> float:
    """Range (max - min) of the mean L* of the ``blocks`` x ``blocks`` cells of the frame.

    Only cells where at least ``min_share`` of the pixels are background take part, so a light
    fall-off across a backdrop shows even when the product covers the middle.
    """
    h, w = lightness.shape
    means = []
    for i in range(blocks):
        for j in range(blocks):
            ys = slice(i * h // blocks, (i + 1) * h // blocks)
            xs = slice(j * w // blocks, (j + 1) * w // blocks)
            r = region[ys, xs]
            if r.size and r.mean() >= min_share:
                means.append(float(lightness[ys, xs][r].mean()))
    return float(max(means) - min(means)) if len(means) >= 2 else 0.0


def transparent_fraction(alpha: np.ndarray | None) -> float:
    """Share of pixels more than half transparent (0 without an alpha channel)."""
    return 0.0 if alpha is None else float((alpha < 128).mean())


def score_background(m: dict[str, float], th: dict) -> float:
    """0-100 from the measures (weights and ramps in thresholds.yaml ``checks.background``)."""
    w = th["weights"]
    # A mask that swallows part of the backdrop (or misses part of the product) must not sink a
    # white studio shot: the frame's outer band, which no product mask decides, counts too.
    pure = max(m["pure_white_fraction"], m.get("border_white_fraction", 0.0))
    parts = {
        "pure": ramp(pure, float(th["pure_good"]), float(th["pure_bad"])),
        "near": ramp(m["near_white_fraction"], float(th["near_good"]), float(th["near_bad"])),
        "even": ramp(m["background_l_std"], float(th["l_std_good"]), float(th["l_std_bad"])),
    }
    total = sum(float(w[k]) for k in parts)
    return float(100.0 * sum(float(w[k]) * v for k, v in parts.items()) / total)


def _rgb_text(m: dict[str, float]) -> str:
    return (f"{m['mean_background_rgb_r']:.0f},{m['mean_background_rgb_g']:.0f},"
            f"{m['mean_background_rgb_b']:.0f}")


def _rule_text(ctx: ImageContext) -> tuple[str, bool]:
    """What the marketplace says about white backgrounds, and whether it asks for one."""
    label = ctx.marketplace.label
    rule = ctx.marketplace.value("white_background")
    if rule == "required":
        return f"{label} requires 100% pure white (RGB 255,255,255)", True
    if rule == "not_required":
        return (f"{label} does not require a white background, though a plain light one reads "
                "best in search thumbnails"), False
    return f"{label} recommends pure white (RGB 255,255,255)", True


def flag_background(ctx: ImageContext, m: dict[str, float], th: dict) -> list[Flag]:
    """BACKGROUND_OFF_WHITE / BACKGROUND_NOT_WHITE / BACKGROUND_TRANSPARENT for these measures."""
    flags: list[Flag] = []
    rule, _asks_white = _rule_text(ctx)
    pure = m["pure_white_fraction"]
    border_pure = m.get("border_white_fraction", 0.0)
    if m.get("transparent_fraction", 0.0) > 0.0:
        flags.append(ctx.flag(
            "BACKGROUND_TRANSPARENT",
            f"{m['transparent_fraction']:.0%} of the image is transparent; it was judged as shown "
            f"on white, but each site and app fills transparency its own way",
            "Flatten the image onto pure white (RGB 255,255,255) and upload it as a JPEG.", NAME))
    if max(pure, border_pure) >= float(th["pure_flag"]):
        return flags
    # uneven: the light varies over the backdrop, or most of it is pure white and the rest a
    # darker patch (a shadow): either way lighting, not exposure, is the fix
    uneven = (m["background_l_std"] > float(th["l_std_flag"])
              or m["background_gradient"] > float(th["gradient_flag"])
              or pure >= float(th["patch_min_pure"]))
    off_white = m["offwhite_delta_e"] <= float(th["offwhite_max_de"])
    if off_white:
        # an unevenly lit backdrop is a shadow or a fall-off: more exposure would blow the
        # product before it whitened the dark part (a flash's hard shadow, an eleventh new
        # user's try, was told only to raise the exposure)
        even = ("Light the backdrop evenly (a light on the backdrop itself, a diffused flash, the "
                "product a step away from it so its shadow falls out of view), then raise"
                if uneven else "Raise")
        flags.append(ctx.flag(
            "BACKGROUND_OFF_WHITE",
            f"background is off-white: {pure:.0%} pure white, average RGB {_rgb_text(m)} "
            f"(Delta E {m['offwhite_delta_e']:.1f} from white"
            f"{', unevenly lit' if uneven else ''}); {rule}",
            f"{even} the exposure or the whites until the backdrop reads 255,255,255 (check with "
            "an eyedropper), or cut the product out and place it on pure white.", NAME))
    else:
        texture = " and uneven" if uneven else ""
        flags.append(ctx.flag(
            "BACKGROUND_NOT_WHITE",
            f"background is {pure:.0%} pure white{texture} (average RGB {_rgb_text(m)}); {rule}",
            "Shoot on a white sweep or light tent with even light on the backdrop, or remove the "
            "background and replace it with pure white (RGB 255,255,255).", NAME))
    return flags


@register(NAME, maps=(MapKind.WHITE, MapKind.BACKGROUND))
def check(ctx: ImageContext) -> CheckResult:
    th = ctx.thresholds(NAME)
    # Shares and means of a frame's background need no more than a ~512 px grid of it.
    h, w = ctx.rgb.shape[:2]
    step = max(1, round(max(h, w) / float(th["measure_long_side"])))
    grid = (slice(None, None, step), slice(None, None, step))
    mask_g = ctx.mask_bool[grid]
    region = background_region(mask_g, float(th["grow_frac"]),
                               float(th["min_bg_fraction"]), float(th["border_frac"]))
    lab_g = every(ctx.lab, step)  # contiguous: measure_background's OpenCV calls need it
    band = border_band(region.shape, float(th["border_frac"]))
    figure_share = 0.0
    if mask_g.any() and not np.array_equal(region, band):  # not the frame-band fallback
        figure = attached_figure(lab_g, region, float(th["figure_chroma_de"]),
                                 float(th["figure_light_de"]), float(th["figure_open_frac"]),
                                 float(th["figure_min_area"]), float(th["figure_reach"]),
                                 float(th["near_white_de"]), float(th["figure_backdrop_contact"]))
        rest = region & ~figure
        # A "figure" that leaves almost no backdrop is more likely the backdrop itself.
        if np.count_nonzero(rest) >= float(th["min_bg_fraction"]) * rest.size:
            figure_share = float(np.count_nonzero(figure) / max(1, np.count_nonzero(region)))
            region = rest
    # The pure-white map once, at full size (the dashboard's overlay); the grid is a view of it.
    white = pure_white_map(ctx.rgb, int(th["white_level"]))
    white_g = white[grid]
    m = measure_background(every(ctx.rgb, step), lab_g, region, int(th["white_level"]),
                           float(th["near_white_de"]), white=white_g)
    m["figure_fraction"] = figure_share
    tf = transparent_fraction(ctx.alpha)
    m["transparent_fraction"] = tf if tf > float(th["transparent_min"]) else 0.0
    m["border_white_fraction"] = float(white_g[band].mean())
    # Declared cover art (ImageContext.cover_art): the frame is the printed cover, edge to edge,
    # with no backdrop to be white; measured as any frame's border, not judged.
    m["cover_art"] = float(ctx.cover_art)
    score = 100.0 if ctx.cover_art else score_background(m, th)
    flags = [] if ctx.cover_art else flag_background(ctx, m, th)
    if step > 1:
        region = cv2.resize(region.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return CheckResult(name=NAME, score=score, metrics=m, flags=flags,
                       maps={MapKind.WHITE: white, MapKind.BACKGROUND: region})
