"""Exposure and colour of the product: clipped highlights and shadows, too dark, washed out,
colour cast.

Measures (CIE L*a*b*, D65, from OpenCV's sRGB conversion):

- ``clip_highlights``: share of product pixels blown in colour: a channel clipped (max(R,G,B)
  >= ``channel_clip`` while min(R,G,B) < ``channel_clip_min``) where the clip shows as a loss,
  that is two channels clipped (the hue shifts toward yellow, cyan or magenta), or the pixel
  pale (min(R,G,B) >= ``channel_clip_pale``: a colour pushed toward white, washed out), or the
  clipped channel carrying at least ``clip_luma_share`` of the pixel's luminance (Rec. 709
  weights in linear light: a red or blue whose light and shade were in that channel, now
  flat). A saturated colour reaches 255 in one channel by its nature: a lemon's (255, 210, 20)
  or a pink's (255, 182, 193) red is clipped in a well exposed photo, and its shading lies in
  the green channel, which is not; those pixels are ``clip_saturated``, reported, not scored
  (their count flagged 12-25% of the clean studio photos and icons as blown: README). A white
  background is *meant* to be 255 in all three channels, which is why whole-image clipping
  fractions mislead, and why neutral clipping on the product (``clip_white``, L* >=
  ``highlight_L``) is reported but not scored: it depends on where the mask's edge falls on the
  white background. ``clip_shadows``: share with L* <= ``shadow_L``. Measured on the product
  mask, shrunk a little at its rim.
- ``glare``: the largest glare spot's share of the product: a white spot on it, enclosed by it,
  on a surface far from white, fading out around it (a flash or a lamp mirrored in a glossy
  surface: :mod:`analyzer.vision.glare`); neutral clipping that is not glare stays unscored.
- ``white_point``: 99.5th percentile of L* over the whole frame. A properly exposed photo has
  something near white (a white background, a highlight); an under-exposed one does not. This
  does not penalise a dark product: a black jacket on white still has a white point near 100.
- ``product_L_median``: median product L* of its not-white pixels; above
  ``product_L_bright_*`` the product looks washed out (a score penalty only: a white shirt is
  light by design, so it never flags on its own).
- ``cast``: chroma sqrt(a*^2 + b*^2) of the median a*, b* of the brightest, not strongly
  coloured pixels (L* within ``white_patch_dL`` of the 98th percentile and >= ``neutral_min_L``,
  chroma <= ``neutral_max_chroma``): the white-patch / grey-pixel
  assumption of colour constancy (Land & McCann 1971; Buchsbaum, "A spatial processor model for
  object colour perception", J. Franklin Inst. 1980; Yang et al., "Efficient illuminant estimation
  for color constancy using grey pixels", CVPR 2015): what should be grey or white shows the
  illuminant's tint. A cast strong enough leaves no pixel within ``neutral_max_chroma`` (a
  white balance set for daylight under a bulb turns white to RGB 253,217,159), which read as no
  cast at all: the flag fired on milder casts and not on the strongest (an eleventh new user's
  try). Where too few are left (``neutral_fraction`` under ``min_neutral_fraction``) and the
  frame's outer band (``cast_band_frac`` of the short side) is a backdrop exposed to white, the
  median of its pixels' brightest channel at least ``cast_backdrop_min_level`` (a cast scales
  the channels, so a white backdrop keeps its brightest one at the top while its L* falls: 78
  under a stronger bulb's cast that leaves it RGB 255,179,97), the bright pixels' median tint
  is read instead, whatever their chroma (``cast_from_backdrop`` 1): a studio backdrop is
  meant to be white, and no clean studio photo of ours lacks a neutral bright pixel (0 of 280),
  while a phone photo on a warm floor or a coloured wall does (38 of 721 amateur tune senders':
  their floor is darker than the line, chosen on tune so that no clean tune photo reads a cast
  it did not before).
- ``colour_p99``: how colourful the photo is at its most: the 99th percentile of the chroma
  sqrt(a*^2 + b*^2) of the pixels between black and white (``mono_L_min`` < L* <
  ``mono_L_max``, on a copy of about ``mono_work_side`` px; a white backdrop and black have no
  hue to read). A black-and-white photo (every pixel a shade of grey) reads 0.01-0.1 (the
  JPEG's rounding). A photo of the world reads more, even of a grey or black product on white
  (its shadows, edges and highlights take the light's and the surroundings' tints): 3.0 or more
  on 424 clean photos, the lowest a black bag. ``MONOCHROME`` under ``mono_max_chroma``,
  measured only with at least ``mono_min_share`` of the frame between black and white (a
  white product on white may have too little to tell): black and white, and nearly so (a
  filter that kept 1-2% of a colourful photo's colour: one 8-bit level, chroma 1.1-1.4), are
  found. A toned photo (sepia, a "vintage" filter) is colourful by this measure and is not (a
  strong tint is COLOR_CAST's to name): a tone on a neutral product is what a colour cast
  makes, and cannot be told from one.
  A filter that took the product's colour cannot be told from a grey product by any one
  photo's colours, but a camera's photo of a grey product is never this grey: a shopper judges
  the colour from the main image, and a grey-looking bag that arrives purple is a return
  (Amazon's image guide asks the main image to show the product as it is; README).

Score: 100 minus the weighted penalties (each 0..100, linear between its ``*_ok`` and ``*_bad``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from analyzer.quality.context import ImageContext
from analyzer.quality.registry import register
from analyzer.quality.scoring import ramp
from analyzer.quality.title import names_black_and_white
from analyzer.results import CheckResult, Flag
from analyzer.vision import glare
from analyzer.vision.backdrop import band, band_width
from analyzer.vision.mask_ops import fill_holes, shrink
from analyzer.vision.shrink import every
from analyzer.vision.srgb import srgb_to_linear

NAME = "exposure"


def product_region(mask: np.ndarray | None, shape: tuple[int, int], erode_frac: float,
                   min_fraction: float = 0.02) -> np.ndarray:
    """The product mask shrunk by ``erode_frac`` of the long side; the whole frame without one."""
    if mask is None or mask.mean() < min_fraction:
        return np.ones(shape, bool)
    inner = shrink(mask, max(1.0, erode_frac * max(shape)))
    return inner if inner.mean() >= min_fraction / 4 else mask.astype(bool)


# sRGB code value -> linear light times its Rec. 709 luminance weight, per channel (R, G, B)
_LUMA_LUT = np.outer((0.2126, 0.7152, 0.0722), srgb_to_linear(np.arange(256) / 255.0))


def colour_clipping(sub: np.ndarray, region: np.ndarray, th: dict) -> tuple[int, int]:
    """(blown, saturated): counts of ``region``'s pixels of ``sub`` (uint8 RGB) with a channel
    clipped that read as a blown highlight, and those that read as a saturated colour at the
    edge of sRGB (module docstring)."""
    hi = int(th["channel_clip"])
    # max(R,G,B) >= channel_clip and min(R,G,B) < channel_clip_min, as two uint8 range tests:
    # "not all channels below clip" and "not all channels at least min"
    below = cv2.inRange(sub, (0, 0, 0), (hi - 1,) * 3) if hi > 0 else \
        np.zeros(sub.shape[:2], np.uint8)
    lo = int(th["channel_clip_min"])
    above = cv2.inRange(sub, (lo,) * 3, (255,) * 3) if lo <= 255 else \
        np.zeros(sub.shape[:2], np.uint8)
    px = sub[(below == 0) & (above == 0) & region]  # the clipped coloured pixels only
    if not len(px):
        return 0, 0
    # channel by channel on contiguous columns: a saturated product clips a third of its
    # pixels, and (pixel, channel) gathers on them cost several ms
    ch = [np.ascontiguousarray(px[:, c]) for c in range(3)]
    clip = [c >= hi for c in ch]
    two = (clip[0] & clip[1]) | (clip[0] & clip[2]) | (clip[1] & clip[2])
    pale = np.minimum(np.minimum(ch[0], ch[1]), ch[2]) >= int(th["channel_clip_pale"])
    lum = [_LUMA_LUT[c][ch[c]] for c in range(3)]  # each channel's luminance, linear light
    need = float(th["clip_luma_share"]) * (lum[0] + lum[1] + lum[2])
    # one channel clipped (two are counted already): its luminance against the pixel's
    carried = (clip[0] & (lum[0] >= need)) | (clip[1] & (lum[1] >= need)) | \
        (clip[2] & (lum[2] >= need))
    blown = int(np.count_nonzero(two | pale | carried))
    return blown, len(px) - blown


def measure(lab: np.ndarray, region: np.ndarray, th: dict,
            rgb: np.ndarray | None = None) -> dict[str, float]:
    """Exposure and cast measures of a Lab image (L 0..100) on ``region`` (bool, its size);
    ``rgb``: the same pixels in uint8 RGB, contiguous (the check passes every second pixel each
    way: the statistics do not change, the cost drops fourfold)."""
    region = np.ascontiguousarray(region)
    clip_color = clip_saturated = 0.0
    if rgb is not None:
        n_region = np.count_nonzero(region)
        if n_region:
            clip_color, clip_saturated = colour_clipping(rgb, region, th)
            clip_color, clip_saturated = clip_color / n_region, clip_saturated / n_region
    if not region.any():
        region = np.ones(region.shape, bool)
    light = np.ascontiguousarray(lab[..., 0])
    a = lab[..., 1]
    b = lab[..., 2]
    lp = light[region]
    # The frame's percentiles of L* in one partition (NumPy picks all ranks in one pass).
    p1, p98, p995 = (float(v) for v in np.percentile(light, [1, 98, 99.5]))
    # White patch: the brightest pixels (within white_patch_dL of the 98th percentile of L*) that
    # are not strongly coloured; their median tint is the illuminant's.
    top = max(float(th["neutral_min_L"]), p98 - float(th["white_patch_dL"]))
    bright = light >= top
    # Chroma only where it is needed: the bright pixels.
    ab = np.stack([a[bright], b[bright]])
    max_c = float(th["neutral_max_chroma"])
    low_chroma = np.hypot(ab[0], ab[1]) <= max_c
    nf = float(np.count_nonzero(low_chroma) / light.size)
    from_backdrop = False
    if nf >= float(th["min_neutral_fraction"]):
        ma, mb = float(np.median(ab[0][low_chroma])), float(np.median(ab[1][low_chroma]))
    elif ab.shape[1] and rgb is not None and white_backdrop(rgb, th):
        # nothing near neutral, on a backdrop exposed to white: the light itself is coloured
        ma, mb = float(np.median(ab[0])), float(np.median(ab[1]))
        from_backdrop = True
    else:  # nothing near neutral to judge the illuminant by
        ma = mb = 0.0
    hl = float(th["highlight_L"])
    not_white = lp[lp < hl]
    return {
        "clip_highlights": clip_color,
        "clip_saturated": clip_saturated,
        "clip_white": float(np.count_nonzero(lp >= hl) / lp.size),
        "clip_shadows": float(np.count_nonzero(lp <= float(th["shadow_L"])) / lp.size),
        "white_point": p995,
        # Pure white is left out: a loose mask's rim of background would pull it up.
        "product_L_median": float(np.median(not_white)) if not_white.size else 100.0,
        "product_L_p5": float(np.percentile(lp, 5)),
        "black_point": p1,
        "mean_L": float(light.mean()),
        "cast_a": ma,
        "cast_b": mb,
        "cast": float(math.hypot(ma, mb)),
        "neutral_fraction": nf,
        "cast_from_backdrop": float(from_backdrop),
        "colour_p99": colour_p99(lab, th),
    }


def backdrop_level(rgb: np.ndarray, th: dict) -> float:
    """The median of the brightest channel of the pixels of the frame's outer band
    (``cast_band_frac`` of the short side, at least 1 px) of the uint8 RGB image ``rgb``: 255
    for a backdrop exposed to white, whatever the light's colour."""
    top = cv2.max(cv2.max(rgb[..., 0], rgb[..., 1]), rgb[..., 2])
    return float(np.median(band(top, band_width(top.shape, float(th["cast_band_frac"]),
                                                min_px=1))))


def white_backdrop(rgb: np.ndarray, th: dict) -> bool:
    """Whether the frame's outer band of ``rgb`` is a backdrop exposed to white: its
    :func:`backdrop_level` at least ``cast_backdrop_min_level``."""
    return backdrop_level(rgb, th) >= float(th["cast_backdrop_min_level"])


def colour_p99(lab: np.ndarray, th: dict) -> float | None:
    """The 99th percentile (the value at rank 0.99 n) of the chroma of the pixels between black
    and white (the module docstring); None with too few of them."""
    step = max(1, math.ceil(max(lab.shape[:2]) / float(th["mono_work_side"])))
    sub = lab[::step, ::step]
    light = sub[..., 0]
    keep = (light > float(th["mono_L_min"])) & (light < float(th["mono_L_max"]))
    n = int(np.count_nonzero(keep))
    if n < float(th["mono_min_share"]) * light.size or n < 100:
        return None
    ab = sub[..., 1:][keep]
    c2 = np.einsum("ij,ij->i", ab, ab)  # squared chroma: its percentile's root is the chroma's
    k = min(n - 1, int(0.99 * n))
    return float(np.sqrt(np.partition(c2, k)[k]))


def monochrome(ctx: ImageContext, m: dict[str, float | None], th: dict) -> bool:
    """Whether the photo is black and white (``colour_p99`` under ``mono_max_chroma``) and the
    seller's title does not name a product without colour (a black-and-white print:
    :func:`analyzer.quality.title.names_black_and_white`)."""
    c = m["colour_p99"]
    return (c is not None and c < float(th["mono_max_chroma"])
            and not (ctx.title and names_black_and_white(ctx.title, th)))


def penalties(m: dict[str, float], th: dict) -> dict[str, float]:
    """Each problem's penalty, 0 (fine) .. 100 (as bad as it gets)."""
    pairs = {"highlights": ("clip_highlights", "clip_hi_ok", "clip_hi_bad"),
             "glare": ("glare", "glare_ok", "glare_bad"),
             "shadows": ("clip_shadows", "clip_lo_ok", "clip_lo_bad"),
             "under": ("white_point", "white_point_ok", "white_point_bad"),
             "bright": ("product_L_median", "product_L_bright_ok", "product_L_bright_bad"),
             "cast": ("cast", "cast_ok", "cast_bad")}
    return {k: 100.0 - ramp(m[x], float(th[ok]), float(th[bad]), top=100.0)
            for k, (x, ok, bad) in pairs.items()}


def score(m: dict[str, float], th: dict, mono: bool = False) -> float:
    w = th["weights"]
    p = penalties(m, th)
    total = float(max(0.0, 100.0 - sum(float(w[k]) * v for k, v in p.items())))
    # no colour at all is as wrong as a product's colour gets (``mono``: judged so): capped
    return min(total, float(th["mono_score_cap"])) if mono else total


def tint_name(a: float, b: float) -> str:
    """The hue a cast leans to, from the angle of (a*, b*)."""
    ang = math.degrees(math.atan2(b, a)) % 360
    names = [(30, "magenta-red"), (75, "orange"), (110, "yellow"), (160, "yellow-green"),
             (215, "green"), (250, "cyan"), (300, "blue"), (345, "purple"), (360, "magenta-red")]
    return next(n for lim, n in names if ang < lim)


def flags(ctx: ImageContext, m: dict[str, float], th: dict, mono: bool = False) -> list[Flag]:
    out = []
    if m["clip_highlights"] >= th["clip_hi_flag"]:
        out.append(ctx.flag(
            "OVEREXPOSED",
            f"{100 * m['clip_highlights']:.0f}% of the product has blown highlights (washed "
            f"toward white, or flat where its shading was: colour channels clipped at "
            f"{th['channel_clip']}); keep it under {100 * th['clip_hi_flag']:.0f}% so its "
            "colour and detail show",
            "Lower the exposure (about -1 EV) or move/diffuse the light; expose for the product, "
            "not the background.", NAME))
    elif m["glare"] >= th["glare_flag"]:  # one OVEREXPOSED: blown highlights name it first
        out.append(ctx.flag(
            "OVEREXPOSED",
            f"a glare spot blows out {100 * m['glare']:.2f}% of the product: pure white where "
            "its colour and detail should be, fading out around it, as a flash or a lamp "
            f"mirrored in a glossy surface leaves it (under {100 * th['glare_flag']:.2f}% does "
            "not flag)",
            "Turn the flash off and light the product from the side or through a diffuser (a "
            "white sheet, baking paper), or turn the product until the reflection leaves it.",
            NAME))
    if m["white_point"] < th["white_point_flag"]:
        out.append(ctx.flag(
            "UNDEREXPOSED",
            f"the brightest part of the photo only reaches L* {m['white_point']:.0f}; a well "
            f"exposed photo reaches {th['white_point_flag']} or more (a white background should "
            "read as white)",
            "Add light (a window or a daylight lamp) or raise the exposure (+1 EV); on a white "
            "background expose until the background is white.", NAME))
    elif m["clip_shadows"] >= th["clip_lo_flag"]:
        out.append(ctx.flag(
            "UNDEREXPOSED",
            f"{100 * m['clip_shadows']:.0f}% of the product is crushed to black "
            f"(L* <= {th['shadow_L']}); keep it under {100 * th['clip_lo_flag']:.0f}%",
            "Add fill light (a reflector or second lamp) on the product's dark side, or raise the "
            "exposure; if an app's contrast or \"vivid\" filter crushed it, export the photo "
            "without the filter.", NAME))
    if mono:
        out.append(ctx.flag(
            "MONOCHROME",
            "the photo has no colour of its own: every pixel is a shade of grey (a black-and-"
            f"white or mono filter; its most colourful pixels reach chroma "
            f"{m['colour_p99']:.1f}, a colour photo's {th['mono_max_chroma']:.1f} or more), so "
            "shoppers cannot see the product's real colours (a black-and-white product, a "
            "print, is fine: say so in its title)",
            "Upload the colour original: turn off the camera's or the editing app's black-and-"
            "white, mono or noir filter.", NAME))
    elif m["cast"] >= th["cast_flag"]:
        tint = tint_name(m["cast_a"], m["cast_b"])
        what = (f"nothing in the photo is white or grey any more: its brightest parts, the "
                f"light backdrop with them, are tinted {tint}, as a white balance far off for "
                f"the light leaves them (daylight set under a bulb, a bulb's setting in shade, "
                f"fluorescent tubes)"
                if m.get("cast_from_backdrop") else f"whites and greys are tinted {tint}")
        out.append(ctx.flag(
            "COLOR_CAST",
            f"{what} (a* {m['cast_a']:+.1f}, b* {m['cast_b']:+.1f}: Delta E {m['cast']:.1f} from "
            f"neutral; the limit is {th['cast_flag']})",
            "Set the white balance (custom white balance on a grey card, or correct it in an "
            "editor) and light with lamps of one colour temperature.", NAME))
    return out


@register(NAME)
def check(ctx: ImageContext) -> CheckResult:
    th = ctx.thresholds(NAME)
    mask = ctx.mask_bool_or_none
    # Every second pixel each way (measure's docstring), the product region found on that grid
    # too: its rim shrunk by the same share of the long side, at a quarter of the cost (6 -> 1.5
    # ms on a 1024 px studio photo).
    lab, rgb = every(ctx.lab, 2), every(ctx.rgb, 2)
    region = product_region(None if mask is None else mask[::2, ::2], lab.shape[:2],
                            float(th["erode_frac"]))
    m = measure(lab, region, th, rgb)
    # glare on the region with its holes filled: u2netp takes a large spot blown to white for
    # backdrop and leaves it out of the product; none without a product (the whole frame would
    # "enclose" every white part)
    m["glare"] = (0.0 if mask is None else
                  glare.glare_share(glare.spots(lab, rgb, fill_holes(region), th), th))
    mono = monochrome(ctx, m, th)
    return CheckResult(name=NAME, score=score(m, th, mono), metrics=m,
                       flags=flags(ctx, m, th, mono))
