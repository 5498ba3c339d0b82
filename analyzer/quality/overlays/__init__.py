"""Added text, watermarks, badges/logos, inset pictures, borders and joined pictures on a main
image.

One module per finder, each with its formula and references: :mod:`.text` (text and watermarks
anywhere in the frame, over the product included), :mod:`.watermark` (semi-transparent
watermarks over the product), :mod:`.badges` (stickers and price tags: letters on a flat
plate), :mod:`.stickers` (emoji and stickers with no letters: a flat, saturated shape),
:mod:`.codes` (QR code and barcode stickers), :mod:`.lines` (dimension lines drawn
beside the product), :mod:`.banners` (see-through banner strips across the photo),
:mod:`.border` (added frames), :mod:`.corners` (the filled corners of a photo turned in its
canvas, reported as a frame), :mod:`.insets` (pictures pasted into a corner), :mod:`.split`
(before/after splits and collages: two pictures joined along a straight line), over
:mod:`.zone` (the product zone and the plain backdrop). On a printed product's face (a DVD
case, a book: the mask's ``face``) the face's own print is not an overlay: words, letter
shapes, badges and codes lying wholly on it are left out (:func:`face_mask`). This module is
the registered check "overlays": measure (the finders) -> score -> flag.

Score: 100 minus the text penalty (linear in ``text_area`` from 0 to ``text_area_bad``, at least 50
once text is flagged; below the flag, up to ``evidence_penalty`` points as the best candidate
word's verifier margin rises from ``evidence_floor`` under the flagging margin to it; the same for
the watermark finder's evidence from ``watermark_evidence_floor``, at most 50 once a watermark is
found), capped at ``score_with_border`` when a border or filled corners are found, at
``score_with_inset`` when an inset is and at ``score_with_split`` when a split is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.codes import MapKind
from analyzer.quality.context import ImageContext
from analyzer.quality.overlays.badges import colour_edges, find_badges, plate_holes, with_badges
from analyzer.quality.overlays.banners import find_banners, overlap
from analyzer.quality.overlays.border import BorderFinding, find_border
from analyzer.quality.overlays.codes import find_codes
from analyzer.quality.overlays.corners import NONE as NO_CORNER_FILL
from analyzer.quality.overlays.corners import CornerFill, find_corner_fill
from analyzer.quality.overlays.graphic import drawn, flat_share
from analyzer.quality.overlays.insets import InsetFinding, find_insets
from analyzer.quality.overlays.lines import find_lines
from analyzer.quality.overlays.split import SplitFinding, find_split
from analyzer.quality.overlays.stickers import find_stickers
from analyzer.quality.overlays.text import TextFinding, find_text
from analyzer.quality.overlays.watermark import WatermarkFinding, find_watermark
from analyzer.quality.overlays.zone import backdrop, on_face, product_zone
from analyzer.quality.registry import register
from analyzer.results import CheckResult, Flag
from analyzer.vision.mask_ops import large_components
from analyzer.vision.shrink import shrink_area

NAME = "overlays"


def _evidence_penalty(evidence: float, floor: float, th: dict) -> float:
    """Up to ``evidence_penalty`` points as a finder's evidence rises from ``floor`` to 0."""
    return float(th["evidence_penalty"]) * float(np.clip((evidence - floor) / -floor, 0.0, 1.0))


def score(text: TextFinding, border: BorderFinding, th: dict,
          inset: InsetFinding | None = None, mark: WatermarkFinding | None = None,
          flat: float = 0.0, split: SplitFinding | None = None,
          corners: CornerFill = NO_CORNER_FILL) -> float:
    s = 100.0 * (1.0 - min(1.0, text.text_area / float(th["text_area_bad"])))
    if text.text_area >= float(th["min_text_area"]):
        s = min(s, 50.0)
    else:
        # Below the flag, the most text-like word takes up to ``evidence_penalty`` points off as
        # its margin nears the one that flags: the score ranks photos by how likely they hold
        # text, while a clean photo's grade barely moves (overlays weigh 0.10 in the overall).
        s = min(s, 100.0 - _evidence_penalty(text.evidence, float(th["evidence_floor"]), th))
    if mark is not None:
        s = min(s, 50.0 if mark.found else 100.0 - _evidence_penalty(
            mark.evidence, float(th["watermark_evidence_floor"]), th))
    if border.found or corners.found:
        s = min(s, float(th["score_with_border"]))
    if inset is not None and inset.found:
        s = min(s, float(th["score_with_inset"]))
    if drawn(flat, th):
        s = min(s, float(th["score_not_a_photo"]))
    if split is not None and split.found:
        s = min(s, float(th["score_with_split"]))
    return float(s)


def where_text(text: TextFinding) -> str:
    """Where the found text lies, as the flag says it: the finder searches the whole frame, so
    a word laid over the product is not "outside the product"."""
    if text.n_on_product <= 0:
        return "beside the product"
    if text.n_on_product >= text.n_words:
        return "laid over the product"
    return "over and beside the product"


def flags(ctx: ImageContext, text: TextFinding, border: BorderFinding, th: dict,
          inset: InsetFinding | None = None, mark: WatermarkFinding | None = None,
          flat: float = 0.0, n_codes: int = 0, n_lines: int = 0,
          split: SplitFinding | None = None,
          corners: CornerFill = NO_CORNER_FILL, n_stickers: int = 0) -> list[Flag]:
    out = []
    rule = ctx.marketplace.rule("overlays")
    lab = ctx.marketplace.label
    rule_txt = {"forbidden": f"{lab} forbids text, logos and watermarks on the main image",
                "discouraged": f"{lab} discourages text and watermarks on product photos"}.get(
        str(rule.value) if rule else "", "marketplaces reject or demote main images with them")
    if text.text_area >= float(th["min_text_area"]):
        # stickers alone are named as what they are, not as "text/logo areas"
        only_stickers = n_stickers >= text.n_words and not text.n_chars
        what = (f"{n_stickers} sticker(s) or emoji with no letters (" if only_stickers
                else f"{text.n_words} text/logo area(s) (")
        out.append(ctx.flag(
            "TEXT_OR_WATERMARK",
            f"found {what}"
            # a badge alone is a logo area with no counted letters: "0 characters" reads wrong
            + (f"{text.n_chars} characters, " if text.n_chars else "")
            + f"{100 * text.text_area:.1f}% of the image) {where_text(text)}"
            + (f", {n_codes} of them a QR code or barcode" if n_codes else "")
            + (f", {n_lines} of them a drawn dimension line" if n_lines else "")
            + (f", {n_stickers} of them a sticker or emoji with no letters"
               if n_stickers and not only_stickers else "")
            # the watermark finder's glyphs too: a mark across the product read "beside the
            # product" when only its clearest letters, off the product, were words (a
            # thirteenth new user's try)
            + (f", and a semi-transparent watermark ({mark.n_glyphs} letter shapes laid over "
               "the photo)" if mark is not None and mark.found else "")
            + f"; {rule_txt}",
            ("Upload the photo without the drawn measurement lines or any added text (use the "
             "original export); show the sizes in a secondary image and in the listing text."
             if n_lines else
             "Upload the photo without the sticker or emoji and any added text or logos (use "
             "the original export); where it hid a face, a logo or a flaw, use or take a photo "
             "without them instead of covering them."
             if n_stickers else
             "Upload the photo without added text, badges, logos or watermarks (use the original "
             "export); put promotions in the listing text or in secondary images."), NAME))
    elif mark is not None and mark.found:
        out.append(ctx.flag(
            "TEXT_OR_WATERMARK",
            f"found a semi-transparent watermark ({mark.n_glyphs} letter shapes laid over the "
            f"photo); {rule_txt}",
            "Upload the original photo without the watermark; protect your photos with the "
            "marketplace's brand tools instead of a mark across the product.", NAME))
    if border.found or corners.found:
        # an added frame, or the filled corners of a photo turned in its canvas: one kind
        if border.found:
            what = (f"the image has an added frame on {border.sides} sides (about "
                    f"{border.width_px:.0f} px wide, colour RGB {border.color[0]},"
                    f"{border.color[1]},{border.color[2]})")
            why = "borders make the product look smaller and off-brand in search grids"
            fix = ("Crop the frame off (or export without it) so the photo's own background "
                   "reaches the edges.")
        else:
            r, g, b = corners.rgb
            what = (f"the photo was turned about {corners.angle_deg:.0f} degrees and saved with "
                    f"its corners filled ({len(corners.wedges)} triangles of RGB {r},{g},{b} in "
                    "the corners)")
            why = "filled corners look unfinished and shrink the product in search grids"
            fix = ("Crop inside the filled triangles (or undo the turn and crop straight), or "
                   "re-shoot with the camera level; a backdrop that reaches every edge leaves no "
                   "corner to fill.")
        if rule and rule.value == "forbidden":
            why = f"{lab} forbids added borders"
        out.append(ctx.flag("BORDER", f"{what}; {why}", fix, NAME))
    if inset is not None and inset.found:
        # Only a rule that names insets is quoted as forbidding them (Amazon's does).
        inset_txt = (f"{lab} forbids inset images on the main image"
                     if rule and rule.value == "forbidden" and "inset" in (rule.note or "")
                     else "a picture-in-picture shrinks the product in search grids and is "
                          "not a photo of the product alone")
        out.append(ctx.flag(
            "INSET_IMAGE",
            f"found {len(inset.boxes)} inset picture(s) ({100 * inset.area:.0f}% of the image) "
            f"pasted into the photo; {inset_txt}",
            "Use the plain product photo as the main image and move the detail or lifestyle "
            "shot to its own secondary image.", NAME))
    if drawn(flat, th):
        photo_rule = ctx.marketplace.rule("photo_required")
        photo_txt = (f"{lab} asks for {photo_rule.note}" if photo_rule and photo_rule.value
                     else "shoppers and search by photo expect a photo of the product")
        out.append(ctx.flag(
            "NOT_A_PHOTO",
            f"this looks like a drawing, not a photograph: {flat:.0%} of the product is flat "
            f"colour with none of a camera's grain (a graphic, an illustration or a \"no "
            f"image\" placeholder); {photo_txt}",
            "Upload a photo of the actual product (check that the file is not the store's "
            "placeholder); keep drawings and renders for secondary images.", NAME))
    if split is not None and split.split is not None:
        ln = split.split
        photo_rule = ctx.marketplace.rule("photo_required")
        split_txt = (f"{lab} asks for {photo_rule.note}, shown once as it is sold"
                     if photo_rule and photo_rule.value
                     else "a search tile shows the product twice or cut in two")
        through = " through the product" if ln.cross >= float(th["split_min_cross"]) else ""
        out.append(ctx.flag(
            "SPLIT_IMAGE",
            f"the photo is two pictures joined along a straight "
            f"{'vertical' if ln.vertical else 'horizontal'} line{through} ({ln.at:.0%} of the "
            f"way {'across' if ln.vertical else 'down'}), the photo changing across it on "
            f"{ln.across:.0%} of its length: a before/after picture or a collage; {split_txt}",
            "Use one unedited photo of the product as it is sold as the main image; put the "
            "before/after comparison or the second view in a secondary image.", NAME))
    return out


def text_zone(ctx: ImageContext, th: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(product zone, plain backdrop, Lab image, scale), all at the working size
    (:func:`_working_copies`)."""
    return _working_copies(ctx, th)[:4]


def _working_copies(ctx: ImageContext, th: dict
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """(product zone, plain backdrop, Lab image, scale, product mask), all at the working size;
    the mask is :func:`working_mask`'s, which the zone is grown from.

    When the seller's title names a set (``ImageContext.title_names_set``), every
    object on the plain backdrop of at least a prop's size (the clutter check's
    ``prop_min_rel`` / ``prop_min_abs``) is a piece of the product, as the clutter check counts
    it: print on a kit's strap or box is then print on the product, judged as such, not a
    word "outside the product"."""
    h, w = ctx.gray.shape
    s = min(1.0, float(th["work_long_side"]) / max(h, w))
    shape = (max(1, round(h * s)), max(1, round(w * s)))
    lab_s = ctx.lab if s >= 1.0 else shrink_area(ctx.lab, shape[::-1], fast=True)
    plain = backdrop(lab_s, shape, float(th["backdrop_de"]), float(th["backdrop_min_share"]))
    product = working_mask(ctx, plain)
    mask = product if ctx.mask_bool_or_none is not None else None
    min_component = float(th["product_min_component"])
    if ctx.title_names_set and plain.any():
        cth = ctx.thresholds("clutter")  # a piece is what the clutter check counts as one
        pieces = large_components(~plain, float(cth["prop_min_rel"]), float(cth["prop_min_abs"]))
        mask = pieces if mask is None else mask | pieces
        min_component = float(cth["prop_min_rel"])  # a strap is a piece however small
    zone = product_zone(mask, shape, min_component, float(th["product_dilate_frac"]))
    return zone, plain, lab_s, s, product


def working_mask(ctx: ImageContext, plain: np.ndarray) -> np.ndarray:
    """The product mask at the working size (``plain``'s), the plain backdrop taken off it (all
    False with no mask)."""
    mask = ctx.mask_bool_or_none
    if mask is None:
        return np.zeros(plain.shape, bool)
    m = mask if mask.shape == plain.shape else cv2.resize(
        mask.astype(np.uint8), plain.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    return m & ~plain


@dataclass(frozen=True)
class Graphics:
    """What the finders of graphics pasted on the photo found, and the working copies they read:
    badges, banners, code stickers, dimension lines and letterless stickers (boxes at ``scale``
    of the working size, in ``lab``'s pixels) and inset pictures (the photo's px, as
    :meth:`boxes` gives every box)."""

    zone: np.ndarray     # the product zone, at ``scale``
    plain: np.ndarray    # the plain backdrop, at ``scale``
    product: np.ndarray  # the product mask the zone is grown from, at ``scale``
    lab: np.ndarray      # Lab at ``scale``
    scale: float
    badges: list[tuple[int, int, int, int]]
    inset: InsetFinding
    codes: list[tuple[int, int, int, int]]  # QR code and barcode stickers, as badges
    lines: list[tuple[int, int, int, int]]  # dimension lines drawn beside the product, as badges
    stickers: list[tuple[int, int, int, int]]  # emoji and stickers with no letters, as badges

    def boxes(self) -> list[tuple[int, int, int, int]]:
        """Every graphic's box in working px (x0, y0, x1, y1)."""
        return [*self.inset.boxes,
                *(photo_box(b, self.scale)
                  for b in [*self.badges, *self.codes, *self.lines, *self.stickers])]


def photo_box(box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    """A box at ``scale`` of the working size (the graphics finders') in the photo's px."""
    x0, y0, x1, y1 = box
    return int(x0 / scale), int(y0 / scale), int(np.ceil(x1 / scale)), int(np.ceil(y1 / scale))


_GRAPHICS = "overlays.graphics"


def face_mask(ctx: ImageContext) -> np.ndarray | None:
    """The product mask when it is a flat printed product's face (a DVD case, a book, a box:
    :mod:`analyzer.vision.face`), else None. Its print (a cover's title and lettering, a sticker
    printed on it) is the product's own, not added text: the text, watermark and badge finders
    leave it out (an overlay pasted off the face, on the backdrop, is still found)."""
    if ctx.mask_bool_or_none is None:
        return None
    mr = ctx.mask_result
    return mr.binary if mr.face else None


def own_stickers(stickers: list[tuple[int, int, int, int]],
                 plates: list[tuple[int, int, int, int]], face: np.ndarray | None,
                 inset: InsetFinding, scale: float) -> list[tuple[int, int, int, int]]:
    """The letterless stickers (boxes at ``scale``) another finder does not report: one that
    overlaps a badge or code sticker (``plates``: a smiley whose eyes read as letters) is that
    badge, one wholly on a printed ``face`` is the cover's own flat logo, and one in an inset
    picture is the inset's content."""
    return [b for b in stickers
            if not any(overlap(b, o) for o in plates)
            and (face is None or not on_face(b, scale, face))
            and not any(overlap(photo_box(b, scale), o) for o in inset.boxes)]


def graphics(ctx: ImageContext) -> Graphics:
    """The badge, banner, code, line, sticker and inset finders on ``ctx``, run once per photo
    (``ctx.cache``): the overlays check reports them, and the clutter check leaves them out of
    the objects on the backdrop (a "SALE" sticker is an overlay, not a prop beside the
    product)."""
    if _GRAPHICS not in ctx.cache:
        th = ctx.thresholds(NAME)
        zone, plain, lab_s, s, product = _working_copies(ctx, th)
        edges = colour_edges(lab_s, th)
        holes = plate_holes(edges, th)
        badges = find_badges(lab_s, th, edges, holes)
        badges += [b for b in find_banners(lab_s, edges, plain, zone, th)
                   if not any(overlap(b, o) for o in badges)]  # an opaque strip is a plate too
        codes = [c for c in find_codes(edges, zone, ctx.gray_u8, s, th)
                 if not any(overlap(c, b) for b in badges)]  # a plate is reported once
        face = face_mask(ctx)
        inset = find_insets(ctx.gray_u8, ctx.mask_bool_or_none, plain, th)
        stickers = own_stickers(find_stickers(lab_s, edges, holes, th, product),
                                [*badges, *codes], face, inset, s)
        if face is not None:  # a round "3 programs" sticker printed on a cover is the cover
            badges = [b for b in badges if not on_face(b, s, face)]
            codes = [c for c in codes if not on_face(c, s, face)]  # ... and so is its barcode
        # an inset picture's busy content (a face, hair) is the inset's to report, once
        codes = [c for c in codes if not any(overlap(photo_box(c, s), b) for b in inset.boxes)]
        lines = [b for b in find_lines(plain, zone, th)
                 if face is None or not on_face(b, s, face)]
        ctx.cache[_GRAPHICS] = Graphics(zone, plain, product, lab_s, s, badges, inset, codes,
                                        lines, stickers)
    return ctx.cache[_GRAPHICS]


@register(NAME, maps=(MapKind.TEXT,))
def check(ctx: ImageContext) -> CheckResult:
    th = ctx.thresholds(NAME)
    g = graphics(ctx)
    zone, lab_s, s, inset = g.zone, g.lab, g.scale, g.inset
    # a code sticker, a drawn line or a letterless sticker is a logo area
    badges = [*g.badges, *g.codes, *g.lines, *g.stickers]
    gray_u8 = ctx.gray_u8
    # a photo the loader resized has lost its JPEG grid: the text finder need not read it
    face = face_mask(ctx)
    text = find_text(ctx.rgb, zone, th, on_grid=ctx.image.scale == 1.0, gray_u8=ctx.gray_u8,
                     lab=lab_s, plain=g.plain, printed=face)
    mark = find_watermark(gray_u8, th, printed=face)
    if badges:
        text = with_badges(text, badges, s, zone)
    border = find_border(ctx.lab, ctx.rgb, th)
    corners = find_corner_fill(lab_s, th)
    flat = flat_share(ctx.rgb, ctx.mask_bool_or_none, th)
    # a printed face's straight edges and rules are its own (split.py)
    split = find_split(lab_s, g.product, th) if face is None else SplitFinding((), None)
    metrics = {
        "text_area": text.text_area,
        "n_words": float(text.n_words),
        "n_chars": float(text.n_chars),
        "text_evidence": text.evidence,
        "watermark_evidence": mark.evidence,
        "watermark_glyphs": float(mark.n_glyphs),
        "n_badges": float(len(g.badges)),
        "n_codes": float(len(g.codes)),
        "n_lines": float(len(g.lines)),
        "n_stickers": float(len(g.stickers)),
        "border_sides": float(border.sides),
        "border_width_px": border.width_px,
        "has_border": float(border.found),
        "fill_corners": float(len(corners.wedges)),
        "fill_corner_angle_deg": corners.angle_deg,
        "product_zone_fraction": float(zone.mean()),
        "n_insets": float(len(inset.boxes)),
        "inset_area": inset.area,
        "flat_share": flat,
        "printed_face": float(face is not None),
        # the line with the most steps along it, of those crossing the product (split or not)
        "split_across": max((ln.across for ln in split.lines), default=0.0),
        "has_split": float(split.found),
    }
    # The dashboard's overlay shows insets with the text: both are things pasted on the photo.
    tmap = text.map
    if inset.found or mark.found:
        tmap = tmap.copy()
        for x0, y0, x1, y1 in [*inset.boxes, *mark.boxes]:
            tmap[y0:y1, x0:x1] = 1.0
    return CheckResult(name=NAME, score=score(text, border, th, inset, mark, flat, split, corners),
                       metrics=metrics,
                       flags=flags(ctx, text, border, th, inset, mark, flat, len(g.codes),
                                   len(g.lines), split, corners, len(g.stickers)),
                       maps={MapKind.TEXT: tmap})
