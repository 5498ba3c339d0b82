"""Defect *families* for scripts/evaluate_quality.py: each defect drawn with seeded random
strength and parameters, so a check cannot be tuned to one recipe.

Every generator is ``fn(im, rng, props) -> PIL image`` where ``props`` are cut-outs of *other*
products of the same split (for the props families). All strengths are relative to the image's
long side, so a 198 px grocery icon and a 1500 px studio shot get the same visual defect.

Families (name: what a seller's photo suffers):

- ``gauss``: Gaussian blur, sigma 1.5-3.5 px per 1000 px, at least 0.7 px (GAUSS_MIN_SIGMA).
- ``defocus``: a disk (pill-box) kernel, radius 2-6 px per 1000 px (an out-of-focus lens).
- ``half_defocus``: the same disk on one half of the frame (left, right, top or bottom).
- ``focus_falloff``: focus falling off across the frame (a tilted focal plane): a Gaussian blur
  growing from none at a line 20-50% of the way across, in any direction, to sigma 1.5-4 px per
  1000 px at the far side. A second recipe nothing was chosen on (``half_defocus`` is a disk on
  one half with a soft seam).
- ``motion``: a line kernel at any angle, 0.5-2.5% of the long side (a phone shake).
- ``upscale``: shrunk to 20-50% (area) and enlarged back (bilinear, bicubic or Lanczos).
- ``pixelated``: shrunk to 20-50% (Lanczos) and enlarged back by repeating pixels (nearest
  neighbour).
- ``enlarged``: the whole photo enlarged 2-5x (upscaled from 20-50% of its new size; bilinear,
  bicubic or Lanczos) to at most 4000 px, as a supplier enlarges a photo to pass a zoom rule:
  unlike ``upscale``, the copy is larger than the original, mostly past the working size.
- ``jpeg``: re-encoded at JPEG quality 15-40 (the copy is then saved at 95 like every family:
  the damage is in the pixels, the file's tables say 95).
- ``jpeg_file``: the clean photo saved once at JPEG quality 15-40 (the file's own tables say so;
  ``SAVE_QUALITY``).
- ``export``: the clean photo as a store's export leaves it, a control that must *not* be
  flagged: half of the time shrunk to 800-1600 px on the long side (Lanczos, bicubic or
  bilinear; never enlarged), half of the time sharpened (unsharp mask), then saved once at JPEG
  quality 55-90 (``SAVE_QUALITY``; the web's usual 70-85 inside).
- ``noise``: sensor noise, luma sd 6-18 levels plus chroma noise.
- ``blur_noise``: one of the four blurs above, then sensor noise of luma sd 2-6 levels (every
  real blurred photo has some).
- ``blur_cutout``: one of the four blurs above, then the background removed by an app and the
  product laid on pure white (:func:`cutout_on_white` on the blurred copy): the outline as crisp
  as the cut, the product soft. A second recipe nothing was chosen on (2026-12-07).
- ``lowlight``: 1.5-2.5 stops darker, then sensor noise sd 4-10 and brightened back 0-1.5 stops
  (a phone's auto gain).
- ``overexposed``: 1-2.5 stops too bright, the highlights clipped (linear light x 2-5.7).
- ``sticker``: an emoji or a sticker with no letters (a smiley, a heart, a star, a disc), flat
  coloured, pasted over the product (found since 2026-12-07, later: README).
- ``emoji``: a second recipe for it that nothing was chosen on: a phone's shaded emoji (a face,
  a disc, a heart, a star, a rounded square; a radial or top-down light of 0-45%, a white cut
  line or a drop shadow a third of the time each), 6-24% of the product's long side, any angle.
- ``denoise``: a phone's night mode or heavy noise reduction: 2-6 bilateral passes and a median,
  texture smeared while edges stay crisp (no check finds it: README).
- ``glare``: a flash's or a lamp's reflection on the product: a hotspot blown to white at its
  core (2-7% of the product's long side across, round or drawn out up to 3:1 at any angle),
  its light fading out over 0.8-2 core radii; the rest of the photo as it was.
- ``props_beside`` / ``props_behind`` / ``props_overlap``: 1-3 other products' cut-outs at
  25-60% of the product's size, beside it on the backdrop (shrunk to the free room), behind it
  (partly covered) or over it.
- ``props_around``: 1-3 props anywhere on the backdrop around the product (above, below, to a
  side, in a corner), 30-110% of its size: a second recipe nothing was chosen on.
- ``props_none``: the props families' layout (the product cut out, shrunk and moved) with no
  props: a control that must *not* be called clutter.
- ``pair``: the product twice side by side (a copy or its mirror), a multi-piece product that
  must *not* be called clutter (its score should not drop).
- ``small``: the product cut out and shrunk to span 20-48% of the frame, anywhere on white: must
  be an error on a marketplace that hides a product too small from search (Amazon).
- ``banner``: the photo padded with its own border colour to a banner 2.8-4:1 wide or tall (a
  canvas widened for a shop's header, or a panorama crop), the product unchanged: must be an
  error on Amazon, since a search tile shows the photo whole and the product then spans under
  half of it.
- ``thin_frame``: a hairline frame, an editor's 1-4 px stroke around the photo (painted over its
  edge or added outside it) in grey, black or a colour: ``BORDER`` must name it.
- ``drawing``: the photo redrawn as flat colour, as an illustration or a vector trace of the
  product is: its colours reduced to 4-10 flat fills (k-means), half of the time with dark
  outlines: ``NOT_A_PHOTO`` must name it (Amazon: "not a graphic or illustration").
- ``reflection``: the product on a glossy surface, its mirror image fading out under it: a
  control that must *not* be called clutter.
- ``cutout``: an amateur photo with its background removed (u2netp mask, hard or feathered)
  and laid on white, remnants included: a control that must *not* be flagged for overlays.
- ``halo``: a sloppy background removal: the u2netp mask grown by 0.5-3% of the short side
  before the cut (a band of the floor, bed or wall stays around the product on white), half of
  the time jagged, a third of the time feathered by 0.5-1.5 px. No check finds it yet (README).
- ``cast``: the white balance far off for the light (daylight set under a bulb, a bulb's setting
  in shade): per-channel gains in linear light, strong enough at its end to leave nothing
  neutral; ``COLOR_CAST`` must name it.
- ``text_corner``: a shop's small print (a copyright, a web address, a SKU) in a corner, 1.2-2.5%
  of the height.
- ``date_stamp``: a camera's date imprint in amber in the lower right corner, 2.5-4% of the
  height (often as light as the floor or wall behind it: it differs in colour only).
- ``cut_text`` / ``cut_watermark``: the ``cutout`` photo, then ``text`` / ``watermark`` drawn on
  it (the same seeded draw carries on): a seller who removed the background and added words;
  must be found as the words on a photo with its own background are.
- ``text``: 1-3 words in one of several fonts, 3-10% of the height, opacity 0.5-1, angle +-30
  deg, anywhere, over the product included.
- ``watermark``: one large or a tiled semi-transparent (opacity 0.15-0.45) word over the product.
- ``watermark_light``: a second watermark recipe no fit saw (2026-12-06, after the seventh new
  user's try): a light grey (170-235) or white word at 15-35% opacity, the colours stock-photo
  sites and shops stamp with, one large word across the middle (12-22% of the width, bold
  faces half of the time) or a word tiled over the whole frame, the backdrop included.
- ``badge``: a round or rectangular plate with a word in a corner.
- ``frame``: an added border (padding or painted over).
- ``inset``: a picture-in-picture in a corner (evaluate_quality.add_inset).
- ``rotated_fill``: the photo turned 1.5-15 degrees either way in its own canvas and its
  uncovered corners filled (black 6 times in 10, as Pillow, OpenCV and a transparent fill saved
  as JPEG leave them; else a dark grey or a colour), as a photo straightened in an editor and
  not cropped (new 2026-12-06, after the seventh new user's try).
- ``split``: a before/after split: the frame cut in two by a straight line through the
  product, one half given a "before" look (dull, soiled, dim or soft), a divider 3 times in 4.
- ``collage``: two pictures joined side by side or stacked (the photo and a "before" copy or
  a detail shot of it), a divider half of the time.
"""

from __future__ import annotations

import io
import math
import random
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from analyzer.vision.backdrop import border_median_rgb
from analyzer.vision.srgb import linear_to_srgb, srgb_to_linear

FONT_DIRS = [Path("/usr/share/fonts/truetype")]
try:  # matplotlib ships DejaVu fonts: a fallback where the system has none
    import matplotlib

    FONT_DIRS.append(Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf")
except Exception:  # pragma: no cover - matplotlib is a dependency of the dashboard
    pass

WORDS = ["SALE", "50% OFF", "FREE SHIPPING", "Best Seller", "NEW ARRIVAL", "LIMITED", "Buy now!",
         "www.myshop.com", "(c) MyShop", "HOT DEAL", "2 for 1", "Premium Quality", "ORIGINAL",
         "SAMPLE", "shop.example.com", "-30%", "Only $19.99", "100% cotton", "Made in Italy",
         "Gift idea", "In stock", "@myshop_official"]
COLORS = [(0, 0, 0), (255, 255, 255), (200, 20, 30), (20, 40, 160), (90, 90, 90), (0, 120, 60),
          (255, 140, 0), (120, 0, 120)]


def draws_latin(path: Path) -> bool:
    """Whether the face has glyphs for Latin letters: DejaVu's ``*Display.ttf`` faces hold only a
    few symbols, so every word drawn in them came out empty (a text or watermark copy with no
    text on it, about 1 draw in 20, counted as a miss)."""
    f = ImageFont.truetype(str(path), 24)
    im = Image.new("L", (200, 40))
    ImageDraw.Draw(im).text((2, 2), "Aa", font=f, fill=255)
    return im.getbbox() is not None


def font_files() -> list[Path]:
    seen: dict[str, Path] = {}
    for d in FONT_DIRS:
        if d.is_dir():
            for p in sorted(d.rglob("*.ttf")):
                # text fonts only (no math/symbol faces)
                if (p.name.startswith(("DejaVu", "Liberation")) and "Math" not in p.name
                        and p.name not in seen):
                    seen[p.name] = p
    # A face without Latin glyphs is replaced by its family's regular face (DejaVuSansDisplay ->
    # DejaVuSans), not dropped: the list keeps its length, so every seeded draw picks the same
    # face as before but those that drew nothing.
    out = []
    for name, p in seen.items():
        if not draws_latin(p):
            p = seen.get(name.replace("Display", ""), p)
            if not draws_latin(p):
                continue
        out.append(p)
    return out


_FONTS: list[Path] | None = None


def _faces() -> list[Path]:
    """:func:`font_files`, found once (each face is test-drawn)."""
    global _FONTS
    if _FONTS is None:
        _FONTS = font_files()
    return _FONTS


def _bold_font(rng: random.Random, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A bold face of :func:`font_files` (any face where there is none)."""
    bold = [p for p in _faces() if "Bold" in p.name]
    return ImageFont.truetype(str(rng.choice(bold)), size) if bold else font(rng, size)


def font(rng: random.Random, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    faces = _faces()
    if faces:
        return ImageFont.truetype(str(rng.choice(faces)), size)
    return ImageFont.load_default(size=size)


def _arr(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("RGB")).astype(np.float32)


def _img(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


def _filter(im: Image.Image, k: np.ndarray) -> Image.Image:
    return _img(cv2.filter2D(_arr(im), -1, k / k.sum(), borderType=cv2.BORDER_REFLECT))


# ------------------------------------------------------------------------------ blur-like families

# The smallest Gaussian that is a blur on the pixel grid: sigma 0.7 px leaves 18% of the finest
# detail (the Nyquist frequency; a sampled kernel's response (1 - 2w + 2w^4) / (1 + 2w + 2w^4),
# w = exp(-1 / (2 sigma^2))), as the defocus family's smallest disk (radius 1 px, 20%) and motion
# family's shortest line (2 px, ~0%) do. Sigma 0.3 px, the family's draw on a 198 px icon, leaves
# 98%: the copy is the clean photo (AUROC 0.500 measured), not a defect to catch.
GAUSS_MIN_SIGMA = 0.7


def gauss(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    s = max(GAUSS_MIN_SIGMA, rng.uniform(1.5, 3.5) * max(im.size) / 1000.0)
    return _img(cv2.GaussianBlur(_arr(im), (0, 0), s))


def disk_kernel(r: float) -> np.ndarray:
    n = int(math.ceil(r)) + 1
    y, x = np.mgrid[-n:n + 1, -n:n + 1].astype(np.float32)
    # anti-aliased disk: coverage ramps over one pixel at the rim
    return np.clip(r + 0.5 - np.hypot(x, y), 0, 1)


def defocus(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    r = max(1.0, rng.uniform(2.0, 6.0) * max(im.size) / 1000.0)
    return _filter(im, disk_kernel(r))


def half_defocus(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """Half the frame (left, right, top or bottom, a soft 3% seam) out of focus by a disk of
    radius 2-6 px per 1000 px: a phone that focused on the near end of the product."""
    r = max(1.0, rng.uniform(2.0, 6.0) * max(im.size) / 1000.0)
    a = _arr(im)
    b = _arr(_filter(im, disk_kernel(r)))
    h, w = a.shape[:2]
    m = np.zeros((h, w), np.float32)
    side = rng.choice(["left", "right", "top", "bottom"])
    if side == "left":
        m[:, :w // 2] = 1
    elif side == "right":
        m[:, w // 2:] = 1
    elif side == "top":
        m[:h // 2] = 1
    else:
        m[h // 2:] = 1
    m = cv2.GaussianBlur(m, (0, 0), 0.03 * max(h, w))[..., None]
    return _img(a * (1 - m) + b * m)


def focus_falloff(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """Focus falling off across the frame, as a phone focused on the near end of a product laid
    at an angle leaves it: sharp up to a line 20-50% of the way across (in any direction), then
    a Gaussian blur growing linearly to sigma 1.5-4 px per 1000 px at the far side, blended
    between six blurred copies."""
    a = _arr(im)
    h, w = a.shape[:2]
    smax = max(0.7, rng.uniform(1.5, 4.0) * max(h, w) / 1000.0)
    t = rng.uniform(0.0, 2.0 * math.pi)
    start = rng.uniform(0.2, 0.5)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    proj = (xx / w - 0.5) * math.cos(t) + (yy / h - 0.5) * math.sin(t)
    proj = (proj - proj.min()) / max(1e-6, float(proj.max() - proj.min()))
    level = np.clip((proj - start) / (1.0 - start), 0.0, 1.0) * 5.0  # 0 .. 5: the copy index
    sigmas = np.linspace(0.0, smax, 6)
    copies = [a] + [cv2.GaussianBlur(a, (0, 0), float(sg)) for sg in sigmas[1:]]
    lo = np.minimum(np.floor(level).astype(np.int64), 4)
    f = (level - lo)[..., None]
    out = np.zeros_like(a)
    for i in range(5):  # each pixel blends copy lo and lo + 1
        m = (lo == i)[..., None]
        out = np.where(m, copies[i] * (1.0 - f) + copies[i + 1] * f, out)
    return _img(out)


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    n = int(math.ceil(length / 2)) + 1
    k = np.zeros((2 * n + 1, 2 * n + 1), np.float32)
    t = math.radians(angle_deg)
    dx, dy = math.cos(t), -math.sin(t)
    for s in np.linspace(-length / 2, length / 2, max(2, int(length * 4))):
        x, y = n + s * dx, n + s * dy
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for yy, xx, w in ((y0, x0, (1 - fx) * (1 - fy)), (y0, x0 + 1, fx * (1 - fy)),
                          (y0 + 1, x0, (1 - fx) * fy), (y0 + 1, x0 + 1, fx * fy)):
            if 0 <= yy < k.shape[0] and 0 <= xx < k.shape[1]:
                k[yy, xx] += w
    return k


def motion(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    length = max(2.0, rng.uniform(0.005, 0.025) * max(im.size))
    return _filter(im, motion_kernel(length, rng.uniform(0.0, 180.0)))


def shake_kernel(length: float, rng: random.Random, steps: int = 256) -> np.ndarray:
    """A hand-shake blur kernel: the path of a random walk with inertia and a few sudden jerks
    (the trajectory model of Boracchi & Foi, "Modeling the performance of image restoration from
    motion blur", IEEE TIP 21(8), 2012), scaled to span ``length`` px across and splatted
    bilinearly (unnormalised: :func:`_filter` divides by the sum). Unlike ``motion_kernel`` it
    curves and dwells: a phone held by hand."""
    anxiety = rng.uniform(0.1, 0.5)
    pos = np.zeros(2)
    v = np.array([math.cos(a := rng.uniform(0, 2 * math.pi)), math.sin(a)])
    path = [pos.copy()]
    for _ in range(steps - 1):
        jerk = rng.random() < 0.02  # a sudden twitch turns the path
        dv = np.array([rng.gauss(0, 1), rng.gauss(0, 1)]) * anxiety - 0.05 * pos / max(1, steps)
        if jerk:
            dv += 2.0 * np.array([rng.gauss(0, 1), rng.gauss(0, 1)])
        v = v + dv
        v /= max(1e-6, float(np.hypot(*v)))
        pos = pos + v
        path.append(pos.copy())
    pts = np.array(path)
    # the path's extent (its largest span across, as the straight smear's length) is ``length``
    span = max(float(np.ptp(pts @ np.array([math.cos(t), math.sin(t)])))
               for t in np.linspace(0, math.pi, 16, endpoint=False))
    pts = (pts - pts.mean(axis=0)) * (length / max(span, 1e-6))
    n = int(math.ceil(np.abs(pts).max())) + 2
    k = np.zeros((2 * n + 1, 2 * n + 1), np.float32)
    for x, y in pts + n:
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        k[y0, x0] += (1 - fx) * (1 - fy)
        k[y0, x0 + 1] += fx * (1 - fy)
        k[y0 + 1, x0] += (1 - fx) * fy
        k[y0 + 1, x0 + 1] += fx * fy
    return k


def shake(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """Camera shake as a hand makes it: a curved, jerky path spanning 0.5-2.5% of the long side
    (the ``motion`` family's straight smear is its simplest case). No threshold was chosen on
    it."""
    length = max(2.0, rng.uniform(0.005, 0.025) * max(im.size))
    return _filter(im, shake_kernel(length, rng))


UPSCALE_FILTERS = [Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS]


def upscale(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    f = rng.uniform(0.2, 0.5)
    small = im.resize((max(8, round(im.width * f)), max(8, round(im.height * f))),
                      Image.Resampling.BOX)
    return small.resize(im.size, rng.choice(UPSCALE_FILTERS))


ENLARGED_MAX_SIDE = 4000


def enlarged(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """Enlarged 2-5x (bilinear, bicubic or Lanczos), to at most ENLARGED_MAX_SIDE px: a photo
    upscaled from 20-50% of the size it is uploaded at."""
    k = min(rng.uniform(2.0, 5.0), ENLARGED_MAX_SIDE / max(im.size))
    return im.resize((round(im.width * k), round(im.height * k)), rng.choice(UPSCALE_FILTERS))


def pixelated(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """Shrunk to 20-50% and enlarged back by repeating pixels (nearest neighbour): blocky, with
    hard steps that read as sharp edges."""
    f = rng.uniform(0.2, 0.5)
    small = im.resize((max(8, round(im.width * f)), max(8, round(im.height * f))),
                      Image.Resampling.LANCZOS)
    return small.resize(im.size, Image.Resampling.NEAREST)


def jpeg(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=rng.randint(15, 40))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def jpeg_file(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The photo as it is: its defect is the quality it is saved at (``SAVE_QUALITY``)."""
    return im.convert("RGB")


# the upscale family's filters, in the order the export family's seeded draws were made with
EXPORT_FILTERS = UPSCALE_FILTERS[::-1]


def export(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A clean photo through a store's export (a control: nothing here is a defect): shrunk to
    800-1600 px on the long side half of the time (never enlarged), an unsharp mask (radius
    0.5-2 px, 40-150%, threshold 0-3) half of the time; the quality it is saved at, 55-90, is
    drawn after (``SAVE_QUALITY``)."""
    im = im.convert("RGB")
    if rng.random() < 0.5:
        side = rng.randint(800, 1600)
        f = side / max(im.size)
        if f < 1.0:
            im = im.resize((max(8, round(im.width * f)), max(8, round(im.height * f))),
                           rng.choice(EXPORT_FILTERS))
    if rng.random() < 0.5:
        im = im.filter(ImageFilter.UnsharpMask(radius=rng.uniform(0.5, 2.0),
                                               percent=rng.randint(40, 150),
                                               threshold=rng.randint(0, 3)))
    return im


def _noise(a: np.ndarray, rng: random.Random, sd: float) -> np.ndarray:
    g = np.random.default_rng(rng.randrange(2**32))
    luma = g.normal(0, sd, a.shape[:2])[..., None]
    chroma = g.normal(0, sd * 0.5, a.shape)
    return a + luma + chroma


def noise(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    return _img(_noise(_arr(im), rng, rng.uniform(6.0, 18.0)))


# The four blurs a family that starts from "a blur of any kind" draws from, each with its own
# family's strengths (blur_noise, blur_cutout).
BLURS = (gauss, defocus, motion, shake)


def blur_noise(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A blur of any kind (Gaussian, defocus, motion or hand shake, each with its family's
    strengths) and then mild sensor noise, luma sd 2-6 levels: the order a camera makes them in
    (the lens and the shake blur the light, the sensor adds its noise), so every real blurred
    photo has some. The blur families alone are noise-free copies of clean photos."""
    kind = rng.choice(BLURS)
    return _img(_noise(_arr(kind(im, rng)), rng, rng.uniform(2.0, 6.0)))


def blur_sharpened(im: Image.Image, rng: random.Random, props: list | None = None
                   ) -> Image.Image:
    """A blur of any kind (the four above, each with its family's strengths), then sharpened:
    half of the time as a phone's camera pipeline sharpens every photo (an unsharp mask of
    radius 0.5-1.5 px per 1000 px, 50-150%), half of the time as a seller's editor rescues a
    soft photo (radius 1-3 px per 1000 px, 150-300%). The mask steepens the blurred edges'
    middles and rings at their feet, so the edge widths read crisper than the blur, while the
    detail the blur took is not brought back (a second recipe for the blur families, nothing
    chosen on it)."""
    kind = rng.choice(BLURS)
    out = kind(im, rng)
    per_px = max(out.size) / 1000.0
    if rng.random() < 0.5:
        radius, percent = rng.uniform(0.5, 1.5) * per_px, rng.randint(50, 150)
    else:
        radius, percent = rng.uniform(1.0, 3.0) * per_px, rng.randint(150, 300)
    return out.filter(ImageFilter.UnsharpMask(radius=radius, percent=percent, threshold=0))


def lowlight(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    lin = srgb_to_linear(_arr(im) / 255.0) * 2.0 ** -rng.uniform(1.5, 2.5)
    s = linear_to_srgb(lin) * 255
    s = _noise(s, rng, rng.uniform(4.0, 10.0))
    gain = 2.0 ** rng.uniform(0.0, 1.5)
    return _img(s * gain)


def denoise(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A phone's night mode or heavy noise reduction: texture smeared while edges stay crisp
    (the "watercolour" look of a photo taken in a dim room). An edge-preserving filter
    (bilateral, 2-6 passes, its window 0.4-0.9% of the long side, colour sigma 40-110 levels),
    then a median of 0.2-0.5% of the long side. Faces, hair and fabric go flat; outlines and
    strong print stay sharp, so edge widths read sharp (a tenth new user's try graded such
    copies A, sharpness 100). Added 2026-12-07 as a family no check finds (README)."""
    a = np.asarray(im.convert("RGB"))
    long_side = max(a.shape[:2])

    def odd(v: float) -> int:
        return max(3, int(round(v)) // 2 * 2 + 1)

    d = odd(long_side * rng.uniform(0.004, 0.009))
    sigma = rng.uniform(40.0, 110.0)
    out = a
    for _ in range(rng.randint(2, 6)):
        out = cv2.bilateralFilter(out, d, sigma, d)
    return _img(cv2.medianBlur(out, odd(long_side * rng.uniform(0.002, 0.005))))


def overexposed(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """1-2.5 stops too bright: the linear light scaled by 2-5.7 and clipped at the sensor's
    white (the highlights, pale parts and skin blow out first, as a camera that exposed for a
    dark backdrop or a phone's auto exposure on a dark product leaves them)."""
    # linear_to_srgb clips at 1: the sensor's white
    return _img(linear_to_srgb(srgb_to_linear(_arr(im) / 255.0) * 2.0 ** rng.uniform(1.0, 2.5))
                * 255)


def glare(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A flash's or a lamp's glare on the product (a glossy box, a bottle, a shoe, satin): a
    specular hotspot where the light source is mirrored in the surface. Light is added in linear
    light, a Gaussian in the coordinates of an ellipse (drawn out 1-3:1 at any angle, as a
    curved surface stretches a reflection), strong enough that its core (2-7% of the product's
    long side across the short axis) clips to white and fading out over 0.8-2 core radii
    beyond; slightly warm or cool (a lamp, a flash). It lies on the product: its centre at
    least the spot's reach inside the salient-object mask (u2netp, the built-in model; its
    deepest point on a thin product). The rest of the photo keeps its exposure."""
    a = np.asarray(im.convert("RGB"))
    fg = (_cut_probability(a) > 0.5).astype(np.uint8)
    if fg.sum() < 64:
        fg[:] = 1
    ys, xs = np.nonzero(fg)
    long_side = max(int(ys.max() - ys.min()), int(xs.max() - xs.min())) + 1
    r = max(2.0, rng.uniform(0.01, 0.035) * long_side)  # the core's radius, short axis
    elong = rng.uniform(1.0, 3.0)
    halo = rng.uniform(0.8, 2.0)  # the fade's Gaussian sd, in core radii
    depth = cv2.distanceTransform(fg, cv2.DIST_L2, 5)
    reach = r * elong * (1.0 + halo)
    inside = np.argwhere(depth >= min(reach, 0.8 * float(depth.max())))
    cy, cx = (int(v) for v in inside[rng.randrange(len(inside))])
    t = rng.uniform(0.0, math.pi)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = ((xx - cx) * math.cos(t) + (yy - cy) * math.sin(t)) / (r * elong)
    v = (-(xx - cx) * math.sin(t) + (yy - cy) * math.cos(t)) / r
    rho2 = u * u + v * v
    # added light 1.0 (the sensor's white on its own) at the core's rim, more inside it
    light = np.exp((1.0 - rho2) / (2.0 * halo * halo))
    tint = np.array([1.0, 1.0, 1.0]) + np.array([rng.uniform(-0.04, 0.04) for _ in range(3)])
    lin = srgb_to_linear(a / 255.0) + light[..., None] * tint
    return _img(linear_to_srgb(lin) * 255)

# ------------------------------------------------------------------------------ props

def cutout(im: Image.Image, max_side: int = 400) -> Image.Image:
    """An RGBA cut-out of a studio shot's product: everything not near-white, its holes filled."""
    im = im.convert("RGB")
    s = min(1.0, max_side / max(im.size))
    if s < 1:
        im = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)
    a = np.asarray(im)
    fg = (a.min(axis=2) < 235).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, lab, st, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n > 1:
        keep = 1 + np.argsort(st[1:, cv2.CC_STAT_AREA])[::-1][:3]
        big = st[keep[0], cv2.CC_STAT_AREA]
        fg = np.isin(lab, [k for k in keep if st[k, cv2.CC_STAT_AREA] > 0.2 * big])
    fg = fg.astype(np.uint8)
    cnts, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(fg)
    cv2.drawContours(filled, cnts, -1, 1, thickness=-1)
    ys, xs = np.nonzero(filled)
    if len(ys) == 0:
        return Image.new("RGBA", (1, 1))
    alpha = cv2.GaussianBlur(filled.astype(np.float32) * 255, (0, 0), 0.7)
    rgba = np.dstack([a, alpha.astype(np.uint8)])
    return Image.fromarray(rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1], "RGBA")


def _product_box(im: Image.Image) -> tuple[int, int, int, int]:
    a = np.asarray(im.convert("L"))
    ys, xs = np.nonzero(a < 235)
    if len(ys) == 0:
        return 0, 0, im.width, im.height
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _scaled(c: Image.Image, long_side: float) -> Image.Image:
    s = max(8.0, long_side) / max(c.size)
    return c.resize((max(4, round(c.width * s)), max(4, round(c.height * s))),
                    Image.Resampling.LANCZOS)


def _layout(im: Image.Image, rng: random.Random, shrink: tuple[float, float]
            ) -> tuple[Image.Image, Image.Image, tuple[int, int, int, int]]:
    """A white canvas of the image's size and the product cut-out shrunk so props fit; returns
    (canvas, product cut-out, where the product goes)."""
    W, H = im.size
    prod = cutout(im, max_side=max(W, H))
    s = rng.uniform(*shrink)
    pw, ph = max(4, round(prod.width * s)), max(4, round(prod.height * s))
    prod = prod.resize((pw, ph), Image.Resampling.LANCZOS)
    cx = W // 2 + round(rng.uniform(-0.08, 0.08) * W)
    cy = H // 2 + round(rng.uniform(-0.05, 0.05) * H)
    box = (cx - pw // 2, cy - ph // 2, cx - pw // 2 + pw, cy - ph // 2 + ph)
    return Image.new("RGB", (W, H), (255, 255, 255)), prod, box


def _paste(canvas: Image.Image, c: Image.Image, x: int, y: int) -> None:
    canvas.paste(c.convert("RGB"), (x, y), c.split()[-1])


def _props(im: Image.Image, rng: random.Random, props: list | None, where: str) -> Image.Image:
    if not props:
        raise ValueError("props families need other products' cut-outs")
    canvas, prod, (x0, y0, x1, y1) = _layout(im, rng, (0.5, 0.75))
    W, H = canvas.size
    pl = max(prod.size)
    chosen = [_scaled(rng.choice(props), pl * rng.uniform(0.25, 0.6))
              for _ in range(rng.randint(1, 3))]
    spots = []
    for i, c in enumerate(chosen):
        side = (i + rng.randint(0, 1)) % 2  # alternate left / right of the product
        if where == "beside":
            # on the backdrop next to the product: shrunk to the free width if need be, and
            # on the other side when that one has more room
            room = [x0, W - x1]
            if room[side] < c.width and room[1 - side] > room[side]:
                side = 1 - side
            if room[side] < c.width + 4:
                f = max(4, room[side] - 4) / c.width
                c = c.resize((max(4, round(c.width * f)), max(4, round(c.height * f))),
                             Image.Resampling.LANCZOS)
            gap = rng.randint(0, max(0, room[side] - c.width))
            x = x0 - c.width - gap if side == 0 else x1 + gap
            hi = max(0, min(H - c.height, y1 - c.height))
            y = rng.randint(min(hi, max(0, y1 - c.height - H // 6)), hi)
        elif where == "behind":  # partly hidden behind the product's side
            x = x0 - round(c.width * rng.uniform(0.5, 0.8)) if side == 0 else x1 - round(
                c.width * rng.uniform(0.2, 0.5))
            y = rng.randint(max(0, y0), max(0, y0, y1 - c.height))
        else:  # overlapping: in front of the product's lower corner
            x = x0 - round(c.width * rng.uniform(0.2, 0.5)) if side == 0 else x1 - round(
                c.width * rng.uniform(0.5, 0.8))
            y = y1 - round(c.height * rng.uniform(0.6, 1.0))
        spots.append((c, min(max(0, x), W - c.width), min(max(0, y), H - c.height)))
    if where == "behind":
        for c, x, y in spots:
            _paste(canvas, c, x, y)
    _paste(canvas, prod, x0, y0)
    if where != "behind":
        for c, x, y in spots:
            _paste(canvas, c, x, y)
    return canvas


def props_beside(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    return _props(im, rng, props, "beside")


def props_behind(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    return _props(im, rng, props, "behind")


def props_overlap(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    return _props(im, rng, props, "overlap")


def props_around(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """1-3 other products anywhere on the backdrop around the product (above, below, to a side or
    in a corner), each 30-110% of the product's size and apart from it and from each other: a
    second recipe of props beside, with the positions and sizes ``props_beside`` never draws (it
    puts smaller props only to the left or right). Nothing was chosen on it."""
    if not props:
        raise ValueError("props families need other products' cut-outs")
    canvas, prod, (x0, y0, x1, y1) = _layout(im, rng, (0.45, 0.7))
    W, H = canvas.size
    pl = max(prod.size)
    gap = max(2, round(0.01 * max(W, H)))
    taken = [(x0 - gap, y0 - gap, x1 + gap, y1 + gap)]
    placed = []
    def free(box: tuple[int, int, int, int]) -> bool:
        return all(box[2] <= t[0] or box[0] >= t[2] or box[3] <= t[1] or box[1] >= t[3]
                   for t in taken)

    for _ in range(rng.randint(1, 3)):
        c = _scaled(rng.choice(props), pl * rng.uniform(0.3, 1.1))
        spot = None
        for _try in range(60):  # a random free spot, the prop shrunk every 10 tries
            if c.width < W and c.height < H:
                x, y = rng.randint(0, W - c.width), rng.randint(0, H - c.height)
                if free((x, y, x + c.width, y + c.height)):
                    spot = (c, x, y)
                    break
            if _try % 10 == 9:
                c = c.resize((max(4, round(c.width * 0.85)), max(4, round(c.height * 0.85))),
                             Image.Resampling.LANCZOS)
        if spot is None:  # a tall or wide product leaves only its margins: fit one of them
            margins = [(0, 0, x0 - gap, H), (x1 + gap, 0, W, H), (0, 0, W, y0 - gap),
                       (0, y1 + gap, W, H)]
            rng.shuffle(margins)
            for mx0, my0, mx1, my1 in sorted(margins, key=lambda m: -min(m[2] - m[0],
                                                                          m[3] - m[1])):
                f = min(1.0, 0.9 * (mx1 - mx0) / c.width, 0.9 * (my1 - my0) / c.height)
                if f * min(c.size) < 8:
                    continue
                cc = c.resize((max(4, round(c.width * f)), max(4, round(c.height * f))),
                              Image.Resampling.LANCZOS)
                x = rng.randint(mx0, max(mx0, mx1 - cc.width))
                y = rng.randint(my0, max(my0, my1 - cc.height))
                if free((x, y, x + cc.width, y + cc.height)):
                    spot = (cc, x, y)
                    break
        if spot is not None:
            c, x, y = spot
            taken.append((x - gap, y - gap, x + c.width + gap, y + c.height + gap))
            placed.append(spot)
    if not placed:
        raise ValueError("no room for a prop beside the product")
    _paste(canvas, prod, x0, y0)
    for c, x, y in placed:
        _paste(canvas, c, x, y)
    return canvas


def props_none(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The props families' layout without the props: the product cut out, shrunk to 50-75% and
    moved off centre on a white canvas. A control that must *not* be flagged: the props families
    re-lay the product out (it no longer touches the frame, it is smaller, u2netp is less sure of
    it), so a measure can tell them from the clean photos by the layout alone; against this set
    only the props themselves count."""
    canvas, prod, (x0, y0, _x1, _y1) = _layout(im, rng, (0.5, 0.75))
    _paste(canvas, prod, x0, y0)
    return canvas


def small(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The product lost in the frame: cut out, shrunk so its longer side spans 20-48% of the
    frame's, anywhere on a white canvas of the photo's size (shot from across the room, or
    pasted small onto a square canvas)."""
    W, H = im.size
    prod = cutout(im, max_side=max(W, H))
    s = rng.uniform(0.20, 0.48) * max(W, H) / max(prod.size)
    prod = prod.resize((max(4, round(prod.width * s)), max(4, round(prod.height * s))),
                       Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (W, H), (255, 255, 255))
    _paste(canvas, prod, rng.randint(0, max(0, W - prod.width)),
           rng.randint(0, max(0, H - prod.height)))
    return canvas


def banner(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The photo padded with the median colour of its outer 2% to a banner 2.8-4:1 wide or tall,
    at a random offset along the padded axis (the product keeps its pixels). From 2.8:1 a tile
    of at most 4:3 shrinks the frame to under half, so even a product spanning the short axis
    spans under half of the tile."""
    W, H = im.size
    colour = border_median_rgb(np.asarray(im.convert("RGB")))
    r = rng.uniform(2.8, 4.0)
    if rng.random() < 0.5:  # wide
        size = (max(W, round(H * r)), H)
        at = (rng.randint(0, size[0] - W), 0)
    else:
        size = (W, max(H, round(W * r)))
        at = (0, rng.randint(0, size[1] - H))
    canvas = Image.new("RGB", size, colour)
    canvas.paste(im.convert("RGB"), at)
    return canvas


def thin_frame(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A hairline frame: an editor's stroke of 1-4 px (at the uploaded size, whatever it is) in
    mid or dark grey, black or a colour, painted over the photo's edge or added outside it."""
    w = rng.randint(1, 4)
    color = rng.choice([(128, 128, 128), (170, 170, 170), (60, 60, 60), (0, 0, 0),
                        (180, 30, 40), (20, 60, 160), (200, 160, 40)])
    if rng.random() < 0.5:
        canvas = Image.new("RGB", (im.width + 2 * w, im.height + 2 * w), color)
        canvas.paste(im.convert("RGB"), (w, w))
        return canvas
    out = im.convert("RGB")
    ImageDraw.Draw(out).rectangle([0, 0, out.width - 1, out.height - 1], outline=color, width=w)
    return out


def drawing(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The photo as a drawing: grain smoothed away (a 5 px median), its colours reduced to 4-10
    flat fills (k-means on a sample of pixels, seeded) whose regions are made whole shapes (a
    median filter on the label map), near-white kept pure white, and half of the time a dark
    outline (1-2 px) where the fills meet."""
    a = cv2.medianBlur(np.asarray(im.convert("RGB")), 5)
    k = rng.randint(4, 10)
    flat = a.reshape(-1, 3).astype(np.float32)
    gen = np.random.default_rng(rng.randint(0, 2**31 - 1))
    sample = flat[gen.choice(len(flat), min(len(flat), 20_000), replace=False)]
    cv2.setRNGSeed(rng.randint(0, 2**31 - 1))
    _, _, centres = cv2.kmeans(sample, k, None, (cv2.TERM_CRITERIA_EPS
                                                 + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0),
                               2, cv2.KMEANS_PP_CENTERS)
    labels = np.argmin(((flat[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    # A trace's regions are whole shapes, not a photo's speckle where two fills meet: a median
    # filter on the label map, about 1% of the long side wide, keeps one of the labels around
    # each pixel and removes most specks.
    m = 2 * max(1, round(0.005 * max(a.shape[:2]))) + 1
    labels = cv2.medianBlur(labels.reshape(a.shape[:2]).astype(np.uint8), min(m, 255)).ravel()
    centres = np.where(centres.min(axis=1, keepdims=True) >= 235, 255.0, centres)
    out = centres[labels].reshape(a.shape).astype(np.uint8)
    if rng.random() < 0.5:
        edges = cv2.Canny(labels.reshape(a.shape[:2]).astype(np.uint8) * 20, 10, 30)
        edges = cv2.dilate(edges, np.ones((rng.randint(1, 2),) * 2, np.uint8)) > 0
        out[edges] = rng.randint(20, 60)
    return Image.fromarray(out)


def mono(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The photo through a phone's or an editor's colour filter that takes the colour out, one of
    three kinds a third of the time each: black and white (the grey of Pillow's luma); toned
    (sepia, a cold blue, a purple or a green "vintage" tint laid on the grey, darkest in the
    shadows, at 30-100% strength); or desaturated (0-10% of the colour kept). Saved at JPEG
    80-95 (``SAVE_QUALITY``), as an app exports it."""
    rgb = np.asarray(im.convert("RGB"), np.float32)
    g = np.asarray(im.convert("L"), np.float32)[..., None] / 255.0
    kind = rng.choice(["grey", "tone", "desat"])
    if kind == "grey":
        out = np.repeat(g * 255.0, 3, axis=2)
    elif kind == "tone":
        tint = np.array(rng.choice([(112, 66, 20), (40, 70, 110), (90, 40, 90), (60, 90, 60)]),
                        np.float32)
        k = rng.uniform(0.3, 1.0)
        out = (tint * (1 - g) + 255.0 * g) * k + g * 255.0 * (1 - k)
    else:
        k = rng.uniform(0.0, 0.1)
        out = g * 255.0 * (1 - k) + rgb * k
    return _img(out)


def cast(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A strong colour cast from the light (an eleventh new user's try: a strong indoor bulb's
    cast went unflagged while milder ones were flagged): the camera's white balance set for
    daylight under a tungsten bulb or candlelight (warm, 2 times in 3: green 0.45-0.85 and blue
    0.10-0.60 of red, blue under green) or under shade or a cold LED (red 0.45-0.85 and green
    0.70-0.95 of blue, red under green), gains applied in linear light, so a white surface
    becomes the gains' colour and nothing in the photo is left neutral at the strong end."""
    lin = srgb_to_linear(_arr(im) / 255.0)
    if rng.random() < 2 / 3:
        g_g = rng.uniform(0.45, 0.85)
        gains = (1.0, g_g, rng.uniform(0.10, min(0.60, g_g - 0.05)))
    else:
        g_r = rng.uniform(0.45, 0.85)
        gains = (g_r, rng.uniform(max(0.70, g_r + 0.05), 0.95), 1.0)
    return _img(linear_to_srgb(lin * np.array(gains, np.float32)) * 255)


def pair(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The product twice (a copy or its mirror), side by side: a pair of shoes, a set."""
    W, H = im.size
    prod = cutout(im, max_side=max(W, H))
    s = min(0.48 * W / prod.width, 0.85 * H / prod.height) * rng.uniform(0.8, 1.0)
    prod = prod.resize((max(4, round(prod.width * s)), max(4, round(prod.height * s))),
                       Image.Resampling.LANCZOS)
    other = prod.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else prod
    gap = round(W * rng.uniform(-0.02, 0.03))
    total = 2 * prod.width + gap
    x = (W - total) // 2
    y = (H - prod.height) // 2 + round(rng.uniform(-0.03, 0.03) * H)
    canvas = Image.new("RGB", (W, H), (255, 255, 255))
    _paste(canvas, prod, max(0, x), y)
    _paste(canvas, other, min(W - other.width, x + prod.width + gap),
           y + round(rng.uniform(-0.03, 0.03) * H))
    return canvas


def reflection(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The product standing on a glossy surface: under it its own mirror image, fading from an
    opacity of 0.15-0.5 to nothing over 20-60% of its height, 0-1% of the height below it,
    sharp or slightly blurred (the usual catalogue reflection, a flipped copy faded out). A
    control that must *not* be called clutter: the reflection is the product's, not another
    object."""
    W, H = im.size
    prod = cutout(im, max_side=max(W, H))
    depth = rng.uniform(0.2, 0.6)
    s = min(0.8 * W / prod.width, 0.92 * H / (prod.height * (1 + depth))) * rng.uniform(0.75, 1)
    prod = prod.resize((max(4, round(prod.width * s)), max(4, round(prod.height * s))),
                       Image.Resampling.LANCZOS)
    gap = round(H * rng.uniform(0.0, 0.01))
    refl_h = max(2, round(prod.height * depth))
    refl = prod.transpose(Image.Transpose.FLIP_TOP_BOTTOM).crop((0, 0, prod.width, refl_h))
    if rng.random() < 0.5:
        refl = refl.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0) * max(W, H) / 1000))
    a = np.asarray(refl.split()[-1]).astype(np.float32)
    fade = np.linspace(rng.uniform(0.15, 0.5), 0.0, refl_h, dtype=np.float32)[:, None]
    refl.putalpha(Image.fromarray(np.clip(a * fade, 0, 255).astype(np.uint8)))
    total = prod.height + gap + refl_h
    x = (W - prod.width) // 2 + round(rng.uniform(-0.05, 0.05) * W)
    y = max(0, (H - total) // 2)
    canvas = Image.new("RGB", (W, H), (255, 255, 255))
    _paste(canvas, refl, x, min(H - refl_h, y + prod.height + gap))
    _paste(canvas, prod, x, y)
    return canvas


def _cut_probability(a: np.ndarray) -> np.ndarray:
    """The salient-object mask's probability (u2netp, the built-in model) at ``a``'s size."""
    from analyzer.vision.mask import u2netp_prob  # the model only where a cut-out is drawn

    prob = u2netp_prob(a)
    if prob is None:
        raise ValueError("the cut-out families need the u2netp model")
    return cv2.resize(prob.astype(np.float32), (a.shape[1], a.shape[0]),
                      interpolation=cv2.INTER_LINEAR)


def _on_white(a: np.ndarray, alpha: np.ndarray) -> Image.Image:
    return _img(a * alpha[..., None] + 255.0 * (1.0 - alpha[..., None]))


def cutout_on_white(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The photo with its background removed by an app and laid on pure white, as a seller
    without a studio makes a main image: the salient-object mask (u2netp, the built-in model),
    cut hard at 0.5 half of the time and feathered over 0.3-0.7 the other half; remnants of the
    floor or wall the mask kept stay. A control for the overlay and clutter checks: a clean
    photo made compliant, with nothing added."""
    a = np.asarray(im.convert("RGB"))
    prob = _cut_probability(a)
    if rng.random() < 0.5:
        alpha = (prob > 0.5).astype(np.float32)
    else:
        alpha = np.clip((prob - 0.3) / 0.4, 0.0, 1.0)
    return _on_white(a, alpha)


def flash_shadow(im: Image.Image, rng: random.Random, props: list | None = None
                 ) -> Image.Image:
    """A hard shadow on the backdrop, as a phone's flash throws the product's silhouette onto
    the wall or sheet behind it: the salient-object mask (u2netp) moved 2-7% of the long side in
    a direction from 30 degrees above the right, through below, to 30 degrees above the left (a
    flash above or beside the lens throws it behind and away from itself, never much upward),
    softened by 0-0.8% of the long side (a
    bare flash is hard), and the backdrop's light cut by 25-55% under it (in linear light);
    the product itself stays on top, untouched. Found by an eleventh new user's try (graded A:
    u2netp takes the shadow for product)."""
    a = np.asarray(im.convert("RGB"))
    h, w = a.shape[:2]
    long_side = max(h, w)
    alpha = np.clip((_cut_probability(a) - 0.3) / 0.4, 0.0, 1.0)
    d = rng.uniform(0.02, 0.07) * long_side
    ang = math.radians(rng.uniform(-30.0, 210.0))  # 0: to the right, 90: down (y grows down)
    shift = np.float32([[1, 0, d * math.cos(ang)], [0, 1, d * math.sin(ang)]])
    shadow = cv2.warpAffine((alpha > 0.5).astype(np.float32), shift, (w, h))
    soft = rng.uniform(0.0, 0.008) * long_side
    if soft >= 0.5:
        shadow = cv2.GaussianBlur(shadow, (0, 0), soft)
    cut = rng.uniform(0.25, 0.55) * shadow * (1.0 - alpha)  # the product stays on top
    lin = srgb_to_linear(_arr(im) / 255.0) * (1.0 - cut[..., None])
    return _img(linear_to_srgb(lin) * 255.0)


def halo(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A sloppy background removal: the salient-object mask (u2netp, cut at 0.5) grown by a disc
    of 0.5-3% of the short side before the cut, so a band of the old floor, bed or wall that
    wide stays around the product on pure white; half of the time the mask is also made at 1/6
    to 1/12 of the size and enlarged by repeating pixels (a free app's jagged, stepped edge), and
    a third of the time the cut's edge is feathered by 0.5-1.5 px. Found by an eleventh new
    user's try (graded A: the band reads as product)."""
    a = np.asarray(im.convert("RGB"))
    h, w = a.shape[:2]
    m = (_cut_probability(a) > 0.5).astype(np.uint8)
    r = max(1, round(rng.uniform(0.005, 0.03) * min(h, w)))
    m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    if rng.random() < 0.5:
        f = rng.randint(6, 12)
        sm = cv2.resize(m, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
        m = cv2.resize(sm, (w, h), interpolation=cv2.INTER_NEAREST)
    alpha = m.astype(np.float32)
    if rng.random() < 1 / 3:
        alpha = cv2.GaussianBlur(alpha, (0, 0), rng.uniform(0.5, 1.5))
    return _on_white(a, alpha)


def blur_cutout(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A blurred photo whose background an app then removed and laid on pure white: one of the
    four blurs (Gaussian, defocus, motion, hand shake, each with its family's strengths), then
    :func:`cutout_on_white` on the blurred copy, the mask found on what the seller has. The
    product is soft but its outline is as crisp as the mask cuts it, and the outline is where a
    studio photo's strongest edges are: a second recipe nothing was chosen on."""
    kind = rng.choice(BLURS)
    return cutout_on_white(kind(im, rng), rng)


def feathered(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A sharp photo cut out onto white with a feathered edge, as a background-removal app's
    "soften edge" or "feather" slider leaves it: the u2netp mask cut hard at 0.5, then blurred
    by a Gaussian of 1-3 px (of the photo's own pixels), so the outline fades into the white
    over 2-7 px while the product itself stays as sharp as it was. A control: nothing here is
    blurred that a shopper would call blurry."""
    a = np.asarray(im.convert("RGB"))
    hard = (_cut_probability(a) > 0.5).astype(np.float32)
    return _on_white(a, cv2.GaussianBlur(hard, (0, 0), rng.uniform(1.0, 3.0)))


def blur_feathered(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A blurred photo cut out onto white with a feathered edge: one of the four blurs, then
    :func:`feathered` on the blurred copy (its outline soft by the feather, its surface by the
    blur): what :func:`feathered`'s control must not let through."""
    kind = rng.choice(BLURS)
    return feathered(kind(im, rng), rng)


# ------------------------------------------------------------------------------ overlays

def _word_layer(txt: str, f: ImageFont.FreeTypeFont | ImageFont.ImageFont,
                color: tuple[int, int, int], alpha: int, angle: float,
                outline: bool) -> Image.Image:
    d0 = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    box = d0.textbbox((0, 0), txt, font=f)
    pad = 4
    tile = Image.new("RGBA", (box[2] - box[0] + 2 * pad, box[3] - box[1] + 2 * pad), (0, 0, 0, 0))
    d = ImageDraw.Draw(tile)
    kw = {}
    if outline:
        inv = tuple(255 - v for v in color)
        kw = {"stroke_width": max(1, round(getattr(f, "size", 20) / 18)),
              "stroke_fill": (*inv, alpha)}
    d.text((pad - box[0], pad - box[1]), txt, font=f, fill=(*color, alpha), **kw)
    return tile.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC) if angle else tile


def text(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    base = im.convert("RGBA")
    W, H = base.size
    for _ in range(rng.choice([1, 1, 2, 3])):
        size = max(9, round(H * rng.uniform(0.03, 0.10)))
        tile = _word_layer(rng.choice(WORDS), font(rng, size), rng.choice(COLORS),
                           int(255 * rng.uniform(0.5, 1.0)),
                           rng.choice([0.0, 0.0, rng.uniform(-30, 30)]), rng.random() < 0.3)
        if tile.width >= W or tile.height >= H:
            tile = tile.resize((min(tile.width, W - 2), min(tile.height, H - 2)))
        x = rng.randint(0, W - tile.width)
        y = rng.randint(0, H - tile.height)
        base.alpha_composite(tile, (x, y))
    return base.convert("RGB")


def _composite_near_middle(base: Image.Image, tile: Image.Image, rng: random.Random,
                           share: int) -> None:
    """Composite ``tile`` centred on ``base``, moved by up to 1/``share`` of the frame each way
    (x drawn first, then y) and kept inside it."""
    W, H = base.size
    x = (W - tile.width) // 2 + rng.randint(-W // share, W // share)
    y = (H - tile.height) // 2 + rng.randint(-H // share, H // share)
    base.alpha_composite(tile, (min(max(0, x), W - tile.width), min(max(0, y), H - tile.height)))


def watermark(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    base = im.convert("RGBA")
    W, H = base.size
    txt = rng.choice(["(c) MyShop", "SAMPLE", "myshop.com", "WATERMARK", "PROOF", "MyBrand"])
    color = rng.choice([(0, 0, 0), (255, 255, 255), (90, 90, 90), (200, 20, 30)])
    alpha = int(255 * rng.uniform(0.15, 0.45))
    angle = rng.choice([0.0, 30.0, 45.0, -30.0, rng.uniform(-45, 45)])
    if rng.random() < 0.5:  # one big word across the middle, over the product
        size = max(10, round(W * rng.uniform(0.08, 0.16)))
        tile = _word_layer(txt, font(rng, size), color, alpha, angle, False)
        if tile.width >= W or tile.height >= H:
            tile = tile.resize((min(tile.width, W - 2), min(tile.height, H - 2)))
        _composite_near_middle(base, tile, rng, 10)
    else:  # tiled
        size = max(9, round(H * rng.uniform(0.035, 0.07)))
        tile = _word_layer(txt, font(rng, size), color, alpha, angle, False)
        sx, sy = int(tile.width * rng.uniform(1.3, 2.0)), int(tile.height * rng.uniform(1.5, 2.5))
        for yy in range(rng.randint(0, sy // 2), H - tile.height, sy):
            for xx in range(rng.randint(0, sx // 2), W - tile.width, sx):
                base.alpha_composite(tile, (xx, yy))
    return base.convert("RGB")


def watermark_light(im: Image.Image, rng: random.Random, props: list | None = None
                    ) -> Image.Image:
    """A light grey or white semi-transparent word, one large across the middle or tiled over
    the whole frame (the module docstring): where ``watermark`` draws black, dark grey, red or
    white, a mark of a mid-to-light grey is darker than a white backdrop and lighter than most
    products, so it is neither a white nor a black layer over them."""
    base = im.convert("RGBA")
    W, H = base.size
    txt = rng.choice(["SAMPLE", "(c) MyShop", "MYSHOP", "PREVIEW", "shop.example.com",
                      "COPYRIGHT", "Brand Store"])
    g = 255 if rng.random() < 0.3 else rng.randint(170, 235)
    alpha = int(255 * rng.uniform(0.15, 0.35))
    angle = rng.choice([0.0, 30.0, -30.0, 45.0, rng.uniform(-45, 45)])
    bold = rng.random() < 0.5
    if rng.random() < 0.6:  # one large word across the middle
        size = max(10, round(W * rng.uniform(0.12, 0.22)))
        f = _bold_font(rng, size) if bold else font(rng, size)
        tile = _word_layer(txt, f, (g, g, g), alpha, angle, False)
        if tile.width >= W or tile.height >= H:
            k = min((W - 2) / tile.width, (H - 2) / tile.height)
            tile = tile.resize((max(1, int(tile.width * k)), max(1, int(tile.height * k))))
        _composite_near_middle(base, tile, rng, 12)
    else:  # tiled over the whole frame, rows offset (the tiles do not overlap: pasted whole)
        size = max(9, round(H * rng.uniform(0.03, 0.06)))
        f = _bold_font(rng, size) if bold else font(rng, size)
        tile = _word_layer(txt, f, (g, g, g), alpha, angle, False)
        sx = int(tile.width * rng.uniform(1.2, 1.8))
        sy = int(tile.height * rng.uniform(1.3, 2.2))
        layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
        for r, yy in enumerate(range(-sy // 2, H, sy)):
            for xx in range(-sx + (r % 2) * sx // 2, W, sx):
                layer.paste(tile, (xx, yy))
        base.alpha_composite(layer)
    return base.convert("RGB")


def rotated_fill(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """The photo turned in its own canvas, the uncovered corners filled (module docstring)."""
    angle = rng.uniform(1.5, 15.0) * rng.choice([-1, 1])
    r = rng.random()
    fill = ((0, 0, 0) if r < 0.6 else (rng.randint(20, 90),) * 3 if r < 0.8
            else tuple(rng.randint(0, 255) for _ in range(3)))
    return im.convert("RGB").rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=fill)


# A text recipe nothing was fitted or tuned on (the verifiers were fitted on ``text`` and
# ``watermark``: DejaVu and Liberation faces, the WORDS above, plain or outlined): other faces
# (matplotlib's STIX and Computer Modern), other words, and styles sellers use that ``text`` never
# draws (a drop shadow, a banner strip across the photo, a two-line price tag). It measures how
# far the text finder carries past the recipe it learnt from, as another store's overlays would.
UNSEEN_WORDS = ["Summer Collection", "NEU", "Oferta", "XL", "EUR 24,90", "Limited Edition",
                "Bestseller 2026", "Handmade", "ECO", "Top Rated", "PROMO", "Free returns",
                "Size M-XXL", "Nuevo", "Soldes -40", "Express delivery", "VEGAN", "Set of 3"]


@lru_cache(maxsize=1)
def unseen_font_files() -> tuple[Path, ...]:
    """matplotlib's STIX and Computer Modern text faces (none of them in :func:`font_files`)."""
    try:
        import matplotlib
    except Exception:  # pragma: no cover - matplotlib is a dependency of the dashboard
        return ()
    d = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"
    names = ["STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
             "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmti10.ttf",
             "cmtt10.ttf"]
    return tuple(d / n for n in names if (d / n).is_file())


def _unseen_font(rng: random.Random, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    files = unseen_font_files()
    return (ImageFont.truetype(str(rng.choice(files)), size) if files
            else ImageFont.load_default(size=size))


def _contrast(color: tuple[int, int, int]) -> tuple[int, int, int]:
    return (255, 255, 255) if sum(color) < 3 * 128 else (20, 20, 20)


def _styled_word(rng: random.Random, W: int, H: int) -> Image.Image:
    """One word or tag in one of four styles, as an RGBA tile (the banner spans 60-100% of W)."""
    size = max(9, round(H * rng.uniform(0.03, 0.09)))
    f = _unseen_font(rng, size)
    txt = rng.choice(UNSEEN_WORDS)
    color = rng.choice(COLORS)
    alpha = int(255 * rng.uniform(0.6, 1.0))
    angle = rng.choice([0.0, 0.0, rng.uniform(-20, 20)])
    style = rng.choice(["plain", "shadow", "banner", "tag"])
    if style == "plain":
        return _word_layer(txt, f, color, alpha, angle, False)
    if style == "shadow":  # a soft dark (or light) copy offset down-right, the word over it
        word = _word_layer(txt, f, color, alpha, 0.0, False)
        off = max(1, round(size / 12))
        sh = _word_layer(txt, f, _contrast(color), int(alpha * 0.8), 0.0, False)
        sh = sh.filter(ImageFilter.GaussianBlur(max(0.5, size / 25)))
        tile = Image.new("RGBA", (word.width + off, word.height + off), (0, 0, 0, 0))
        tile.alpha_composite(sh, (off, off))
        tile.alpha_composite(word, (0, 0))
        return tile.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC) if angle else tile
    d0 = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    if style == "banner":  # a semi-opaque strip with the word centred on it
        bw = round(W * rng.uniform(0.6, 1.0))
        bh = round(size * rng.uniform(1.5, 2.2))
        tile = Image.new("RGBA", (bw, bh), (*color, int(255 * rng.uniform(0.5, 0.9))))
        box = d0.textbbox((0, 0), txt, font=f)
        ImageDraw.Draw(tile).text(((bw - (box[2] - box[0])) // 2 - box[0],
                                   (bh - (box[3] - box[1])) // 2 - box[1]), txt, font=f,
                                  fill=(*_contrast(color), 255))
        return tile
    # tag: two lines (a word and a price) in a filled rounded box
    lines = [txt, rng.choice(["EUR 24,90", "19.99", "2 x 9,50", "from 12"])]
    boxes = [d0.textbbox((0, 0), t, font=f) for t in lines]
    tw = max(b[2] - b[0] for b in boxes)
    lh = max(b[3] - b[1] for b in boxes)
    pad = max(3, size // 3)
    tile = Image.new("RGBA", (tw + 2 * pad, 2 * lh + 3 * pad), (0, 0, 0, 0))
    d = ImageDraw.Draw(tile)
    d.rounded_rectangle([0, 0, tile.width - 1, tile.height - 1], radius=pad, fill=(*color, alpha))
    for i, (t, b) in enumerate(zip(lines, boxes, strict=True)):
        d.text((pad - b[0], pad + i * (lh + pad) - b[1]), t, font=f, fill=(*_contrast(color), 255))
    return tile.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC) if angle else tile


def text_unseen(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """1-2 words or tags of the unseen recipe (above) anywhere on the photo."""
    base = im.convert("RGBA")
    W, H = base.size
    for _ in range(rng.choice([1, 1, 2])):
        tile = _styled_word(rng, W, H)
        if tile.width >= W or tile.height >= H:
            tile = tile.resize((min(tile.width, W - 2), min(tile.height, H - 2)))
        x, y = rng.randint(0, W - tile.width), rng.randint(0, H - tile.height)
        base.alpha_composite(tile, (x, y))
    return base.convert("RGB")


def badge(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    base = im.convert("RGBA")
    W, H = base.size
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    r = round(min(W, H) * rng.uniform(0.06, 0.12))
    m = round(min(W, H) * rng.uniform(0.01, 0.05))
    cx = rng.choice([r + m, W - r - m])
    cy = rng.choice([r + m, H - r - m])
    fill = rng.choice([(200, 20, 30), (255, 140, 0), (20, 120, 60), (20, 40, 160), (0, 0, 0)])
    shape = rng.choice(["disc", "rect", "ribbon"])
    if shape == "disc":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(*fill, 255))
    elif shape == "rect":
        d.rounded_rectangle([cx - r, cy - r * 0.6, cx + r, cy + r * 0.6], radius=r // 5,
                            fill=(*fill, 255))
    else:
        d.rectangle([cx - 1.4 * r, cy - r * 0.4, cx + 1.4 * r, cy + r * 0.4], fill=(*fill, 255))
    f = font(rng, max(9, round(r * rng.uniform(0.4, 0.6))))
    txt = rng.choice(["NEW", "SALE", "-20%", "TOP", "HOT", "BEST"])
    box = d.textbbox((0, 0), txt, font=f)
    d.text((cx - (box[2] - box[0]) // 2 - box[0], cy - (box[3] - box[1]) // 2 - box[1]), txt,
           font=f, fill=(255, 255, 255, 255))
    return Image.alpha_composite(base, layer).convert("RGB")


def _spot_on_product(a: np.ndarray, rng: random.Random, lo: float, hi: float
                     ) -> tuple[int, int, float]:
    """(x, y, radius) of a sticker on the product of ``a`` (the salient-object mask, u2netp; the
    whole frame without one): the radius ``lo``-``hi`` of the product's long side (at least 4
    px), the centre halfway between a random product pixel and the product's centroid."""
    fg = _cut_probability(a) > 0.5
    ys, xs = np.nonzero(fg) if fg.any() else np.nonzero(np.ones(fg.shape, bool))
    long_side = max(int(ys.max() - ys.min()), int(xs.max() - xs.min())) + 1
    r = max(4.0, rng.uniform(lo, hi) * long_side)
    i = rng.randrange(len(ys))
    return int(0.5 * xs[i] + 0.5 * xs.mean()), int(0.5 * ys[i] + 0.5 * ys.mean()), r


def sticker(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """An emoji or a sticker pasted over the product, no letters on it: a smiley, a heart, a
    star or a plain disc, flat-coloured, 8-20% of the product's long side across, its outline
    darker or white a third of the time each, centred on the product (the salient-object mask,
    u2netp), as sellers hide a face or a logo. Added 2026-12-07 from a tenth new user's try, a
    family the overlays check did not find (its badge finder wants letters on a plate), found
    since 2026-12-07 (later) by its sticker finder (README, "Stickers with no letters")."""
    base = im.convert("RGB")
    cx, cy, r = _spot_on_product(np.asarray(base), rng, 0.04, 0.10)
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    kind = rng.choice(["smiley", "heart", "star", "disc"])
    fill = {"smiley": (255, 204, 40), "heart": rng.choice([(230, 30, 60), (255, 105, 180)]),
            "star": rng.choice([(255, 200, 0), (255, 165, 0)]),
            "disc": (rng.randrange(256), rng.randrange(256), rng.randrange(256))}[kind]
    edge = rng.choice([None, tuple(int(c * 0.6) for c in fill), (255, 255, 255)])
    width = max(1, round(r / 12))
    if kind == "heart":
        t = np.linspace(0, 2 * math.pi, 120)
        pts = [(cx + r * 16 * math.sin(v) ** 3 / 16,
                cy - r * (13 * math.cos(v) - 5 * math.cos(2 * v) - 2 * math.cos(3 * v)
                          - math.cos(4 * v)) / 16) for v in t]
    elif kind == "star":
        pts = [(cx + (r if k % 2 == 0 else 0.45 * r) * math.cos(-math.pi / 2 + k * math.pi / 5),
                cy + (r if k % 2 == 0 else 0.45 * r) * math.sin(-math.pi / 2 + k * math.pi / 5))
               for k in range(10)]
    else:
        pts = None
    if pts is None:
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(*fill, 255),
                  outline=None if edge is None else (*edge, 255), width=width)
    else:
        d.polygon(pts, fill=(*fill, 255), outline=None if edge is None else (*edge, 255),
                  width=width)
    if kind == "smiley":  # eyes and a smile, the face's dark marks
        for ex in (-1, 1):
            d.ellipse([cx + ex * r / 3 - r / 10, cy - r / 4 - r / 6, cx + ex * r / 3 + r / 10,
                       cy - r / 4 + r / 6], fill=(60, 40, 20, 255))
        d.arc([cx - r / 2, cy - r / 5, cx + r / 2, cy + r / 2], 20, 160, fill=(60, 40, 20, 255),
              width=max(1, round(r / 10)))
    return Image.alpha_composite(base.convert("RGBA"), layer).convert("RGB")


EMOJI_COLOURS = [(255, 204, 77), (244, 144, 12), (221, 46, 68), (244, 171, 186),
                 (170, 142, 214), (120, 177, 89), (85, 172, 238), (255, 255, 255)]


def emoji(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A phone's emoji or an app's sticker pasted over the product, no letters on it: a second
    recipe for ``sticker`` that nothing was chosen on (2026-12-07, later). Phone emoji are
    shaded: a disc (a face half of the time: eyes and a mouth), a heart, a star of any
    sharpness or a rounded square, 6-24% of the product's long side across, turned to any angle,
    in an emoji palette colour (white too), lit by a radial or a top-down gradient of 0-45% of
    its level (0: flat, as ``sticker``), a white cut line around it a third of the time and a
    soft drop shadow a third of the time; centred on the product (the salient-object mask,
    u2netp), drawn at 4x and shrunk (anti-aliased)."""
    base = im.convert("RGB")
    cx, cy, r = _spot_on_product(np.asarray(base), rng, 0.03, 0.12)
    kind = rng.choice(["face", "disc", "heart", "star", "square"])
    turn = rng.uniform(-math.pi, math.pi) if kind in ("star", "square") else rng.uniform(-0.4, 0.4)
    S = 4  # supersampling
    side = int(2 * r * 1.6) + 4
    c0 = side * S / 2.0
    R = r * S

    def rot(px: float, py: float) -> tuple[float, float]:
        return (c0 + px * math.cos(turn) - py * math.sin(turn),
                c0 + px * math.sin(turn) + py * math.cos(turn))

    shape = Image.new("L", (side * S, side * S), 0)
    d = ImageDraw.Draw(shape)
    if kind in ("face", "disc"):
        d.ellipse([c0 - R, c0 - R, c0 + R, c0 + R], fill=255)
    elif kind == "heart":
        t = np.linspace(0, 2 * math.pi, 160)
        d.polygon([rot(R * math.sin(v) ** 3,
                       -R * (13 * math.cos(v) - 5 * math.cos(2 * v) - 2 * math.cos(3 * v)
                             - math.cos(4 * v)) / 16) for v in t], fill=255)
    elif kind == "star":
        inner = rng.uniform(0.38, 0.55)
        d.polygon([rot((R if k % 2 == 0 else inner * R) * math.cos(-math.pi / 2 + k * math.pi / 5),
                       (R if k % 2 == 0 else inner * R) * math.sin(-math.pi / 2 + k * math.pi / 5))
                   for k in range(10)], fill=255)
    else:
        q = 0.8 * R
        d.polygon([rot(x, y) for x, y in ((-q, -q), (q, -q), (q, q), (-q, q))], fill=255)
        # rounded corners: the square blurred and cut again at half
        shape = shape.filter(ImageFilter.GaussianBlur(0.15 * R)).point(
            lambda v: 255 if v >= 128 else 0)
    m = np.asarray(shape).astype(np.float32) / 255.0
    # the light: a radial gradient from a highlight up and to the left, or top-down
    yy, xx = np.mgrid[0:side * S, 0:side * S].astype(np.float32)
    strength = rng.choice([0.0, rng.uniform(0.05, 0.45), rng.uniform(0.05, 0.45)])
    if rng.random() < 0.5:
        hx, hy = c0 - 0.35 * R, c0 - 0.45 * R
        dist = np.hypot(xx - hx, yy - hy) / (1.8 * R)
    else:
        dist = (yy - (c0 - R)) / (2 * R)
    shade = 1.0 + strength * (0.5 - np.clip(dist, 0.0, 1.0))
    fill = np.array(rng.choice(EMOJI_COLOURS), np.float32)
    rgb = np.clip(fill[None, None] * shade[..., None], 0, 255)
    if kind == "face":  # eyes and a mouth, the face's dark marks
        marks = Image.new("L", shape.size, 0)
        dm = ImageDraw.Draw(marks)
        for ex in (-1, 1):
            dm.ellipse([c0 + ex * R / 3 - R / 9, c0 - R / 4 - R / 5, c0 + ex * R / 3 + R / 9,
                        c0 - R / 4 + R / 5], fill=255)
        dm.arc([c0 - R / 2, c0 - R / 4, c0 + R / 2, c0 + R / 2], 20, 160, fill=255,
               width=max(1, round(R / 9)))
        mk = np.asarray(marks).astype(np.float32)[..., None] / 255.0
        rgb = rgb * (1 - mk) + np.array([102, 69, 0], np.float32) * mk
    alpha = m
    if rng.random() < 1 / 3:  # a sticker app's white cut line around the shape
        grown = np.asarray(shape.filter(ImageFilter.MaxFilter(2 * max(1, round(R / 10)) + 1)))
        ring = (grown.astype(np.float32) / 255.0) * (1 - m)
        rgb = rgb * (1 - ring[..., None]) + 255.0 * ring[..., None]
        alpha = np.maximum(m, ring)
    layer = np.dstack([rgb, 255.0 * alpha]).astype(np.uint8)
    small = Image.fromarray(layer, "RGBA").resize((side, side), Image.Resampling.LANCZOS)
    out = base.convert("RGBA")
    x0, y0 = int(cx - side / 2), int(cy - side / 2)
    if rng.random() < 1 / 3:  # a soft drop shadow under it
        sh = np.asarray(small)[..., 3].astype(np.float32) * rng.uniform(0.25, 0.5)
        shadow = Image.new("RGBA", small.size, (0, 0, 0, 0))
        shadow.putalpha(Image.fromarray(sh.astype(np.uint8), "L").filter(
            ImageFilter.GaussianBlur(max(1.0, r / 8))))
        off = max(1, round(r / 10))
        layer_im = Image.new("RGBA", out.size, (0, 0, 0, 0))
        layer_im.paste(shadow, (x0 + off, y0 + off))  # paste clips at the frame
        out = Image.alpha_composite(out, layer_im)
    layer_im = Image.new("RGBA", out.size, (0, 0, 0, 0))
    layer_im.paste(small, (x0, y0))
    return Image.alpha_composite(out, layer_im).convert("RGB")


def _qr(rng: random.Random) -> np.ndarray:
    """A QR-like symbol (True = dark module): 21-41 modules of random data with the three
    nested-square finder patterns, their light separators and the two timing rows."""
    n = rng.choice([21, 25, 29, 33, 37, 41])
    m = np.array([[rng.random() < 0.5 for _ in range(n)] for _ in range(n)])
    m[6, :] = m[:, 6] = np.arange(n) % 2 == 0
    ring = np.zeros((9, 9), bool)  # the 7 x 7 finder inside a light one-module separator
    ring[1:8, 1:8] = True
    ring[2:7, 2:7] = False
    ring[3:6, 3:6] = True
    for y, x in ((0, 0), (0, n - 7), (n - 7, 0)):
        y0, x0 = max(0, y - 1), max(0, x - 1)
        y1, x1 = min(n, y + 8), min(n, x + 8)
        m[y0:y1, x0:x1] = ring[y0 - y + 1:y1 - y + 1, x0 - x + 1:x1 - x + 1]
    return m


def _datamatrix(rng: random.Random) -> np.ndarray:
    """A Data Matrix-like symbol: 12-26 modules, a solid L on two sides and alternating clock
    modules on the other two."""
    n = rng.choice([12, 14, 16, 18, 20, 22, 24, 26])
    m = np.array([[rng.random() < 0.5 for _ in range(n)] for _ in range(n)])
    m[:, 0] = m[-1, :] = True
    m[0, :] = np.arange(n) % 2 == 0
    m[:, -1] = np.arange(n) % 2 == 1
    return m


def _barcode(rng: random.Random) -> np.ndarray:
    """An EAN-like row of bars (True = dark): guard bars and 12 digits of 7 modules each, every
    digit two bars and two spaces of 1-4 modules."""
    mods = [True, False, True]
    for i in range(12):
        widths = [1, 1, 1, 1]
        for _ in range(3):
            widths[rng.randrange(4)] += 1
        first = i >= 6  # the right half starts with a bar
        for k, w in enumerate(widths):
            mods += [(k % 2 == 0) == first] * w
        if i == 5:
            mods += [False, True, False, True, False]
    mods += [True, False, True]
    return np.array(mods, bool)


def _code_symbol(rng: random.Random, side: int) -> Image.Image:
    """A printed code sticker about ``side`` px on its long side: a QR, Data Matrix or EAN
    barcode (digits under it), dark ink on a light label, sometimes with a caption or an outline,
    sometimes turned."""
    ink = rng.choice([(0, 0, 0), (20, 20, 20), (30, 40, 90), (60, 60, 60)])
    paper = rng.choice([(255, 255, 255), (250, 248, 240), (240, 240, 240)])
    kind = rng.choice(["qr", "qr", "datamatrix", "barcode", "barcode"])
    if kind == "barcode":
        bars = _barcode(rng)
        mod = max(1, round(side / (len(bars) + 14)))
        h = round(len(bars) * mod * rng.uniform(0.35, 0.7))
        q = 7 * mod
        digits = round(h * 0.25)
        im = Image.new("RGB", (len(bars) * mod + 2 * q, h + 2 * mod + digits + mod), paper)
        a = np.asarray(im).copy()
        a[mod:mod + h, q:q + len(bars) * mod][:, np.repeat(bars, mod)] = ink
        im = Image.fromarray(a)
        d = ImageDraw.Draw(im)
        f = font(rng, max(8, digits))
        d.text((q, mod + h + 1), "".join(str(rng.randrange(10)) for _ in range(13)), font=f,
               fill=ink)
    else:
        m = _qr(rng) if kind == "qr" else _datamatrix(rng)
        qz = rng.choice([1, 2, 4])
        mod = max(1, round(side / (len(m) + 2 * qz)))
        big = np.kron(m, np.ones((mod, mod), bool))
        a = np.zeros((big.shape[0] + 2 * qz * mod, big.shape[1] + 2 * qz * mod, 3), np.uint8)
        a[:] = paper
        a[qz * mod:qz * mod + big.shape[0], qz * mod:qz * mod + big.shape[1]][big] = ink
        im = Image.fromarray(a)
        if rng.random() < 0.3:  # a caption under it: "Scan me", a SKU
            f = font(rng, max(8, im.height // 8))
            txt = rng.choice(["Scan me", "SKU 48213", "myshop.com", "Scan for offer"])
            cap = Image.new("RGB", (im.width, im.height + im.height // 6), paper)
            cap.paste(im, (0, 0))
            ImageDraw.Draw(cap).text((mod, im.height), txt, font=f, fill=ink)
            im = cap
    if rng.random() < 0.3:
        ImageDraw.Draw(im).rectangle([0, 0, im.width - 1, im.height - 1], outline=(180, 180, 180))
    scale = side / max(im.size)
    im = im.resize((max(8, round(im.width * scale)), max(8, round(im.height * scale))),
                   Image.Resampling.LANCZOS)
    if rng.random() < 0.4:
        im = im.convert("RGBA").rotate(rng.uniform(-25, 25), resample=Image.Resampling.BICUBIC,
                                       expand=True)
    return im.convert("RGBA")


def code(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A QR code, Data Matrix or barcode sticker pasted on the photo's backdrop (a new user's
    shop QR in a corner was graded A or B 7 times in 8): 6-20% of the short side, in a corner
    (1-5% from its edges) or anywhere beside the product, never over it (a barcode printed on a
    package is the product's own)."""
    base = im.convert("RGB")
    W, H = base.size
    sym = _code_symbol(rng, round(min(W, H) * rng.uniform(0.06, 0.2)))
    w, h = sym.size
    m = round(min(W, H) * rng.uniform(0.01, 0.05))
    x0, y0, x1, y1 = _product_box(base)
    spots = [(x, y) for x in (m, W - w - m) for y in (m, H - h - m)]
    if rng.random() < 0.4:  # beside the product: a free spot on the backdrop
        free = [(x, y) for _ in range(40)
                for x, y in [(rng.randrange(0, max(1, W - w)), rng.randrange(0, max(1, H - h)))]
                if x + w < x0 or x > x1 or y + h < y0 or y > y1]
        spots = free[:1] or spots
    x, y = rng.choice(spots)
    out = base.copy()
    out.paste(sym, (x, y), sym)
    return out


DIM_COLOURS = [(0, 0, 0), (70, 70, 70), (130, 130, 130), (200, 30, 40), (30, 70, 190),
               (235, 120, 20), (20, 140, 70)]


def _arrow_end(a: np.ndarray, tip: np.ndarray, back: np.ndarray, t: int, style: str,
               colour: tuple[int, int, int], rng: random.Random) -> None:
    """An end mark of a dimension line at ``tip`` (the line runs from ``back`` to it): a filled
    or open arrowhead, or a tick across the line."""
    d = (tip - back) / max(1e-6, float(np.hypot(*(tip - back))))
    n = np.array([-d[1], d[0]])
    if style == "tick":
        half = max(3.0, 3 * t * rng.uniform(1.5, 3.0))
        p, q = tip + n * half, tip - n * half
        cv2.line(a, (round(p[0]), round(p[1])), (round(q[0]), round(q[1])), colour, t,
                 cv2.LINE_AA)
        return
    length = max(6.0, t * rng.uniform(4, 8))
    width = max(3.0, t * rng.uniform(2, 4))
    base = tip - d * length
    left, right = base + n * width, base - n * width
    if style == "filled":
        pts = np.round(np.array([tip, left, right])).astype(np.int32)
        cv2.fillPoly(a, [pts], colour, cv2.LINE_AA)
    else:  # an open V
        for s in (left, right):
            cv2.line(a, (round(tip[0]), round(tip[1])), (round(s[0]), round(s[1])), colour, t,
                     cv2.LINE_AA)


def dimension(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """Dimension lines with no label (a third new user's measurement arrows: 4 of 4 graded A):
    the product's width (a line above or below it) and/or its height (left or right of it),
    1-4 px a 1000 px side, black, grey or a colour, ending in filled or open arrowheads or
    ticks, with extension lines from the product's edges half of the time. Each line sits 2-8%
    of the short side off the product's box; where the frame has no room for that, the photo is
    first shrunk onto a canvas of its backdrop's colour (as a seller makes room in an editor)."""
    base = im.convert("RGB")
    W, H = base.size
    short = min(W, H)
    t = max(1, round(rng.uniform(1, 4) * max(W, H) / 1000))
    colour = rng.choice(DIM_COLOURS)
    style = rng.choice(["filled", "filled", "open", "tick"])
    ext = rng.random() < 0.5
    dims = [(d, rng.randint(0, 1)) for d in rng.choice([["w"], ["h"], ["w", "h"]])]
    gaps = [short * rng.uniform(0.02, 0.08) for _ in dims]
    x0, y0, x1, y1 = _product_box(base)
    need = max(g + short * 0.03 for g in gaps)
    rooms = [(y0 if sd == 0 else H - y1) if d == "w" else (x0 if sd == 0 else W - x1)
             for d, sd in dims]
    if min(rooms) < need:  # shrink onto a canvas of the backdrop's colour to make room
        f = max(0.6, min(0.95, 1 - 2 * (need - min(rooms)) / short)) * rng.uniform(0.92, 1.0)
        sw, sh = max(4, round(W * f)), max(4, round(H * f))
        canvas = Image.new("RGB", (W, H), border_median_rgb(np.asarray(base)))
        ox, oy = (W - sw) // 2, (H - sh) // 2
        canvas.paste(base.resize((sw, sh), Image.Resampling.LANCZOS), (ox, oy))
        base = canvas
        x0, y0 = ox + round(x0 * f), oy + round(y0 * f)
        x1, y1 = ox + round(x1 * f), oy + round(y1 * f)
    a = np.ascontiguousarray(np.asarray(base)).copy()
    for (dim, side), gap in zip(dims, gaps, strict=True):
        lo, hi = (y0, y1) if dim == "w" else (x0, x1)
        size = H if dim == "w" else W
        room = lo if side == 0 else size - hi
        gap = min(gap, max(2.0 * t, room * 0.6))
        pos = round(lo - gap) if side == 0 else round(hi + gap)
        pos = min(max(pos, 2 * t + 2), size - 3 - 2 * t)
        if dim == "w":
            p, q = np.array([x0, pos], float), np.array([x1, pos], float)
            edge = y0 if side == 0 else y1
        else:
            p, q = np.array([pos, y0], float), np.array([pos, y1], float)
            edge = x0 if side == 0 else x1
        cv2.line(a, (round(p[0]), round(p[1])), (round(q[0]), round(q[1])), colour, t,
                 cv2.LINE_AA)
        for tip, back in ((p, q), (q, p)):
            _arrow_end(a, tip, back, t, style, colour, rng)
        if ext:  # extension lines from the product's edge past the dimension line
            over = round(short * 0.015)
            for e in (p, q):
                end = pos - over if side == 0 else pos + over
                s0, s1 = ((round(e[0]), edge), (round(e[0]), end)) if dim == "w" else (
                    (edge, round(e[1])), (end, round(e[1])))
                cv2.line(a, s0, s1, colour, max(1, t // 2), cv2.LINE_AA)
    return Image.fromarray(a)


def _before(a: np.ndarray, rng: random.Random) -> np.ndarray:
    """A "before" look for one half of a before/after split (float RGB 0-255 in and out): dull
    (colour and contrast drained toward the half's mean, darker), soiled (a yellow-brown cast,
    darker), dim and grainy (1-2 stops darker, sensor noise) or soft and dull (blurred a little,
    then dulled). Each changes colour or brightness, as a worn or dirty product's photo does."""
    kind = rng.choice(["dull", "soiled", "dim", "soft"])
    if kind == "soft":
        s = max(0.7, rng.uniform(1.5, 4.0) * max(a.shape[:2]) / 1000)
        a = cv2.GaussianBlur(a, (0, 0), s)
    if kind in ("dull", "soft"):
        grey = a.mean(axis=2, keepdims=True)
        a = a + rng.uniform(0.4, 0.9) * (grey - a)  # colour drained
        m = a.mean()
        a = m + rng.uniform(0.55, 0.85) * (a - m)   # contrast flattened
        a = a * rng.uniform(0.75, 1.0)
    elif kind == "soiled":
        a = a * np.array([1.0, rng.uniform(0.85, 0.95), rng.uniform(0.6, 0.8)]) * rng.uniform(
            0.7, 0.92)
    else:  # dim and grainy
        lin = srgb_to_linear(np.clip(a, 0, 255) / 255.0) * 2.0 ** -rng.uniform(1.0, 2.0)
        a = linear_to_srgb(lin) * 255.0
        a = _noise(a, rng, rng.uniform(3, 8))
    return np.clip(a, 0, 255)


def _divider(a: np.ndarray, at: int, vertical: bool, rng: random.Random,
             colours: list[tuple[int, int, int]]) -> None:
    """A divider drawn in place across ``a`` (uint8 RGB) along the column (``vertical``) or row
    ``at``: 0.3-1.5% of the frame's side across it, at least 1 px, in one of ``colours``."""
    t = max(1, round(rng.uniform(0.003, 0.015) * (a.shape[1] if vertical else a.shape[0])))
    colour = rng.choice(colours)
    c0 = at - t // 2
    if vertical:
        a[:, max(0, c0):c0 + t] = colour
    else:
        a[max(0, c0):c0 + t, :] = colour


def split(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A before/after split (a third new user's, 8 of 8 graded A): the frame cut in two by a
    straight line through the product (vertical 70% of the time, else horizontal; at 35-65% of
    the product's extent), one side given a "before" look (:func:`_before`: dull, soiled, dim
    or soft) over its whole half, backdrop included, as a second photo would be, or (half of
    the time) on the product alone, the photo's pixels off its near-white backdrop, as an
    editor would do it (on a photo with no white backdrop that is the whole half again); a
    divider 3 times in 4 (0.3-1.5% of the side, at least 1 px; white, black, grey or a colour)
    drawn from edge to edge. No "before"/"after" words: the text finder's to find."""
    a = np.asarray(im.convert("RGB")).astype(np.float32)
    x0, y0, x1, y1 = _product_box(im)
    vertical = rng.random() < 0.7
    lo, hi = (x0, x1) if vertical else (y0, y1)
    cut = round(lo + (hi - lo) * rng.uniform(0.35, 0.65))
    side = rng.randint(0, 1)
    if vertical:
        sl = np.s_[:, :cut] if side == 0 else np.s_[:, cut:]
    else:
        sl = np.s_[:cut, :] if side == 0 else np.s_[cut:, :]
    dull = _before(a[sl].copy(), rng)
    if rng.random() < 0.5:  # the product alone: its pixels off the near-white backdrop
        prod = cv2.morphologyEx((a[sl].min(axis=2) < 235).astype(np.uint8), cv2.MORPH_CLOSE,
                                np.ones((5, 5), np.uint8)).astype(np.float32)
        w8 = cv2.GaussianBlur(prod, (0, 0), 1.0)[..., None]
        dull = w8 * dull + (1 - w8) * a[sl]
    a[sl] = dull
    out = np.clip(np.round(a), 0, 255).astype(np.uint8)
    if rng.random() < 0.75:
        _divider(out, cut, vertical, rng, [(255, 255, 255), (255, 255, 255), (0, 0, 0),
                                           (128, 128, 128), *DIM_COLOURS])
    return Image.fromarray(out)


def _panel(p: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``p`` shrunk to fit ``size`` and padded to it with its own backdrop's colour (the median
    of its outer 2%)."""
    s = min(size[0] / p.width, size[1] / p.height)
    q = p.resize((max(1, round(p.width * s)), max(1, round(p.height * s))),
                 Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", size, border_median_rgb(np.asarray(p)))
    canvas.paste(q, ((size[0] - q.width) // 2, (size[1] - q.height) // 2))
    return canvas


def collage(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """Two pictures of the product joined, side by side (60% of the time) or stacked, as a
    seller's before/after or two-view collage: the photo and, in either order, a "before" copy
    of it (:func:`_before`) or a detail shot (the centre 55-80% of it, enlarged), each shrunk to
    fill its half of the frame and padded with its own backdrop's colour; a divider along the
    seam half of the time (0.3-1.5% of the side, at least 1 px; white, black, grey or a
    colour). Two copies of one white-backdrop photo with no divider would be the ``pair``
    family's control, so the second picture always differs."""
    base = im.convert("RGB")
    W, H = base.size
    wide = rng.random() < 0.6
    if rng.random() < 0.5:
        second = Image.fromarray(np.clip(np.round(_before(
            np.asarray(base).astype(np.float32), rng)), 0, 255).astype(np.uint8))
    else:
        f = rng.uniform(0.55, 0.8)
        cw, ch = round(W * f), round(H * f)
        x0, y0 = (W - cw) // 2, (H - ch) // 2
        second = base.crop((x0, y0, x0 + cw, y0 + ch))
    panels = [base, second] if rng.random() < 0.5 else [second, base]
    half = (W // 2, H) if wide else (W, H // 2)
    canvas = Image.new("RGB", (W, H), (255, 255, 255))
    canvas.paste(_panel(panels[0], half), (0, 0))
    canvas.paste(_panel(panels[1], (W - half[0], H) if wide else (W, H - half[1])),
                 (half[0], 0) if wide else (0, half[1]))
    if rng.random() < 0.5:
        a = np.asarray(canvas).copy()
        _divider(a, half[0] if wide else half[1], wide, rng,
                 [(255, 255, 255), (0, 0, 0), (128, 128, 128), *DIM_COLOURS])
        canvas = Image.fromarray(a)
    return canvas


# name -> (generator, check that should see it, flag codes that count as a hit)
BLUR_FAMILIES = ["gauss", "defocus", "half_defocus", "focus_falloff", "motion", "shake",
                 "upscale", "enlarged",
                 "pixelated", "jpeg", "jpeg_file", "noise", "lowlight"]
PROPS_FAMILIES = ["props_beside", "props_behind", "props_overlap"]
OVERLAY_FAMILIES = ["text", "watermark", "badge", "frame", "inset"]

# A shop's small print: a copyright line, its web address, a SKU (text_corner).
CORNER_WORDS = ["(c) 2024 MyShop", "www.myshop.com", "SKU 48213", "@myshop_official",
                "Free shipping!", "shop.example.com", "Photo: MyShop", "Item 1029-B"]


def text_corner(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A shop's small print in a corner: one short line 1.2-2.5% of the height (a copyright,
    a web address, a SKU) in black, grey or a brand colour, 1-4% of the side from the corner's
    edges; fully opaque, no angle. The ``text`` family's words are 3-10% of the height: a new
    user's 16-20 px copyright on a 1500 px photo was missed 3 times in 10."""
    base = im.convert("RGBA")
    W, H = base.size
    size = max(8, round(H * rng.uniform(0.012, 0.025)))
    tile = _word_layer(rng.choice(CORNER_WORDS), font(rng, size),
                       rng.choice([(0, 0, 0), (90, 90, 90), (200, 20, 30), (20, 40, 160)]),
                       255, 0.0, False)
    mx, my = (round(rng.uniform(0.01, 0.04) * v) for v in (W, H))
    x = mx if rng.random() < 0.5 else W - tile.width - mx
    y = my if rng.random() < 0.5 else H - tile.height - my
    base.alpha_composite(tile, (max(0, x), max(0, y)))
    return base.convert("RGB")


def date_stamp(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """A camera's date imprint in the lower right corner, as phones and compact cameras print
    it: the date in amber or orange (red 230-255, green 120-175, blue 0-60), 2.5-4% of the
    height, 2-6% of the side from the corner's edges, opaque, no angle. Amber is about as light
    as a mid-grey floor or wall (its grey level is ~140-185), so on many amateur photos the
    digits differ from their backdrop in colour only (a new user's try missed 2 of 7)."""
    base = im.convert("RGBA")
    W, H = base.size
    y, m, d = rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28)
    txt = rng.choice([f"{y}/{m:02d}/{d:02d}", f"'{y % 100:02d} {m:02d} {d:02d}",
                      f"{d:02d}.{m:02d}.{y}", f"{y}-{m:02d}-{d:02d}"])
    colour = (rng.randint(230, 255), rng.randint(120, 175), rng.randint(0, 60))
    tile = _word_layer(txt, font(rng, max(8, round(H * rng.uniform(0.025, 0.04)))), colour, 255,
                       0.0, False)
    mx, my = (round(rng.uniform(0.02, 0.06) * v) for v in (W, H))
    base.alpha_composite(tile, (max(0, W - tile.width - mx), max(0, H - tile.height - my)))
    return base.convert("RGB")


def cut_text(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """``text`` on the ``cutout`` photo (the draw goes on from the cut-out's: replaying
    ``cutout_on_white`` with the same seed gives the copy's photo without its words)."""
    return text(cutout_on_white(im, rng), rng)


def cut_watermark(im: Image.Image, rng: random.Random, props: list | None = None) -> Image.Image:
    """``watermark`` on the ``cutout`` photo (as :func:`cut_text`)."""
    return watermark(cutout_on_white(im, rng), rng)


GENERATORS = {
    "gauss": gauss, "defocus": defocus, "half_defocus": half_defocus,
    "focus_falloff": focus_falloff, "motion": motion,
    "shake": shake,
    "upscale": upscale, "enlarged": enlarged,
    "pixelated": pixelated, "jpeg": jpeg,
    "jpeg_file": jpeg_file, "export": export,
    "noise": noise, "lowlight": lowlight, "overexposed": overexposed, "glare": glare,
    "denoise": denoise, "sticker": sticker, "emoji": emoji,
    "blur_noise": blur_noise, "blur_sharpened": blur_sharpened,
    "props_beside": props_beside,
    "props_behind": props_behind, "props_overlap": props_overlap, "props_none": props_none,
    "props_around": props_around,
    "pair": pair, "small": small, "banner": banner, "thin_frame": thin_frame, "drawing": drawing,
    "reflection": reflection,
    "cutout": cutout_on_white, "blur_cutout": blur_cutout, "halo": halo,
    "flash_shadow": flash_shadow,
    "feathered": feathered, "blur_feathered": blur_feathered,
    "cut_text": cut_text, "cut_watermark": cut_watermark, "text": text,
    "text_corner": text_corner, "date_stamp": date_stamp,
    "text_unseen": text_unseen,
    "watermark": watermark, "watermark_light": watermark_light, "badge": badge, "code": code,
    "dimension": dimension,
    "split": split, "collage": collage, "mono": mono, "cast": cast,
    "rotated_fill": rotated_fill,
}

# The JPEG quality a family's copy is saved at, drawn after its generator from the same seeded
# rng (every other family: 95, near-lossless, so its defect is only what the generator made).
SAVE_QUALITY = {"jpeg_file": lambda rng: rng.randint(15, 40),
                "export": lambda rng: rng.randint(55, 90),
                "mono": lambda rng: rng.randint(80, 95)}
