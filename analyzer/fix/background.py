"""Background to pure white (RGB 255) from the product mask, with edge matting.

1. Matte: the analysis mask (made at working size) is enlarged to the photo and refined by a
   guided filter with the full-size photo as guide (:func:`analyzer.fix.ops.guided_filter`), so
   its edge follows the photo's own edges; then stretched, alpha = clip((q - low) / (high -
   low), 0, 1), so the backdrop is exactly 0 and the product's body exactly 1.
2. Decontaminate and composite: a soft edge pixel is I = a F + (1 - a) B, with B the backdrop's
   colour there (:func:`analyzer.fix.ops.backdrop_field`, which follows a gradient or a
   vignette). The pixel on white is a F + (1 - a) 255 = I + (1 - a)(255 - B): the backdrop's
   share of the pixel is swapped for white without dividing by a, so hair, fur and soft edges
   keep their own colour and get no grey fringe or halo (Smith & Blinn, "Blue screen matting",
   SIGGRAPH 1996, eq. 1, with B known).
Guard: the backdrop must be plain. When less than ``plain_min`` of the pixels outside the product
lie within ``plain_rgb`` (RGB distance) of the smooth backdrop estimate, what the mask left out
is a scene or a large object (a printed box whose picture the mask took for the product, a bed,
a shelf): the product cannot be told from it, and the backdrop is left as it is, with a note.

Guard: a light product cropped by the frame. When the product runs off the frame on two or more
sides and the "backdrop" around it is light, that backdrop is most often more of the product (a
white jacket or sweater filling the frame, whose body the mask missed): whitening it would erase
the product, so it is left, with a note (found by eye on luma crops of white garments). Likewise
when the "backdrop" is partly pure white already (at least ``mixed_pure_min``) and partly light
but not white (``mixed_pale_min``): the real backdrop is white, the pale rest a white product.

Guard: the product erased (:mod:`analyzer.fix.guard`): when the "backdrop" holds much more
light, non-plain content (folds, seams, knit of a white product) than the mask is sure of, the
backdrop is left with a note. The cropped-light-product guard above needs evidence that the
light "backdrop" is not one plain backdrop (at least ``sides_unplain_min`` of it light and not
plain, or two flat light levels: :func:`analyzer.fix.guard.two_levels`), so a product cropped by
the frame on a plain tinted, grey or graded backdrop is still whitened.

3. A soft contact shadow is kept only on the marketplaces listed under ``contact_shadow`` in
   fixes.yaml: the backdrop's darkening right under the product, d = clip(1 - Y / Y_backdrop),
   faded with the distance from the product, is laid onto the white.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.fix.cutout import (
    clear_backdrop_fringe,
    keep_enclosed_unlike,
    keep_unlike_unsure,
    within_reach,
)
from analyzer.fix.guard import product_doubt
from analyzer.fix.ops import (
    backdrop_field,
    guided_filter,
    resize_to,
    sides_touched,
    stretch_alpha,
)
from analyzer.fix.types import Change, ChangeCode, FixKind, FixState
from analyzer.vision.mask_ops import bbox_of

KIND = FixKind.BACKGROUND


def refine_alpha(rgb: np.ndarray, prob: np.ndarray, th: dict,
                 stretch: bool = True) -> np.ndarray:
    """The analysis mask (any size, 0..1) as a matte at the photo's size (see step 1); without
    ``stretch``, the guided filter's output itself (the coverage estimate used to swap the
    backdrop's share of an edge pixel for white)."""
    h, w = rgb.shape[:2]
    p = resize_to(prob.astype(np.float32), (h, w))
    guide = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    r = max(2, round(float(th["guide_radius_frac"]) * max(h, w)))
    q = guided_filter(guide, p, r, float(th["guide_eps"]), int(th["guide_long_side"]))
    return stretch_alpha(q, th) if stretch else q


def composite_on_white(rgb: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray,
                       coverage: np.ndarray | None = None) -> np.ndarray:
    """I + (1 - c)(255 - B), clipped (step 2), with c the edge's coverage (``coverage``, the
    unstretched matte, else ``alpha``); pure 255 where ``alpha`` == 0, the photo itself where
    ``alpha`` == 1."""
    a = alpha[..., None]
    c = a if coverage is None else coverage[..., None]
    out = rgb.astype(np.float32) + (1.0 - c) * (255.0 - backdrop)
    out = np.where(a >= 1.0, rgb.astype(np.float32), np.where(a > 0, out, 255.0))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def plain_share(rgb: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray,
                max_dist: float) -> float:
    """Share of the pixels outside the product within ``max_dist`` (RGB) of the smooth backdrop
    estimate (1.0 when there is no backdrop at all)."""
    step = max(1, round(max(alpha.shape) / 512))
    out = alpha[::step, ::step] < 0.02
    if out.sum() < 64:
        return 1.0
    d = np.linalg.norm(rgb[::step, ::step][out].astype(np.float32)
                       - backdrop[::step, ::step][out], axis=1)
    return float((d <= max_dist).mean())


def contact_shadow(rgb: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray,
                   th: dict) -> np.ndarray:
    """How much the backdrop is darkened by the product's shadow under its base (0..max)."""
    h, w = alpha.shape
    box = bbox_of(alpha >= 0.5)
    if box is None:
        return np.zeros((h, w), np.float32)
    x0, y0, x1, y1 = box
    band = max(2, round(float(th["shadow_band_frac"]) * (y1 - y0)))
    # Where the shadow may be: the band around the base, fading to nothing over one more band
    # outside it (and, below, over the last band before the frame's edge). A hard-edged region
    # left a shadow that stopped in a straight line, at the frame's edge once framing padded
    # the photo (found by a new user's try on Etsy) or beside the base.
    region = np.zeros((h, w), np.float32)
    ya, yb_ = max(0, y1 - 2 * band), min(h, y1 + 2 * band)
    xa, xb = max(0, x0 - 2 * band), min(w, x1 + 2 * band)
    yy = np.arange(ya, yb_, dtype=np.float32)[:, None]
    xx = np.arange(xa, xb, dtype=np.float32)[None, :]
    out_y = np.maximum(0.0, np.maximum((y1 - band) - yy, yy - (y1 + band - 1)))
    out_x = np.maximum(0.0, np.maximum((x0 - band) - xx, xx - (x1 + band - 1)))
    region[ya:yb_, xa:xb] = np.clip(1.0 - np.hypot(out_x, out_y) / band, 0.0, 1.0)
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    yb = cv2.cvtColor(np.clip(backdrop, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    ref = float(np.percentile(yb, 90)) + 1e-3  # the backdrop's own light, not its shadowed part
    d = np.clip(1.0 - y / ref, 0.0, float(th["shadow_max"])) * region * (alpha < 0.5)
    dist = cv2.distanceTransform((alpha < 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    d *= np.exp(-dist / band)
    d = cv2.GaussianBlur(d.astype(np.float32), (0, 0), max(1.0, band / 8))
    ramp = np.linspace(0.0, 1.0, min(band, h // 2, w // 2), endpoint=False, dtype=np.float32)
    if len(ramp):  # to nothing at the frame's edge, after the blur
        k = len(ramp)
        d[:k] *= ramp[:, None]
        d[h - k:] *= ramp[::-1, None]
        d[:, :k] *= ramp[None, :]
        d[:, w - k:] *= ramp[None, ::-1]
    return d


def apply(state: FixState) -> Change | None:
    th = state.rules["background"]
    doubt = product_doubt(state)
    if doubt:
        state.notes.append(f"background not changed: {doubt}")
        return None
    prob = state.alpha
    coverage = refine_alpha(state.rgb, state.alpha, th, stretch=False)
    state.alpha = stretch_alpha(coverage, th)
    if not (state.alpha >= 0.5).any():
        state.notes.append("background not changed: no product was found to keep")
        return None
    backdrop = backdrop_field(state.rgb, state.alpha, int(th["backdrop_side"]))
    # What the mask was unsure of and is unlike the backdrop in hue (a model's skin next to the
    # garment) is kept whole, rather than brightened and punched with white holes.
    state.alpha = keep_unlike_unsure(state.alpha, prob, state.rgb, backdrop, th)
    # A band of the product the mask left out inside its outline (a light stripe) stays too.
    state.alpha = keep_enclosed_unlike(state.alpha, state.rgb, th)
    # Lines on the backdrop that touch the product (grout, a table edge) leave the matte, and
    # the backdrop's texture left in the soft edge (a coloured fringe) goes with the backdrop.
    state.alpha = within_reach(state.alpha, state.rgb, backdrop, th)
    state.alpha = clear_backdrop_fringe(state.alpha, state.rgb, backdrop, th)
    sides = sides_touched(state.alpha >= 0.5, float(th["touch_band_frac"]),
                          float(th["touch_min"]))
    bg_px = state.rgb[::4, ::4][state.alpha[::4, ::4] < 0.02]
    light = len(bg_px) > 0 and float(bg_px.min(axis=1).mean()) >= float(th["light_backdrop"])
    mins = bg_px.min(axis=1) if len(bg_px) else np.zeros(0)
    pure = float((mins >= 250).mean()) if len(mins) else 0.0
    pale = float(((mins >= 200) & (mins < 250)).mean()) if len(mins) else 0.0
    if pure >= float(th["mixed_pure_min"]) and pale >= float(th["mixed_pale_min"]):
        state.extent_unknown = True
        state.notes.append(
            f"background not changed: {pure:.0%} of what lies around the product is already "
            f"pure white and {pale:.0%} is light but not white, which is most likely more of a "
            "white product the mask missed, not backdrop; nothing was erased")
        return None
    if sides >= 2 and light and (state.unplain_share >= float(th["sides_unplain_min"])
                                  or state.two_levels):
        state.extent_unknown = True
        state.notes.append(
            f"background not changed: the product runs off the frame on {sides} sides and what "
            "is around it is light, so it may be more of the product (a white garment) rather "
            "than a backdrop; shoot the whole product on a plain backdrop")
        return None
    plain = plain_share(state.rgb, state.alpha, backdrop, float(th["plain_rgb"]))
    if plain < float(th["plain_min"]):
        state.notes.append(
            f"background not changed: only {plain:.0%} of it is a plain backdrop, so the product "
            "cannot be told apart from what is around it (a scene, a large printed box, "
            "furniture); shoot it on a plain light backdrop")
        return None
    bg = backdrop[state.alpha < 0.02]
    mean_bg = bg.mean(axis=0) if len(bg) else np.full(3, 255.0)
    out = composite_on_white(state.rgb, state.alpha, backdrop, coverage)
    shadow = state.marketplace.key in set(state.rules.get("contact_shadow") or [])
    kept = ""
    if shadow:
        d = contact_shadow(state.rgb, state.alpha, backdrop, th)
        if float(d.max()) > 0.02:
            out = np.clip(out.astype(np.float32) * (1.0 - d[..., None]), 0, 255).astype(np.uint8)
            kept = f"; a soft contact shadow kept ({state.marketplace.label} allows it)"
    state.rgb = out
    state.white = True
    r, g, b = (int(round(v)) for v in np.clip(mean_bg, 0, 255))  # the estimate may overshoot
    if min(r, g, b) >= 255:  # a backdrop already white: only the matte changed anything
        # (a thirteenth new user read "made pure white (... it averaged 255,255,255)")
        return Change(ChangeCode.BACKGROUND_WHITENED,
                      "background already pure white (RGB 255,255,255), kept; the product's "
                      f"edges matted so no grey fringe remains{kept}")
    return Change(ChangeCode.BACKGROUND_WHITENED,
                  f"background made pure white (RGB 255,255,255; it averaged {r},{g},{b}), "
                  f"the product's edges matted so no grey fringe remains{kept}")
