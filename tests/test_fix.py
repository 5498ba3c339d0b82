"""Each fix on synthetic photos (no ../shared): what it changes, and what it must leave."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from analyzer.config import marketplace
from analyzer.fix import background, color, framing, output, props
from analyzer.fix.cutout import grow_backdrop
from analyzer.fix.guard import cut_explains
from analyzer.fix.ops import whiten_background
from analyzer.fix.plan import plan
from analyzer.fix.rules import fix_rules
from analyzer.fix.runner import apply_plan, fix_report, fix_source
from analyzer.fix.types import Change, ChangeCode, FixKind, FixState
from tests.fix_helpers import (
    soft_disk,
    textured_blob,
    textured_box,
    white_garment_on_grey,
    white_product_on_grey,
)


def _state(rgb: np.ndarray, alpha: np.ndarray, mkt: str = "amazon", planned=(),
           white: bool = False) -> FixState:
    return FixState(rgb=rgb, alpha=alpha.astype(np.float32), marketplace=marketplace(mkt),
                    rules=fix_rules(), flags=set(), planned=tuple(planned), white=white)


# --- plan ---------------------------------------------------------------------------------------

def test_plan_maps_flags_to_fixes_in_run_order_and_states_what_it_cannot_fix() -> None:
    p = plan({"PRODUCT_TOO_SMALL", "BACKGROUND_NOT_WHITE", "COLOR_CAST", "BLURRY",
              "LOW_RESOLUTION"})
    assert p.kinds == (FixKind.COLOR, FixKind.BACKGROUND, FixKind.FRAMING, FixKind.OUTPUT)
    assert p.reasons[FixKind.FRAMING] == ("PRODUCT_TOO_SMALL",)
    assert set(p.cannot) == {"BLURRY", "LOW_RESOLUTION"}
    assert any(n.startswith("BLURRY: not fixed") for n in p.notes)
    # No flag, no fix: only the output step.
    assert plan(set()).kinds == (FixKind.OUTPUT,)
    assert plan({"CLUTTERED_BACKGROUND"}).kinds == (FixKind.PROPS, FixKind.BACKGROUND,
                                                    FixKind.OUTPUT)
    # an enlarged (smooth or pixelated) photo is said, not "fixed": no edit brings detail back
    up = plan({"UPSCALED"})
    assert up.kinds == (FixKind.OUTPUT,) and up.notes[0].startswith("UPSCALED: not fixed")


# --- background ---------------------------------------------------------------------------------

def test_background_becomes_pure_white_on_a_gradient_and_the_product_is_kept() -> None:
    rgb, mask = textured_box(backdrop=(200, 200, 200))
    h, w = mask.shape
    # A vignette: the backdrop darkens towards the corners.
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot((yy - h / 2) / h, (xx - w / 2) / w)
    rgb = np.where(mask[..., None] > 0, rgb,
                   np.clip(230 - 120 * r[..., None], 0, 255)).astype(np.uint8)
    st = _state(rgb.copy(), mask, planned=(FixKind.BACKGROUND,))
    ch = background.apply(st)
    assert ch is not None and ch.code == ChangeCode.BACKGROUND_WHITENED
    out = st.rgb
    bg = np.ones(mask.shape, bool)
    bg[280:720, 380:820] = False  # the box grown by 20 px
    assert (out[bg] == 255).all()
    inner = np.zeros(mask.shape, bool)
    inner[320:680, 420:780] = True
    assert np.abs(out[inner].astype(int) - rgb[inner].astype(int)).mean() < 1.0
    assert "background made pure white" in ch.message and "it averaged" in ch.message


def test_a_backdrop_already_white_is_said_to_be_kept() -> None:
    """A thirteenth new user read "background made pure white (... it averaged 255,255,255)"
    on a photo whose backdrop the reframe's plan whitened again."""
    rgb, mask = textured_box(backdrop=(255, 255, 255))
    st = _state(rgb.copy(), mask, planned=(FixKind.BACKGROUND,))
    ch = background.apply(st)
    assert ch is not None and ch.message.startswith("background already pure white"), ch
    assert "averaged" not in ch.message


def test_soft_edges_get_no_grey_fringe_unlike_a_plain_composite() -> None:
    rgb, alpha = soft_disk(color=(200, 30, 30), backdrop=(110, 110, 110))
    edge = (alpha > 0.05) & (alpha < 0.95)
    # The edge as it would look shot on white: the product's share of red, the rest white.
    ideal = alpha[..., None] * np.array([200, 30, 30.0]) + (1 - alpha[..., None]) * 255
    st = _state(rgb.copy(), alpha, planned=(FixKind.BACKGROUND,))
    background.apply(st)
    naive = whiten_background(rgb, alpha)  # the grey backdrop's share stays in the edge
    err_ours = np.abs(st.rgb[edge] - ideal[edge]).mean()
    err_naive = np.abs(naive[edge] - ideal[edge]).mean()
    assert err_naive > 10
    assert err_ours < 0.4 * err_naive
    # Naive: red is pulled down and green/blue up towards the grey (110); ours stays in place.
    bias_ours = (st.rgb[edge] - ideal[edge]).mean(axis=0)
    bias_naive = (naive[edge] - ideal[edge]).mean(axis=0)
    assert np.abs(bias_naive).max() > 10 and np.abs(bias_ours).max() < 3


def test_background_is_left_alone_when_the_backdrop_is_not_plain() -> None:
    # What the mask left out is a busy picture (a printed box's artwork, a scene), not a backdrop.
    rgb, mask = textured_box(backdrop=(200, 200, 200))
    rng = np.random.default_rng(3)
    busy = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8).repeat(10, 0).repeat(10, 1)
    rgb = np.where(mask[..., None] > 0, rgb, busy).astype(np.uint8)
    st = _state(rgb.copy(), mask, planned=(FixKind.BACKGROUND,))
    assert background.apply(st) is None
    assert (st.rgb == rgb).all() and "plain backdrop" in st.notes[0]


def test_a_light_product_cropped_by_the_frame_is_not_whitened_away() -> None:
    # A white garment filling the frame (runs off the left, bottom and right); the mask found only
    # its dark collar, so "the backdrop" is the garment's light body.
    rgb = np.full((800, 600, 3), 232, np.uint8)
    rgb[:150] = 242                       # a little real (light grey) backdrop above it
    rgb[150:200, 150:450] = 30            # the collar
    mask = np.zeros((800, 600), np.float32)
    mask[150:200, 150:450] = 1.0
    mask[200:800, 0:40] = 1.0             # sleeves the mask did find, at both edges
    mask[200:800, 560:600] = 1.0
    mask[760:800, :] = 1.0
    st = _state(rgb.copy(), mask, planned=(FixKind.BACKGROUND,))
    assert background.apply(st) is None
    assert (st.rgb == rgb).all() and "runs off the frame" in st.notes[0]
    # Nor cropped to the part the mask found (the collar and sleeves): its extent is not known.
    fplan = plan({"BACKGROUND_OFF_WHITE", "PRODUCT_TOO_SMALL"})
    st_f, changes = apply_plan(rgb.copy(), mask, fplan, "amazon", set())
    assert not changes and (st_f.rgb == rgb).all()
    assert any(n.startswith("framing not changed: what lies around") for n in st_f.notes)
    # Not cut by the frame, but the "backdrop" is part pure white, part light: left alone too.
    rgb2, m2 = textured_box(backdrop=(255, 255, 255))
    rgb2[:450] = np.where(m2[:450, :, None] > 0, rgb2[:450], 232)
    st2 = _state(rgb2.copy(), m2, planned=(FixKind.BACKGROUND,))
    assert background.apply(st2) is None
    assert (st2.rgb == rgb2).all() and "already pure white" in st2.notes[0]
    # A plain grey backdrop with neither is whitened.
    rgb3, m3 = textured_box(backdrop=(232, 232, 232))
    st3 = _state(rgb3.copy(), m3, planned=(FixKind.BACKGROUND,))
    assert background.apply(st3) is not None


def test_a_white_product_on_light_grey_is_not_erased_and_the_safe_fixes_still_run() -> None:
    # The mask found only the zip of a white jacket on a light-grey backdrop: whitening "the
    # backdrop" would erase the jacket's body, painting out props or cropping to the zip would
    # cut it. All three are refused with a note; the output step still runs.
    rgb, mask, garment = white_garment_on_grey()
    fplan = plan({"BACKGROUND_NOT_WHITE", "PRODUCT_TOO_SMALL", "CLUTTERED_BACKGROUND"})
    st, changes = apply_plan(rgb.copy(), mask, fplan, "amazon", set())
    assert not changes
    assert (st.rgb == rgb).all()
    assert any("too close to the backdrop colour to cut out safely" in n for n in st.notes)
    assert any(n.startswith("framing not changed") for n in st.notes)
    # Without the guard this is what the background fix would have done to the garment.
    st2 = _state(rgb.copy(), mask, planned=(FixKind.BACKGROUND,))
    st2.doubt_checked = True  # the guard's answer forced to "no doubt"
    assert background.apply(st2) is not None
    assert (st2.rgb[garment].min(axis=1) >= 250).mean() > 0.8


def test_a_whole_white_product_on_light_grey_is_cut_out_from_the_border_and_kept() -> None:
    # The mask found only the logo of a white product on a light-grey sweep: the backdrop grown
    # from the frame's border gives the product back, so the backdrop is whitened and the product
    # is not erased.
    rgb, mask, product = white_product_on_grey()
    st = _state(rgb.copy(), mask, planned=(FixKind.BACKGROUND,))
    ch = background.apply(st)
    assert ch is not None and ch.code == ChangeCode.BACKGROUND_WHITENED
    assert any("grown from the frame's border" in n for n in st.notes)
    assert (st.rgb[product].min(axis=1) >= 250).mean() < 0.01
    assert np.abs(st.rgb[product].astype(int) - rgb[product].astype(int)).mean() < 2.0
    far = cv2.dilate(product.astype(np.uint8), np.ones((41, 41), np.uint8)) == 0
    assert (st.rgb[far].min(axis=1) >= 250).mean() > 0.99
    # With the analysis's mask alone (no cut) the product's body goes white.
    st2 = _state(rgb.copy(), mask, planned=(FixKind.BACKGROUND,))
    st2.doubt_checked = True
    background.apply(st2)
    assert (st2.rgb[product].min(axis=1) >= 250).mean() > 0.8
    # A cut is trusted only when its solid part holds the folds the guard saw: the real cut does,
    # a "cut" that is only the network of folds (growth over a garment's flat parts) does not.
    th = fix_rules()["background"]
    cut = grow_backdrop(rgb, mask, th)
    assert cut is not None and cut_explains(rgb, mask, cut, th) >= th["explain_min"]
    folds = (product & (np.abs(rgb[..., 0].astype(int) - 242) > 8)).astype(np.uint8)
    network = np.maximum(mask, cv2.dilate(folds, np.ones((5, 5), np.uint8)).astype(np.float32))
    assert cut_explains(rgb, mask, network, th) < th["explain_min"]
    # Nothing to grow from: the same product filling the frame (no plain border) is not cut.
    big = cv2.resize(rgb[200:700, 200:700], (900, 900), interpolation=cv2.INTER_NEAREST)
    bm = cv2.resize(mask[200:700, 200:700], (900, 900), interpolation=cv2.INTER_NEAREST)
    assert grow_backdrop(big, bm, fix_rules()["background"]) is None


def test_a_region_the_mask_was_unsure_of_and_unlike_the_backdrop_is_kept_whole() -> None:
    # A dark garment with a model's skin above it (mask probability 0.2, dipping to 0 in spots)
    # and a shadow below it (probability 0.2) on light grey: the skin is kept as it is, not
    # brightened and punched with white holes; the shadow, the backdrop darkened (its hue), is
    # not kept: its backdrop share is swapped for white as before.
    rgb, mask = textured_box(size=(900, 1200), box=(400, 350, 800, 700),
                             backdrop=(214, 214, 214))
    prob = mask.copy()
    rgb[150:350, 420:780] = (196, 150, 128)
    prob[150:350, 420:780] = 0.2
    prob[220:240, 500:530] = 0.0
    prob[280:300, 650:700] = 0.0
    rgb[700:760, 400:800] = 150
    prob[700:760, 400:800] = 0.2
    st = _state(rgb.copy(), prob, planned=(FixKind.BACKGROUND,))
    assert background.apply(st) is not None
    skin = (slice(160, 340), slice(430, 770))
    assert np.abs(st.rgb[skin].astype(int) - rgb[skin].astype(int)).max() <= 1
    assert (st.rgb[170:330, 440:760].min(axis=2) >= 250).mean() == 0.0
    assert st.rgb[725:760, 420:780].mean() > 175


def _tiles_with_grout(size=(700, 900), tile=150, grout=(150, 140, 125), floor=(228, 218, 200)):
    """A floor of beige tiles with grey grout lines on the diagonals."""
    h, w = size
    yy, xx = np.mgrid[:h, :w]
    on = (((xx + yy) % tile) < 3) | (((xx - yy) % tile) < 3)
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = floor
    rgb[on] = grout
    return rgb, on


def test_grout_lines_touching_the_product_leave_no_grey_lines_on_the_white() -> None:
    """Found on an amateur photo (jeans on floor tiles): u2netp gives grout lines that touch
    the product a faint probability (0.1-0.2), the matte kept them and the fixed photo showed
    grey lines radiating from the jeans, graded A."""
    rgb, on = _tiles_with_grout()
    box, mask = textured_box(size=(700, 900), box=(330, 150, 570, 560), backdrop=(0, 0, 0))
    inside = mask > 0
    rgb[inside] = box[inside]
    prob = mask.copy()
    near = cv2.dilate(mask, np.ones((121, 121), np.uint8)) > 0  # lines within 60 px of it
    prob[on & near & ~inside] = 0.15
    # A drawstring hanging from it, as thin and as faint to the mask, but dark: the product's.
    cord = np.zeros(mask.shape, bool)
    cord[560:640, 448:452] = True
    rgb[cord] = (30, 30, 40)
    prob[cord] = 0.3
    st = _state(rgb.copy(), prob, planned=(FixKind.BACKGROUND,))
    assert background.apply(st) is not None
    far = cv2.dilate(mask, np.ones((31, 31), np.uint8)) == 0  # 15 px and more from the product
    assert (st.rgb[on & near & far & ~cord].min(axis=1) >= 250).mean() > 0.99
    assert st.rgb[580:635, 449:451].max() < 120  # the cord is kept
    inner = cv2.erode(mask, np.ones((9, 9), np.uint8)) > 0
    assert np.abs(st.rgb[inner].astype(int) - rgb[inner].astype(int)).mean() < 1.0


def test_a_textured_backdrop_leaves_no_coloured_fringe_and_a_grey_product_keeps_its_edge() -> None:
    """Found on an amateur photo (a teal cardigan on a pink knit blanket): the blanket's darker
    holes next to the outline stayed as a dotted pink fringe on the white."""
    rng = np.random.default_rng(2)
    h, w = 600, 800
    yy, xx = np.mgrid[:h, :w]
    blanket = np.empty((h, w, 3), np.float32)
    blanket[:] = (214, 170, 172)
    holes = ((yy % 12) < 4) & ((xx % 12) < 4)  # the knit's holes, darker pink
    blanket[holes] = (170, 120, 125)
    rgb, alpha = soft_disk(size=(h, w), color=(120, 190, 180), backdrop=(214, 170, 172), soft=2.0)
    a = alpha[..., None]
    img = np.clip(a * np.array((120, 190, 180.0)) + (1 - a) * blanket
                  + rng.normal(0, 1.0, (h, w, 1)), 0, 255).astype(np.uint8)
    prob = np.clip(cv2.GaussianBlur(alpha, (0, 0), 5.0) * 1.5, 0, 1)  # u2netp's wider, softer edge
    st = _state(img.copy(), prob, planned=(FixKind.BACKGROUND,))
    assert background.apply(st) is not None
    r = np.hypot(yy - h / 2, xx - w / 2)
    ring = (r > 152) & (r < 166)  # just outside the disk's outline (radius 150, soft 2 px)
    px = st.rgb[ring].astype(int)
    pink = (px[:, 0] >= px[:, 1]) & (px.min(axis=1) < 235)  # the blanket's hue, not white
    assert pink.mean() < 0.01, pink.mean()
    # A grey product on a grey backdrop (the same hue) keeps its whole soft edge.
    rgb2, alpha2 = soft_disk(size=(h, w), color=(60, 60, 60), backdrop=(200, 200, 200), soft=3.0)
    st2 = _state(rgb2.copy(), alpha2, planned=(FixKind.BACKGROUND,))
    assert background.apply(st2) is not None
    edge = (alpha2 > 0.1) & (alpha2 < 0.9)
    ideal = alpha2[..., None] * 60.0 + (1 - alpha2[..., None]) * 255
    assert np.abs(st2.rgb[edge] - ideal[edge]).mean() < 12


def test_the_erase_guard_lets_normal_products_through() -> None:
    # A normal product on the same light grey, on a plain tint while cropped by the frame on two
    # sides, and on a light textured cloth (a bed, a rug) that the mask tells apart: whitened.
    rgb, m = textured_box(backdrop=(214, 214, 214))
    st = _state(rgb.copy(), m, planned=(FixKind.BACKGROUND,))
    assert background.apply(st) is not None and st.doubt is None
    rgb2, m2 = textured_box(box=(500, 300, 1200, 900), backdrop=(236, 228, 240))
    st2 = _state(rgb2.copy(), m2, planned=(FixKind.BACKGROUND,))
    assert background.apply(st2) is not None
    assert (st2.rgb[m2 == 0] == 255).mean() > 0.95
    yy, xx = np.mgrid[:900, :1200]
    cloth = 215 + 14 * np.sin(xx / 6.0) * np.sin(yy / 9.0)
    rgb3, m3 = textured_box(backdrop=(0, 0, 0))
    rgb3 = np.where(m3[..., None] > 0, rgb3, np.rint(cloth)[..., None]).astype(np.uint8)
    st3 = _state(rgb3.copy(), m3, planned=(FixKind.BACKGROUND,))
    assert background.apply(st3) is not None and st3.doubt is None


def test_contact_shadow_is_kept_only_where_the_marketplace_allows_it() -> None:
    rgb, mask = textured_box(backdrop=(235, 235, 235))
    rgb[700:730, 380:820] = 150  # a shadow band right under the box
    outs = {}
    for mkt in ("amazon", "etsy"):
        st = _state(rgb.copy(), mask, mkt=mkt, planned=(FixKind.BACKGROUND,))
        ch = background.apply(st)
        outs[mkt] = st.rgb
        assert ("shadow" in ch.message) == (mkt == "etsy")
    assert outs["amazon"][705:715, 450:750].min() >= 250
    assert outs["etsy"][705:715, 450:750].mean() < 240
    assert (outs["etsy"][:100] == 255).all()  # the rest of the backdrop is still pure white


def test_kept_shadow_fades_out_before_the_frame_edge_and_beside_the_base() -> None:
    # A product standing 20 px above the frame's bottom edge, its shadow running off the frame
    # and past both sides of its base: kept on Etsy, but with no straight edge anywhere (one
    # used to show where framing padded the photo, and at the shadow region's sides).
    rgb, mask = textured_box(box=(400, 300, 800, 880))
    rgb[880:900, 300:900] = 150
    st = _state(rgb.copy(), mask, mkt="etsy", planned=(FixKind.BACKGROUND,))
    assert "shadow" in background.apply(st).message
    assert st.rgb[-1].min() >= 253  # nothing left at the edge to end in a line when padded
    assert st.rgb[881:885, 450:750].mean() < 235  # right under the base it is kept
    row = st.rgb[888, :, 0].astype(int)  # 8 px under the base, clear of its matted edge
    assert row[250:350].min() >= 250 and row[850:950].min() >= 250  # gone past the sides
    assert np.abs(np.diff(row[250:950])).max() < 12  # and fading, not cut


# --- colour ---------------------------------------------------------------------------------------

def test_color_cast_is_removed_from_the_backdrop_white_patch() -> None:
    clean, mask = textured_box(backdrop=(250, 250, 250))
    warm = color.apply_gains(clean, np.array([1.0, 0.9, 0.72], np.float32))
    st = _state(warm.copy(), mask)
    ch = color.apply(st)
    assert ch is not None and ch.code == ChangeCode.COLOR_CORRECTED
    bg = st.rgb[:100].reshape(-1, 3).astype(int)
    assert np.abs(bg[:, 0] - bg[:, 2]).max() <= 2  # the backdrop is neutral again
    prod = mask > 0
    before = np.abs(warm[prod].astype(int) - clean[prod].astype(int)).mean()
    after = np.abs(st.rgb[prod].astype(int) - clean[prod].astype(int)).mean()
    assert after < before / 3


def _grey_product_on(backdrop: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A neutral product (grey knit: the same texture in every channel) on a flat backdrop."""
    rgb, mask = textured_box(backdrop=backdrop)
    yy, xx = np.mgrid[300:700, 400:800]
    knit = 150 + 50 * np.sin(xx / 5.0) * np.sin(yy / 7.0) + np.linspace(0, 40, 400)[:, None]
    rgb[300:700, 400:800] = np.rint(knit)[..., None].astype(np.uint8)
    return rgb, mask


def test_a_coloured_backdrop_is_not_taken_for_a_coloured_light() -> None:
    # A grey product on a peach wall: the wall's colour is its own (the product is neutral), so
    # "correcting" it would turn the product blue-green.
    rgb, mask = _grey_product_on((236, 205, 180))
    st = _state(rgb.copy(), mask)
    assert color.apply(st) is None
    assert (st.rgb == rgb).all()
    assert "does not share its tint" in st.notes[0] and "white card" in st.notes[0]
    # The same scene lit by a warm light (a white wall, the whole frame tinted): corrected, and
    # the grey product comes out neutral again.
    white, _ = _grey_product_on((250, 250, 250))
    warm = color.apply_gains(white, np.array([1.0, 0.85, 0.7], np.float32))
    st = _state(warm.copy(), mask)
    ch = color.apply(st)
    assert ch is not None and ch.code == ChangeCode.COLOR_CORRECTED
    prod = st.rgb[320:680, 420:780].reshape(-1, 3).astype(int)
    assert np.abs(prod[:, 0] - prod[:, 2]).mean() < 3
    assert np.abs(warm[320:680, 420:780].reshape(-1, 3).astype(int) @ [1, 0, -1]).mean() > 20


def test_tint_share_projects_out_the_product_colour() -> None:
    patch = np.array([1.0, 0.8, 0.6])  # warm
    assert color.tint_share(patch * 0.3, patch) == pytest.approx(1.0)
    assert color.tint_share(np.ones(3), patch) == pytest.approx(0.0)
    assert color.tint_share(np.array([0.6, 0.8, 1.0]), patch) < 0  # a blue product
    assert color.tint_share(np.ones(3), np.ones(3)) == 1.0  # no tint: nothing to doubt


def test_color_fix_is_skipped_with_a_note_without_a_light_backdrop() -> None:
    rgb, mask = textured_box(backdrop=(30, 30, 40))
    st = _state(rgb.copy(), mask)
    assert color.apply(st) is None
    assert (st.rgb == rgb).all() and "no light backdrop" in st.notes[0]


# --- framing --------------------------------------------------------------------------------------

def test_small_product_is_framed_to_the_fill_target_without_enlarging() -> None:
    rgb, mask = textured_box(size=(1500, 2000), box=(200, 300, 600, 800))  # 500 px tall
    st = _state(rgb, mask, white=True)
    ch = framing.apply(st)
    assert ch is not None and ch.code == ChangeCode.REFRAMED
    h, w = st.rgb.shape[:2]
    assert h == w  # Amazon names no aspect: square
    ys, xs = np.nonzero(st.alpha >= 0.5)
    assert ys.max() + 1 - ys.min() == 500 and xs.max() + 1 - xs.min() == 400  # native pixels
    fill = max(500 / h, 400 / w)
    assert 0.85 <= fill <= 0.95
    cy, cx = (ys.min() + ys.max()) / 2 / h, (xs.min() + xs.max()) / 2 / w
    assert abs(cy - 0.5) < 0.01 and abs(cx - 0.5) < 0.01


def test_framing_never_upscales_and_says_so_when_the_product_is_tiny() -> None:
    rgb, mask = textured_box(size=(1500, 1500), box=(700, 700, 900, 900))  # 200 px
    st = _state(rgb, mask, white=True)
    framing.apply(st)
    h, w = st.rgb.shape[:2]
    assert max(h, w) == 500  # widened to Amazon's minimum, not upscaled
    ys, xs = np.nonzero(st.alpha >= 0.5)
    assert ys.max() + 1 - ys.min() == 200
    assert any("enlarging it past its own pixels" in n for n in st.notes)


def test_framing_keeps_a_cut_product_at_the_frame_edge() -> None:
    frame = framing.plan_frame((0, 200, 300, 600), (800, 1000), 1.0, 0.88, 2)
    assert frame[0] == 0  # no white gap left of a product that runs off the photo
    frame = framing.plan_frame((300, 200, 600, 600), (800, 1000), 1.0, 0.88, 2)
    assert frame[0] < 300 and frame[0] + frame[2] > 600


def test_framing_uses_the_marketplace_aspect() -> None:
    rgb, mask = textured_box(size=(1200, 1600), box=(300, 200, 1300, 1000))
    st = _state(rgb, mask, mkt="etsy", white=True)
    framing.apply(st)
    h, w = st.rgb.shape[:2]
    assert abs(w / h - 4 / 3) < 0.01  # Etsy's 4:3, the closest to this landscape photo


# --- props ----------------------------------------------------------------------------------------

def test_props_apart_from_the_product_are_removed_and_a_pair_is_kept() -> None:
    rgb, mask = textured_box(size=(900, 1200), box=(300, 200, 700, 700))
    rgb[750:820, 950:1050] = (20, 120, 20)  # a small prop in the corner
    mask[750:820, 950:1050] = 1.0
    st = _state(rgb.copy(), mask, white=True)
    ch = props.apply(st)
    assert ch is not None and ch.code == ChangeCode.PROPS_REMOVED
    assert (st.rgb[760:810, 960:1040] == 255).all()
    assert (st.rgb[300:600, 400:600] == rgb[300:600, 400:600]).all()
    assert any("overlap the product" in n for n in st.notes)
    # Two equal parts (a pair of shoes): neither is a prop.
    rgb2, m2 = textured_box(size=(900, 1200), box=(100, 300, 500, 600))
    rgb2[300:600, 700:1100] = rgb2[300:600, 100:500]
    m2[300:600, 700:1100] = 1.0
    st2 = _state(rgb2.copy(), m2, white=True)
    assert props.apply(st2) is None and (st2.rgb == rgb2).all()


def test_props_on_a_coloured_backdrop_are_inpainted() -> None:
    rgb, mask = textured_box(size=(900, 1200), box=(300, 200, 700, 700), backdrop=(180, 160, 120))
    rgb[750:820, 950:1050] = (20, 20, 200)
    mask[750:820, 950:1050] = 1.0
    st = _state(rgb.copy(), mask)
    props.apply(st)
    patch = st.rgb[760:810, 960:1040].reshape(-1, 3).astype(int)
    assert np.abs(patch - np.array([180, 160, 120])).mean() < 8


# --- output and the whole run -----------------------------------------------------------------

def test_output_is_an_srgb_jpeg_without_metadata_at_quality_90_or_more() -> None:
    rgb, mask = textured_box()
    st = _state(rgb, mask)
    data, q = output.encode(st)
    assert q >= 90
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG" and im.mode == "RGB"
    assert "exif" not in im.info and "icc_profile" not in im.info


def test_fix_applies_exif_orientation_and_strips_it() -> None:
    rgb, _ = textured_box(size=(600, 900), box=(100, 100, 500, 400), backdrop=(190, 190, 190))
    im = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "TestCam"
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    o = fix_source(buf.getvalue(), name="rot.jpg", use_model=False)
    assert o.ok, o.error
    out = Image.open(io.BytesIO(o.jpeg))
    assert "exif" not in out.info
    assert any("upright" in c.message for c in o.changes if c.code == ChangeCode.CONVERTED)


def test_fix_source_clears_the_background_and_framing_flags_and_regrades() -> None:
    rgb, _ = textured_blob(backdrop=(205, 200, 190))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    o = fix_source(buf.getvalue(), name="grey.jpg", marketplace="amazon")
    assert o.ok, o.error
    assert {"BACKGROUND_NOT_WHITE", "PRODUCT_TOO_SMALL"} & set(o.before.flags)
    assert not {"BACKGROUND_NOT_WHITE", "BACKGROUND_OFF_WHITE", "PRODUCT_TOO_SMALL"} & set(
        o.after.flags)
    assert o.after.overall > o.before.overall
    codes = [c.code for c in o.changes]
    assert codes == [ChangeCode.BACKGROUND_WHITENED, ChangeCode.REFRAMED, ChangeCode.CONVERTED]
    d = o.to_dict()
    assert set(d) == {"file", "ok", "error", "output", "changes", "before", "after", "notes"}


def test_a_blank_frame_is_a_clear_error_not_a_crash() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (800, 800), (250, 250, 250)).save(buf, "PNG")
    o = fix_source(buf.getvalue(), name="blank.png", use_model=False)
    assert not o.ok and o.error["code"] == "NO_PRODUCT_FOUND"
    assert o.before is not None and "NO_PRODUCT" in o.before.flags


def test_fix_report_without_image_is_an_error() -> None:
    from analyzer.engine import analyze

    rgb, _ = textured_box(backdrop=(200, 200, 200))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    rep = analyze(buf.getvalue(), use_model=False)  # keep_image off
    o = fix_report(rep)
    assert not o.ok and o.error["code"] == "INTERNAL_ERROR"


@pytest.mark.parametrize("flags", [set(), {"BLURRY"}])
def test_nothing_to_fix_only_resaves(flags: set[str]) -> None:
    rgb, mask = textured_box()
    p = plan(flags)
    st, changes = apply_plan(rgb, mask, p, "amazon", flags)
    assert changes == [] and (st.rgb == rgb).all()



def test_grain_the_reframe_shows_is_explained_not_hidden() -> None:
    # A grainy product small in a 2400 px frame: graded on the working copy shrunk to 1024 px,
    # its grain averages out (no NOISY); reframed at native pixels it fills the frame and the
    # grain shows. The fixed photo keeps the pixels and the seller is told why the flag appears.
    rng = np.random.default_rng(0)
    h = w = 2400
    yy, xx = np.mgrid[:h, :w]
    cy, cx, r = 1300, 1100, 320
    inside = ((yy - cy) ** 2 + (xx - cx) ** 2) <= r * r
    shade = 90 + 50 * (yy - cy + r) / (2 * r)
    prod = np.stack([shade, shade * 0.8, shade * 0.6], -1) + rng.normal(0, 6, (h, w, 3))
    rgb = np.clip(np.where(inside[..., None], prod, 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    o = fix_source(buf.getvalue(), name="grainy.jpg", marketplace="amazon", use_model=False)
    assert o.ok, o.error
    assert "NOISY" not in o.before.flags and "PRODUCT_TOO_SMALL" in o.before.flags
    assert "NOISY" in o.after.flags
    assert ChangeCode.REFRAMED in [c.code for c in o.changes]
    noisy = [n for n in o.notes if n.startswith("NOISY:")]
    assert len(noisy) == 1 and "shown by the reframe" in noisy[0] and "re-shoot" in noisy[0]
    # The size is said once, by the framing fix, not again as a new NO_ZOOM flag.
    assert not [n for n in o.notes if n.startswith("NO_ZOOM:")]
    assert any("for zoom" in n for n in o.notes)


def test_a_panorama_is_reframed_to_a_square_tile() -> None:
    # A product filling the height of a 4:1 white banner: a third of a search tile, so too
    # small; the fix crops a square around it (nothing enlarged) and the flag goes.
    h, w = 800, 3200  # the frame the fill needs stays over Amazon's 500 px minimum
    yy, xx = np.mgrid[:h, :w]
    inside = (np.abs(yy - 400) < 360) & (np.abs(xx - 1600) < 240)
    rgb = np.where(inside[..., None], np.array([60, 90, 150], np.uint8), np.uint8(255))
    rgb = rgb.astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    o = fix_source(buf.getvalue(), name="banner.png", marketplace="amazon", use_model=False)
    assert o.ok, o.error
    assert "PRODUCT_TOO_SMALL" in o.before.flags
    assert ChangeCode.REFRAMED in [c.code for c in o.changes]
    assert "PRODUCT_TOO_SMALL" not in o.after.flags
    assert o.image is not None
    fh, fw = o.image.shape[:2]
    assert fw == fh  # square, the product's native pixels


def test_props_left_for_a_backdrop_that_is_kept_are_not_claimed() -> None:
    # A product and a prop on a busy floor (not a plain backdrop): the background fix keeps the
    # backdrop, so the props that were to go with it stay too, and no change claims otherwise.
    rng = np.random.default_rng(3)
    tiles = rng.integers(40, 220, (900 // 30, 1200 // 30, 3)).astype(np.uint8)
    rgb = cv2.resize(tiles, (1200, 900), interpolation=cv2.INTER_NEAREST)  # a patchwork rug
    box, _ = textured_box(size=(900, 1200), box=(300, 200, 700, 700))
    rgb[200:700, 300:700] = box[200:700, 300:700]
    rgb[750:820, 950:1050] = (20, 120, 20)
    mask = np.zeros((900, 1200), np.float32)
    mask[200:700, 300:700] = 1.0
    mask[750:820, 950:1050] = 1.0
    flags = {"CLUTTERED_BACKGROUND", "BACKGROUND_NOT_WHITE"}
    st, changes = apply_plan(rgb, mask, plan(flags), "amazon", flags)
    codes = [c.code for c in changes]
    assert ChangeCode.BACKGROUND_WHITENED not in codes
    assert ChangeCode.PROPS_REMOVED not in codes
    assert (st.rgb == rgb).all()
    assert any("were to go with the backdrop" in n for n in st.notes)


def test_a_whitening_the_regrade_finds_not_white_is_undone(monkeypatch) -> None:
    # When the re-graded photo is still far from a white backdrop, the whitening left blotches
    # in a scene: the fix runs again without it and says so.
    from analyzer.fix import runner

    rgb, _ = textured_blob(backdrop=(205, 200, 190))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    calls = []

    def failed_once(changes, after, rules):  # noqa: ANN001, ANN202 - the runner's signature
        calls.append([c.code for c in changes])
        return 0.44 if len(calls) == 1 else None

    monkeypatch.setattr(runner, "_whitening_failed", failed_once)
    o = fix_source(buf.getvalue(), name="scene.jpg", marketplace="amazon")
    assert o.ok, o.error
    assert ChangeCode.BACKGROUND_WHITENED in calls[0]
    assert ChangeCode.BACKGROUND_WHITENED not in [c.code for c in o.changes]
    # first after the warning a copy that scores lower gets (the reframe left here does)
    notes = [n for n in o.notes if not n.startswith("check this copy before you use it")]
    assert notes[0].startswith("background not changed: whitening it left only 44%")
    assert not any("only re-saved" in n for n in o.notes)
    assert "BACKGROUND_NOT_WHITE" in o.after.flags


def test_whitening_failed_reads_the_regraded_backdrop() -> None:
    from analyzer.engine import analyze
    from analyzer.fix.runner import _whitening_failed
    from analyzer.fix.types import Change

    whitened = [Change(ChangeCode.BACKGROUND_WHITENED, "x")]
    rules = fix_rules()
    grey, _ = textured_blob(backdrop=(205, 200, 190))
    white, _ = textured_blob()
    for rgb, want in ((grey, True), (white, False)):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=95)
        rep = analyze(buf.getvalue(), use_model=False)
        got = _whitening_failed(whitened, rep, rules)
        assert (got is not None) == want, (want, got)
        assert _whitening_failed([], rep, rules) is None


def test_an_output_only_fix_of_a_cmyk_photo_is_not_called_a_plain_resave() -> None:
    rgb, _ = textured_blob(size=(1000, 1000), center=(500, 500), axes=(440, 420))
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(buf, "JPEG", quality=95)
    o = fix_source(buf.getvalue(), name="cmyk.jpg", marketplace="amazon", use_model=False)
    assert o.ok, o.error
    assert "CMYK" in o.before.flags
    assert [c.code for c in o.changes] == [ChangeCode.CONVERTED]
    assert "CMYK converted" in o.changes[0].message
    assert not any("only re-saved" in n for n in o.notes)


def test_a_transparent_png_says_its_transparent_areas_were_filled_with_white() -> None:
    rgb, mask = textured_blob(size=(800, 800), center=(400, 400), axes=(330, 300))
    rgba = np.dstack([rgb, (mask * 255).astype(np.uint8)])
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    o = fix_source(buf.getvalue(), name="cutout.png", marketplace="amazon", use_model=False)
    assert o.ok, o.error
    conv = next(c for c in o.changes if c.code == ChangeCode.CONVERTED)
    assert "transparent areas filled with white" in conv.message and "from PNG" in conv.message
    with Image.open(io.BytesIO(o.jpeg)) as im:
        assert im.mode == "RGB" and im.getpixel((5, 5)) == (255, 255, 255)


def test_a_stripe_the_mask_missed_inside_the_product_is_kept_and_a_real_hole_whitened() -> None:
    # A dark tee on a grey floor with a light stripe across it that the mask left out (as u2netp
    # does with light stripes on grey boards): the stripe is the product's and stays as shot.
    # A hole of the same size showing the floor (a bag's handle loop) still goes white.
    rgb, mask = textured_box(size=(900, 1200), box=(350, 200, 850, 750),
                             backdrop=(150, 150, 155))
    prob = mask.copy()
    rgb[420:470, 352:848] = (205, 205, 212)          # the light stripe, nearly edge to edge,
    prob[420:470, 380:820] = 0.05                     # missed by the mask but near its ends
    prob[560:640, 520:680] = 0.0                      # a hole showing the floor
    rgb[560:640, 520:680] = (150, 150, 155)
    st = _state(rgb.copy(), prob, planned=(FixKind.BACKGROUND,))
    assert background.apply(st) is not None
    stripe = (slice(425, 465), slice(390, 810))
    assert np.abs(st.rgb[stripe].astype(int) - rgb[stripe].astype(int)).max() <= 2
    assert (st.rgb[575:625, 540:660].min(axis=2) >= 250).mean() > 0.95
    assert (st.rgb[50:150, 50:300].min(axis=2) >= 250).all()  # the floor outside: white


def test_a_milder_flag_of_the_same_check_is_said_to_replace_the_old_one() -> None:
    # The backdrop was "not white" and after a fix that left it is "off-white": the same
    # problem graded differently, not a new one "raised on the fixed photo only".
    from analyzer.engine import analyze
    from analyzer.fix.runner import _new_notes

    reps = []
    for bd in ((205, 200, 190), (247, 245, 243)):
        rgb, _ = textured_blob(backdrop=bd)
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "PNG")
        reps.append(analyze(buf.getvalue(), use_model=False))
    before, after = reps
    assert "BACKGROUND_NOT_WHITE" in {f.code for f in before.flags}
    assert "BACKGROUND_OFF_WHITE" in {f.code for f in after.flags}
    notes = _new_notes(before, after, plan({"BACKGROUND_NOT_WHITE"}), [], fix_rules())
    assert [n for n in notes if n.startswith("BACKGROUND_OFF_WHITE (was BACKGROUND_NOT_WHITE)")]
    assert not [n for n in notes if "raised on the fixed photo only" in n]


def test_an_info_level_flag_gets_no_cannot_fix_advice() -> None:
    """A garment on a model cropped on purpose is PRODUCT_CUT_OFF at info level: the analysis
    calls it fine, so the fix must not tell the seller to re-shoot it."""
    from analyzer.fix.runner import _still_cannot
    from analyzer.results import Flag, ImageReport

    fplan = plan({"PRODUCT_CUT_OFF", "BLURRY"})
    def after(sev: str) -> ImageReport:
        return ImageReport(file="x.jpg", ok=True, error=None, width=10, height=10,
                           format="JPEG", scores={}, grade="A", metrics={}, flags=[
                               Flag("PRODUCT_CUT_OFF", sev, "cut at the frame", "", "framing"),
                               Flag("BLURRY", "error", "blurred", "", "sharpness")])
    info_notes = _still_cannot(fplan, after("info"))
    assert [n.split(":")[0] for n in info_notes] == ["BLURRY"]
    warn_notes = _still_cannot(fplan, after("warning"))
    assert {n.split(":")[0] for n in warn_notes} == {"BLURRY", "PRODUCT_CUT_OFF"}


def _report(grade: str, flags: list[tuple[str, str, str]]):  # type: ignore[no-untyped-def]
    from analyzer.results import Flag, ImageReport

    return ImageReport(file="x.jpg", ok=True, error=None, width=10, height=10, format="JPEG",
                       scores={}, grade=grade, metrics={},
                       flags=[Flag(c, sev, "m", "", chk) for c, sev, chk in flags])


def test_a_fixed_copy_that_grades_worse_or_raises_a_new_problem_is_called_out() -> None:
    """Found by a new user in the dashboard: a fix that cut a white T-shirt apart was offered
    as "C (68) -> C (78), Cleared: Background not white" with no word of its new problems."""
    from analyzer.fix.runner import _whitening_broke, _worse_than_before

    before = _report("C", [("BACKGROUND_NOT_WHITE", "warning", "background")])
    pieces = _report("C", [("CLUTTERED_BACKGROUND", "warning", "clutter"),
                           ("TEXT_OR_WATERMARK", "warning", "overlays")])
    whitened = [Change(ChangeCode.BACKGROUND_WHITENED, "m"), Change(ChangeCode.CONVERTED, "m")]
    assert _whitening_broke(whitened, before, pieces) == {"CLUTTERED_BACKGROUND"}
    # Only a whitening or a props removal is undone for them; an info flag is no problem.
    assert _whitening_broke([Change(ChangeCode.REFRAMED, "m")], before, pieces) == set()
    assert _whitening_broke(whitened, before, _report("A", [("OFF_CENTER", "info",
                                                              "framing")])) == set()
    w = _worse_than_before(before, pieces)
    assert w and "CLUTTERED_BACKGROUND" in w and "TEXT_OR_WATERMARK" in w
    w = _worse_than_before(_report("B", []), _report("C", [("BORDER", "warning", "overlays")]))
    assert w and "grades C, your photo B" in w and "BORDER" in w
    assert _worse_than_before(before, _report("A", [])) is None
    # Not white -> off-white is the same problem, smaller: no warning.
    assert _worse_than_before(before, _report("B", [("BACKGROUND_OFF_WHITE", "warning",
                                                     "background")])) is None
    # A reframe's own cost, explained by its note, is no warning unless the grade drops.
    assert _worse_than_before(before, _report("C", [("NO_ZOOM", "warning", "resolution")])) \
        is None
    # the same grade at a lower score is said too (F 38 -> F 37 was written with no word)
    lo, hi = _report("F", []), _report("F", [])
    hi.scores["overall"], lo.scores["overall"] = 38.0, 37.0
    w = _worse_than_before(hi, lo)
    assert w and "it scores 37, your photo 38" in w
    lo.scores["overall"] = 37.6  # under a point: the regrade's noise, not a loss
    assert _worse_than_before(hi, lo) is None


def test_a_whitening_that_breaks_the_product_is_undone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from analyzer.fix import runner

    rgb, _ = textured_blob(size=(600, 800), center=(300, 400), axes=(200, 160),
                           backdrop=(196, 194, 188))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    calls = []

    def broke(changes, before, after):  # type: ignore[no-untyped-def]
        calls.append([c.code for c in changes])
        whitened = ChangeCode.BACKGROUND_WHITENED in calls[-1]
        return {"CLUTTERED_BACKGROUND"} if whitened else set()

    monkeypatch.setattr(runner, "_whitening_broke", broke)
    o = fix_source(buf.getvalue(), name="grey.jpg", marketplace="amazon", use_model=False)
    assert o.ok and ChangeCode.BACKGROUND_WHITENED in calls[0]
    assert ChangeCode.BACKGROUND_WHITENED not in [c.code for c in o.changes]
    assert any(n.startswith("background not changed: whitening it raised CLUTTERED_BACKGROUND")
               for n in o.notes)


def test_a_reframe_keeps_the_zoom_a_photo_had_when_the_fill_allows() -> None:
    """A 1080 x 1340 photo whose product at the target fill would sit in a 947 px frame loses
    Amazon's 1000 px zoom (a twelfth new user's try: NO_ZOOM on a copy shown as a pass): the
    frame is widened to 1000 px, the product filling just under the target, within the framing
    check's tolerance. A product too small for that is still framed to the fill (below)."""
    rgb, mask = textured_box(size=(1340, 1080), box=(250, 300, 750, 1133))  # 833 px tall
    st = _state(rgb, mask, white=True)
    ch = framing.apply(st)
    assert ch is not None and "zoom still works" in ch.message
    h, w = st.rgb.shape[:2]
    assert h == w == 1000  # square, at the zoom size, nothing enlarged
    ys, xs = np.nonzero(st.alpha >= 0.5)
    assert ys.max() + 1 - ys.min() == 833
    assert 0.83 <= 833 / 1000 < 0.85
    assert not any("for zoom" in n for n in st.notes)
    # a 700 px product would fill 70% of a 1000 px frame: framed to the fill, zoom lost, said
    rgb, mask = textured_box(size=(1340, 1080), box=(300, 300, 700, 1000))
    st = _state(rgb, mask, white=True)
    ch = framing.apply(st)
    h, w = st.rgb.shape[:2]
    assert max(h, w) < 1000 and "zoom still works" not in ch.message
    assert any("for zoom" in n for n in st.notes)


def test_a_dark_photo_whose_backdrop_is_whitened_is_not_called_brightened() -> None:
    """A thirteenth new user's try: a bottle shot in dim light had its backdrop whitened, the
    re-graded copy no longer read underexposed (its frame now reaches white) and the dashboard
    said "Cleared: Underexposed", C 64 -> C 96, with the bottle still nearly black."""
    rgb, _ = textured_blob(backdrop=(205, 200, 190))
    dim = (rgb.astype(np.float32) * 0.22).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(dim).save(buf, "JPEG", quality=95)
    o = fix_source(buf.getvalue(), name="dim.jpg", marketplace="amazon")
    assert o.ok, o.error
    # the re-grade alone no longer reads it (the frame reaches white) ...
    from analyzer.engine import analyze

    assert "UNDEREXPOSED" in o.before.flags
    assert "UNDEREXPOSED" not in {f.code for f in analyze(o.jpeg, name="f.jpg").flags}
    # ... so the original's reading is carried: the flag stays, and so does the grade's cap
    # (a fourteenth new user's try: dark copies graded A 94 and A 100 over the note)
    assert "UNDEREXPOSED" in o.after.flags and o.after.grade != "A", o.after
    assert o.after_report.scores["exposure"] < 50   # the dark original's score, not 100
    notes = [n for n in o.notes if n.startswith("UNDEREXPOSED")]
    assert len(notes) == 1 and "your photo's reading is kept" in notes[0], o.notes
    assert "re-shoot with more light" in notes[0]
