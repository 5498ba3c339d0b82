"""A flat printed product (a DVD case, a book, a box) is its whole face, not the subject printed
on it: the mask, and the overlays check's reading of its print (analyzer/vision/face.py)."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from analyzer.config import marketplace, segmentation
from analyzer.io.loader import load_image
from analyzer.quality import overlays
from analyzer.quality.context import ImageContext
from analyzer.vision import mask as M
from analyzer.vision.face import printed_face

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
TH = segmentation("face")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _cover(margins: tuple[int, int, int, int] = (18, 9, 9, 36), size: tuple[int, int] = (700, 1000),
           seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb, the case, the printed subject): a case on a white sweep, margins (left, top, right,
    bottom) px, its cover a sky-to-grass scene with a figure on it, as u2netp takes it."""
    w, h = size
    left, t, r, b = margins
    rng = np.random.default_rng(seed)
    a = np.full((h, w, 3), 255, np.uint8)
    ch, cw = h - t - b, w - left - r
    yy = np.linspace(0, 1, ch)[:, None, None]
    sky, grass = np.array([120, 170, 230.0]), np.array([70, 140, 60.0])
    scene = (1 - yy) * sky + yy * grass + rng.normal(0, 6, (ch, cw, 3))
    a[t:t + ch, left:left + cw] = np.clip(scene, 0, 255).astype(np.uint8)
    a[t:t + ch, left:left + 6] = 20  # the case's spine
    case = np.zeros((h, w), bool)
    case[t:t + ch, left:left + cw] = True
    subject = np.zeros((h, w), np.uint8)
    cv2.ellipse(subject, (w // 2 + 60, h // 2 + 80), (90, 260), 0, 0, 360, 1, -1)
    a[subject > 0] = (230, 120, 160)
    return a, case, subject > 0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_the_case_is_the_product_not_the_figure_printed_on_it() -> None:
    rgb, case, subject = _cover()
    face = printed_face(rgb, subject, TH)
    assert face is not None and _iou(face, case) > 0.97
    # a case photographed a little off square (rotated 3 degrees) is still one
    h, w = rgb.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 3, 0.95)
    warp = cv2.warpAffine(rgb, rot, (w, h), borderValue=(255, 255, 255))
    sub = cv2.warpAffine(subject.astype(np.uint8), rot, (w, h)) > 0
    assert printed_face(warp, sub, TH) is not None
    # a phone's photo of it on a grey sheet, with the camera's grain
    sheet = rgb.copy()
    sheet[~case] = (205, 200, 195)
    grain = np.random.default_rng(2).normal(0, 14, rgb.shape)
    sheet = np.clip(sheet + grain, 0, 255).astype(np.uint8)
    face = printed_face(sheet, subject, TH)
    assert face is not None and _iou(face, case) > 0.95


def test_a_brightened_case_with_light_edges_on_clipped_white_is_still_one() -> None:
    """A photo brightened a little clips the backdrop to 255 and takes the cover's light edges
    (a pale sky in a corner) to 236-244: within the old floor of 24, so the region lost them
    and was no rectangle (a new user's +0.2 EV edit graded a DVD A -> D)."""
    rgb, case, subject = _cover()
    pale = rgb.copy()
    ys, xs = np.nonzero(case)
    yy, xx = np.mgrid[: rgb.shape[0], : rgb.shape[1]]
    corner = case & ((xx - xs.min()) + (yy - ys.min()) < 420)  # a pale sky in the top corner
    pale[corner] = (236, 240, 244)
    face = printed_face(pale, subject, TH)
    assert face is not None and _iou(face, case) > 0.95
    assert printed_face(pale, subject, dict(TH, tol=24)) is None  # what the old floor did


def test_a_speck_is_no_face() -> None:
    """A region smaller than ``min_area`` of the frame holding the salient mask (a speck of an
    overexposed white product) is not a printed face."""
    a = np.full((600, 600, 3), 255, np.uint8)
    a[190:202, 100:116] = (200, 190, 180)  # off-centre: uneven margins, not a frame
    sal = np.zeros(a.shape[:2], bool)
    sal[193:199, 104:110] = True
    assert printed_face(a, sal, TH) is None
    assert printed_face(a, sal, dict(TH, min_area=0.0)) is not None  # the area test decides


def test_a_case_u2netp_takes_whole_is_a_face_too() -> None:
    """A case padded to a square (white bands left and right, a seller's edit for a 1:1 rule)
    that u2netp takes whole is still a printed face: its print is its own, as when u2netp takes
    only the figure on it (the sixth new user's padded DVDs had gone A -> C, their covers read
    as text laid over the product)."""
    rgb, case, _ = _cover(margins=(150, 9, 150, 12), size=(1000, 1000))
    face = printed_face(rgb, case, TH)
    assert face is not None and _iou(face, case) > 0.97
    rgb, case, _ = _cover()
    face = printed_face(rgb, case, TH)
    assert face is not None and _iou(face, case) > 0.97


def test_what_is_not_a_printed_face() -> None:
    rgb, case, subject = _cover()
    # a picture pasted centred on a white canvas (equal margins) is a frame, not a face
    framed, _, sub = _cover(margins=(30, 30, 30, 30))
    assert printed_face(framed, sub, TH) is None
    # not on a plain backdrop: a busy floor round the case
    busy = rgb.copy()
    floor = np.random.default_rng(1).normal(190, 40, rgb.shape)
    busy[~case] = np.clip(floor, 0, 255).astype(np.uint8)[~case]
    assert printed_face(busy, subject, TH) is None
    # ... nor a dark one
    dark = rgb.copy()
    dark[~case] = 40
    assert printed_face(dark, subject, TH) is None
    # a region that is not a rectangle: a product with another thing behind it
    two = np.full_like(rgb, 255)
    cv2.circle(two, (300, 500), 230, (40, 60, 150), -1)
    cv2.rectangle(two, (380, 200), (640, 420), (200, 160, 40), -1)
    part = np.zeros(two.shape[:2], np.uint8)
    cv2.circle(part, (300, 500), 120, 1, -1)
    assert printed_face(two, part > 0, TH) is None
    # ... nor when u2netp takes all of it, nor a round product it takes whole
    assert printed_face(two, (two != 255).any(axis=2), TH) is None
    ball = np.full_like(rgb, 255)
    cv2.circle(ball, (350, 500), 260, (200, 40, 60), -1)
    assert printed_face(ball, (ball != 255).any(axis=2), TH) is None
    # no salient mask at all
    assert printed_face(rgb, np.zeros_like(subject), TH) is None


def test_product_mask_takes_the_face_when_u2netp_takes_the_figure(monkeypatch) -> None:
    rgb, case, subject = _cover()
    monkeypatch.setattr(M, "u2netp_prob", lambda _rgb: subject.astype(np.float32))
    r = M.product_mask(rgb)
    assert r.source == "u2netp" and r.face
    assert _iou(r.binary, case) > 0.97
    # a seller's own cut-out (alpha) is never second-guessed
    alpha = np.where(subject, 255, 0).astype(np.uint8)
    r = M.product_mask(rgb, alpha)
    assert r.source == "alpha" and not r.face


def _titled_cover() -> Image.Image:
    rgb, _, _ = _cover(size=(800, 1100), margins=(20, 10, 10, 40))
    im = Image.fromarray(rgb)
    d = ImageDraw.Draw(im)
    d.text((90, 80), "BEGINNER'S", font=_font(70), fill=(200, 30, 90))
    d.text((90, 170), "YOGA", font=_font(120), fill=(200, 30, 90))
    d.text((90, 950), "GREAT FOR EVERYDAY PRACTICE", font=_font(30), fill=(255, 255, 255))
    return im


def _working(m: np.ndarray, ctx: ImageContext) -> np.ndarray:
    """A mask drawn at the upload's size, at the working copy's."""
    h, w = ctx.rgb.shape[:2]
    return cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0


def _ctx(im: Image.Image, subject: np.ndarray | None) -> ImageContext:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    ctx = ImageContext(load_image(buf.getvalue(), name="cover.jpg"), marketplace("amazon"))
    if subject is not None:
        subject = _working(subject, ctx)  # u2netp took the figure; the face rule makes it the case
        face = printed_face(ctx.rgb, subject, TH)
        assert face is not None
        ctx.__dict__["mask_result"] = M.MaskResult(
            prob=face.astype(np.float32), binary=face, source="u2netp", bbox=None, face=True)
    return ctx


def test_a_covers_own_title_is_print_but_text_added_beside_it_is_not() -> None:
    im = _titled_cover()
    _, _, subject = _cover(size=(800, 1100), margins=(20, 10, 10, 40))
    # read as a scene with a figure (no face), the title is called added text ...
    plain = _ctx(im, None)
    plain.__dict__["mask_result"] = M.MaskResult.from_prob(
        _working(subject, plain).astype(np.float32), "u2netp")
    before = overlays.check(plain)
    assert "TEXT_OR_WATERMARK" in {f.code for f in before.flags}
    # ... read as a printed face, it is the product's own print
    res = overlays.check(_ctx(im, subject))
    assert "TEXT_OR_WATERMARK" not in {f.code for f in res.flags}
    assert res.metrics["printed_face"] == 1.0 and res.metrics["n_words"] == 0


def test_text_off_the_face_is_still_found() -> None:
    # a seller's banner under the case, on the white sweep, is not the case's print
    rgb, case, subject = _cover(size=(800, 1200), margins=(20, 10, 10, 240))
    im = Image.fromarray(rgb)
    ImageDraw.Draw(im).text((60, 1010), "FREE SHIPPING", font=_font(90), fill=(200, 20, 30))
    res = overlays.check(_ctx(im, subject))
    assert "TEXT_OR_WATERMARK" in {f.code for f in res.flags}


def test_a_what_if_photo_of_a_cover_reads_its_print_as_the_listing_did() -> None:
    """The search simulation re-grades fixed versions of the listing's photo with the listing's
    own mask: a cover read as a printed face must stay one there (else its title is called added
    text on every what-if and the simulation prefers no fix)."""
    from analyzer.search.listing import photo_quality, report_face

    im = _titled_cover()
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    img = load_image(buf.getvalue(), name="cover.jpg")
    _, case, _ = _cover(size=(800, 1100), margins=(20, 10, 10, 40))
    h, w = img.rgb.shape[:2]
    mask = cv2.resize(case.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    _, as_face = photo_quality(img.rgb, "amazon", img, mask=mask, face=True)
    _, as_scene = photo_quality(img.rgb, "amazon", img, mask=mask)
    assert "TEXT_OR_WATERMARK" not in {f.code for f in as_face}
    assert "TEXT_OR_WATERMARK" in {f.code for f in as_scene}

    class _Report:
        metrics = {"overlays.printed_face": 1.0}

    assert report_face(_Report())  # type: ignore[arg-type]
