"""Simulated shopper photos: what a shopper's own phone photo of this product looks like.

A visual-search query is rarely a studio shot. It is a hand-held photo of the product on a shelf,
a table or a bed: smaller or larger in frame, tilted, seen at an angle, partly cut off, under warm
or cold light, slightly blurred, noisy and JPEG-compressed. This module makes such photos of the
seller's product, so the rank simulation can ask "when a shopper searches with a photo of this
product, where does this listing come up?".

The shopper photographs the *product*, not the seller's photo, so the seller's photo is first
turned into the cleanest view of the product the engine can make (:func:`product_source`): cut
out with its mask (the seller's background, clutter and framing stay behind), at a fixed product
size (``work_long_side``: the seller's framing does not decide how much detail the shopper's
camera sees), and, when its edges are blurred beyond what a sharp photo measures, deblurred
(:func:`restore_sharpness`: Wiener deconvolution by the blur the sharpness check's edge measure
finds; it removes about half of a strong blur, measured on luma photos blurred by sigma 4 px).
Otherwise the queries would depend on how the seller shot the product: a blurred upload made
blurred queries, which favoured it.

Each photo is then built by a chain of small pure functions, each taking a seeded
:class:`numpy.random.Generator` (the usual photometric/geometric augmentations of retrieval
training, e.g. Chen et al., "A simple framework for contrastive learning of visual
representations", ICML 2020, and the copy-paste augmentation of Ghiasi et al., "Simple Copy-Paste
is a Strong Data Augmentation Method for Instance Segmentation", CVPR 2021):

1. :func:`cut_out` the product with its mask (done once, in :func:`product_source`),
2. :func:`rotate` it in plane,
3. :func:`place_on_background` on a real cluttered background (shipped crops of shop shelves and
   floors, ``assets/backgrounds``) or a plain surface (:func:`plain_surface`), at a random scale,
   possibly partly outside the frame, with a soft contact shadow,
4. :func:`perspective_warp` (the camera is not square to the product),
   sometimes partly hidden by a hand or a price tag (:func:`occlude`),
5. :func:`relight` (exposure, gamma, a directional light ramp) and :func:`white_balance`,
6. :func:`phone_blur` (defocus or hand shake), sometimes :func:`low_resolution` (digital zoom),
   :func:`sensor_noise`, :func:`jpeg`.

Calibration. The photos are judged where it matters, at the embedder's input size (224 px): the
edge blur (Zhuo & Sim, as the sharpness check measures it) of real shopper photos there —
grocery in-store phone photos in ``../shared/data``: median 0.87 px, p75 0.92, p90 0.97; amateur
clothing photos 0.76 / 0.83 / 0.88 — is what the simulated photos should show. Phone blur and
digital zoom are drawn so they do (0.88 / 0.92 / 1.00 with the defaults; the earlier ranges,
sigma 0.3-2 px with 30% motion blur and 30% digital zoom, gave 1.15 / 1.33 / 1.44: queries
blurrier than real phone photos, which a blurred listing then matched best).

Every function returns new arrays; :func:`simulate_shopper_photos` is deterministic for a seed
(query ``i`` uses ``np.random.default_rng([seed, i])``, so queries do not depend on each other).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from analyzer.config import known_keys, thresholds
from analyzer.vision.edge_blur import edge_blur_sigma
from analyzer.vision.mask_ops import unit_prob

BACKGROUNDS_DIR = Path(__file__).resolve().parents[2] / "assets" / "backgrounds"


@dataclass(frozen=True)
class SimConfig:
    """Ranges of the shopper-photo generator (``search.simulation`` in thresholds.yaml)."""

    canvas_sizes: tuple[tuple[int, int], ...] = ((320, 240), (240, 320), (288, 288))
    work_long_side: int = 320
    restore: bool = True
    sharp_sigma: float = 0.95
    restore_max_sigma: float = 2.5
    restore_balance: float = 0.005
    real_background_p: float = 0.6
    fill: tuple[float, float] = (0.35, 0.85)
    partial_crop_p: float = 0.25
    partial_crop_max: float = 0.15
    rotation_sd_deg: float = 8.0
    rotation_max_deg: float = 20.0
    perspective_max: float = 0.08
    exposure_sd: float = 0.3
    gamma: tuple[float, float] = (0.8, 1.25)
    white_balance: float = 0.15
    light_gradient: float = 0.35
    blur_sigma: tuple[float, float] = (0.0, 0.6)
    motion_blur_p: float = 0.1
    motion_blur_len: tuple[int, int] = (3, 5)
    noise_sd: tuple[float, float] = (2.0, 8.0)
    jpeg_quality: tuple[int, int] = (40, 85)
    shadow_p: float = 0.5
    occlusion_p: float = 0.3
    occlusion_max: float = 0.15
    low_res_p: float = 0.1
    low_res_factor: tuple[float, float] = (0.6, 0.9)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> SimConfig:
        d = known_keys(d, {f.name for f in fields(cls)}, "thresholds.yaml search.simulation")
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in d:
                continue
            v = d[f.name]
            if f.name == "canvas_sizes":
                v = tuple(tuple(int(x) for x in s) for s in v)
            elif isinstance(v, list):
                v = tuple(v)
            kw[f.name] = v
        return cls(**kw)

    @classmethod
    def default(cls) -> SimConfig:
        return cls.from_dict((thresholds().get("search") or {}).get("simulation"))


@dataclass
class ShopperPhoto:
    """One simulated query: ``rgb`` uint8, ``mask`` float32 product probability at the same size
    (known exactly, since the product was placed there), and the drawn ``params``."""

    rgb: np.ndarray
    mask: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)


# --- backgrounds -------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _load_backgrounds_cached(folder: str, kind: str | None = None) -> tuple[np.ndarray, ...]:
    out = []
    for p in sorted(Path(folder).glob("*.jpg")) + sorted(Path(folder).glob("*.png")):
        if kind is not None and not p.name.startswith(f"{kind}_"):
            continue
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is not None:
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return tuple(out)


def load_backgrounds(folder: str | Path | None = None, kind: str | None = None
                     ) -> list[np.ndarray]:
    """The real background crops (RGB uint8) in ``folder`` (default: ``assets/backgrounds``),
    sorted by file name; an empty list when the folder is missing (plain surfaces are used).
    ``kind``: only the files named ``KIND_*`` (see :func:`background_kind`)."""
    folder = Path(folder) if folder is not None else BACKGROUNDS_DIR
    if not folder.is_dir():
        return []
    return list(_load_backgrounds_cached(str(folder.resolve()), kind))


def background_kind(category: str | None, rules: dict[str, Any] | None = None) -> str:
    """Which shipped backgrounds fit a product category: a shopper photographs groceries on
    shop shelves and in produce bins (``grocery_*``), and shoes, clothes, bags and most other
    goods on floors, beds and tables (``clothing_*``, plus the plain table/floor surfaces every
    kind gets). The category's words are matched against ``search.backgrounds.kinds`` in
    thresholds.yaml (first kind with a matching keyword wins); no match: ``default``."""
    r = rules if rules is not None else dict((thresholds().get("search") or {})
                                             .get("backgrounds") or {})
    default = str(r.get("default", "clothing"))
    words = str(category or "").lower()
    for kind, keys in (r.get("kinds") or {}).items():
        if any(str(k).lower() in words for k in keys or ()):
            return str(kind)
    return default


def plain_surface(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A table, floor or wall: a light-to-mid neutral or warm colour, a linear shading ramp and
    fine grain. ``size`` is (width, height)."""
    w, h = size
    base = rng.uniform(90, 235)
    tint = rng.normal(0.0, 14.0, size=3)  # warm wood, cool grey, beige ...
    colour = np.clip(base + tint, 30, 250)
    ang = rng.uniform(0, 2 * np.pi)
    amp = rng.uniform(0, 40)
    gx = (np.arange(w, dtype=np.float32) / w - 0.5) * np.cos(ang) * amp
    gy = (np.arange(h, dtype=np.float32) / h - 0.5) * np.sin(ang) * amp
    ramp = gy[:, None] + gx[None, :]
    grain = cv2.GaussianBlur(rng.standard_normal((h, w), dtype=np.float32) * 6, (0, 0), 1.2)
    img = colour[None, None, :].astype(np.float32) + (ramp + grain)[:, :, None]
    return np.clip(img, 0, 255).astype(np.uint8)


def background_crop(bg: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random crop of ``bg`` (random flip, 55-100% of its short side) resized to ``size``."""
    w, h = size
    bh, bw = bg.shape[:2]
    aspect = w / h
    side = rng.uniform(0.55, 1.0) * min(bh, bw)
    cw, ch = side * np.sqrt(aspect), side / np.sqrt(aspect)
    cw, ch = int(min(cw, bw)), int(min(ch, bh))
    x0 = int(rng.integers(0, bw - cw + 1))
    y0 = int(rng.integers(0, bh - ch + 1))
    crop = bg[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=cv2.INTER_LINEAR)


# --- geometry ----------------------------------------------------------------------------------

def cut_out(rgb: np.ndarray, mask: np.ndarray,
            margin: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """The product's bounding box (plus ``margin``) from ``rgb`` and its alpha in [0, 1].

    The mask is eroded by one pixel and feathered so the seller's background (often white) does
    not leave a halo around the pasted product. An empty mask keeps the whole image.
    """
    m = unit_prob(mask)
    binary = m >= 0.5
    if binary.sum() < 16:
        return rgb.copy(), np.ones(rgb.shape[:2], np.float32)
    ys, xs = np.nonzero(binary)
    h, w = binary.shape
    my, mx = int(margin * h), int(margin * w)
    y0, y1 = max(0, ys.min() - my), min(h, ys.max() + 1 + my)
    x0, x1 = max(0, xs.min() - mx), min(w, xs.max() + 1 + mx)
    alpha = cv2.erode(m[y0:y1, x0:x1], np.ones((3, 3), np.uint8))
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0)
    return rgb[y0:y1, x0:x1].copy(), np.clip(alpha, 0.0, 1.0)


def rotate(rgb: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, sd_deg: float,
           max_deg: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Rotate the cut-out in plane by N(0, sd) degrees (clipped), growing the canvas so nothing
    is lost; the new corners are transparent."""
    angle = float(np.clip(rng.normal(0.0, sd_deg), -max_deg, max_deg))
    h, w = alpha.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos + w * sin))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(rgb, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    a = cv2.warpAffine(alpha, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return out, a, angle


def place_on_background(rgb: np.ndarray, alpha: np.ndarray, bg: np.ndarray,
                        rng: np.random.Generator, fill: tuple[float, float],
                        partial_crop_p: float, partial_crop_max: float,
                        shadow_p: float) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Alpha-composite the cut-out onto ``bg`` at a random scale and position.

    The product's long side becomes ``U(fill)`` x the canvas's short side; with probability
    ``partial_crop_p`` it is shifted so up to ``partial_crop_max`` of its extent leaves the frame
    (a hurried photo). A soft, offset, darkened copy of the alpha is laid first as a contact shadow.
    Returns (rgb uint8, mask float32, params).
    """
    H, W = bg.shape[:2]
    f = float(rng.uniform(*fill))
    h, w = alpha.shape
    s = f * min(H, W) / max(h, w)
    nw, nh = max(2, int(round(w * s))), max(2, int(round(h * s)))
    # A product much wider than the canvas is shrunk to fit (fill is about the short side).
    if nw > W * 1.05 or nh > H * 1.05:
        k = min(W / nw, H / nh)
        nw, nh = max(2, int(nw * k)), max(2, int(nh * k))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    prod = cv2.resize(rgb, (nw, nh), interpolation=interp)
    a = cv2.resize(alpha, (nw, nh), interpolation=cv2.INTER_LINEAR)
    cx = W / 2 + rng.normal(0, 0.08) * W
    cy = H / 2 + rng.normal(0, 0.08) * H
    cut = 0.0
    if rng.random() < partial_crop_p:
        cut = float(rng.uniform(0.03, partial_crop_max))
        side = int(rng.integers(0, 4))
        if side == 0:
            cx = nw / 2 - cut * nw
        elif side == 1:
            cx = W - nw / 2 + cut * nw
        elif side == 2:
            cy = nh / 2 - cut * nh
        else:
            cy = H - nh / 2 + cut * nh
    else:
        cx = float(np.clip(cx, nw / 2, W - nw / 2)) if nw <= W else W / 2
        cy = float(np.clip(cy, nh / 2, H - nh / 2)) if nh <= H else H / 2
    x0, y0 = int(round(cx - nw / 2)), int(round(cy - nh / 2))

    # Paste through a full-size layer so placement partly outside the frame is simple clipping.
    layer = np.zeros((H, W, 3), np.float32)
    la = np.zeros((H, W), np.float32)
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(W, x0 + nw), min(H, y0 + nh)
    if dx1 > dx0 and dy1 > dy0:
        layer[dy0:dy1, dx0:dx1] = prod[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0]
        la[dy0:dy1, dx0:dx1] = a[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0]
    out = bg.astype(np.float32)
    if rng.random() < shadow_p:
        off = (rng.normal(0, 0.02) * W, abs(rng.normal(0.02, 0.01)) * H)
        sh = cv2.warpAffine(la, np.float32([[1, 0, off[0]], [0, 1, off[1]]]), (W, H))
        sh = cv2.GaussianBlur(sh, (0, 0), max(1.0, 0.02 * min(H, W)))
        out *= (1.0 - rng.uniform(0.2, 0.45) * sh)[:, :, None]
    out = out * (1.0 - la[:, :, None]) + layer * la[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8), la, {"fill": f, "cut": cut}


def occlude(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
            max_share: float, backgrounds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Cover part of the product with an ellipse (a hand, a price tag, a shelf edge): skin tone
    or a patch of background texture, over up to ``max_share`` of the product's box."""
    b = mask >= 0.5
    if b.sum() < 16:
        return rgb, mask
    ys = np.flatnonzero(b.any(axis=1))
    xs = np.flatnonzero(b.any(axis=0))
    bw, bh = xs[-1] + 1 - xs[0], ys[-1] + 1 - ys[0]
    share = rng.uniform(0.3, 1.0) * max_share
    ax = max(2, int(np.sqrt(share * bw * bh / np.pi) * rng.uniform(0.6, 1.6)))
    ay = max(2, int(share * bw * bh / (np.pi * ax)))
    edge = int(rng.integers(0, 4))  # hands and tags come in from an edge of the product
    cx = xs[0] if edge == 0 else xs[-1] if edge == 1 else int(rng.integers(xs[0], xs[-1] + 1))
    cy = ys[0] if edge == 2 else ys[-1] if edge == 3 else int(rng.integers(ys[0], ys[-1] + 1))
    occ = np.zeros(mask.shape, np.float32)
    cv2.ellipse(occ, (int(cx), int(cy)), (ax, ay), float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    occ = cv2.GaussianBlur(occ, (0, 0), 1.5)
    h, w = mask.shape
    if backgrounds and rng.random() < 0.5:
        fill = background_crop(backgrounds[int(rng.integers(0, len(backgrounds)))], (w, h), rng)
        fill = fill.astype(np.float32)
    else:  # skin tones: a hand holding the product
        fill = np.empty((h, w, 3), np.float32)
        fill[:] = np.array([rng.uniform(150, 235), rng.uniform(105, 180), rng.uniform(80, 150)])
    out = rgb.astype(np.float32) * (1 - occ[:, :, None]) + fill * occ[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8), mask * (1.0 - occ)


def low_resolution(rgb: np.ndarray, rng: np.random.Generator,
                   factor: tuple[float, float]) -> np.ndarray:
    """Down- and up-sample by a factor in ``factor`` (a digital zoom, a forwarded thumbnail)."""
    h, w = rgb.shape[:2]
    f = float(rng.uniform(*factor))
    small = cv2.resize(rgb, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def perspective_warp(rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                     max_shift: float) -> tuple[np.ndarray, np.ndarray]:
    """A random homography: each corner moves inward by up to ``max_shift`` of the size, as when
    the phone is not square to the product; the frame is filled by reflection."""
    h, w = mask.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(0, max_shift, size=(4, 2)) * np.float32([w, h])
    sign = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    dst = (src + sign * jitter).astype(np.float32)
    # Map the jittered quadrilateral back onto the full frame (a zoom into the tilted view).
    hm = cv2.getPerspectiveTransform(dst, src)
    out = cv2.warpPerspective(rgb, hm, (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)
    m = cv2.warpPerspective(mask, hm, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return out, m


# --- photometry --------------------------------------------------------------------------------

def relight(rgb: np.ndarray, rng: np.random.Generator, exposure_sd: float,
            gamma: tuple[float, float], gradient: float) -> np.ndarray:
    """Exposure gain exp(N(0, sd)), a directional light ramp of up to +/- ``gradient``/2 across
    the frame (light from a window on one side), then a gamma drawn from ``gamma``."""
    h, w = rgb.shape[:2]
    g = float(np.exp(rng.normal(0.0, exposure_sd)))
    ang = rng.uniform(0, 2 * np.pi)
    strength = rng.uniform(0, gradient)
    gx = (np.arange(w, dtype=np.float32) / w - 0.5) * np.cos(ang) * strength
    gy = (np.arange(h, dtype=np.float32) / h - 0.5) * np.sin(ang) * strength
    gain = (g * (1.0 + gy[:, None] + gx[None, :])).astype(np.float32)
    lit = cv2.multiply(rgb.astype(np.float32), cv2.merge([gain, gain, gain]))
    lit = np.clip(lit, 0, 255).astype(np.uint8)
    gm = float(rng.uniform(*gamma))
    lut = np.clip((np.arange(256) / 255.0) ** gm * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(lit, lut)


def white_balance(rgb: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Per-channel gains 1 +/- ``strength`` along the warm-cool axis plus a small tint, normalised
    to keep the mean gain at 1 (tungsten, shade, fluorescent light)."""
    t = rng.uniform(-1, 1)
    gains = np.array([1 + strength * t, 1 + rng.uniform(-0.3, 0.3) * strength,
                      1 - strength * t], dtype=np.float32)
    gains /= gains.mean()
    lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * gains[None, :] + 0.5, 0, 255)
    return cv2.LUT(rgb, lut.astype(np.uint8).reshape(256, 1, 3))


def phone_blur(rgb: np.ndarray, rng: np.random.Generator, sigma: tuple[float, float],
               motion_p: float, motion_len: tuple[int, int]) -> tuple[np.ndarray, dict[str, float]]:
    """Defocus (Gaussian, sigma in ``sigma``) or, with probability ``motion_p``, hand shake (a
    line kernel of random length and angle)."""
    if rng.random() < motion_p:
        n = int(rng.integers(motion_len[0], motion_len[1] + 1))
        k = np.zeros((n, n), np.float32)
        k[n // 2, :] = 1.0
        rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), float(rng.uniform(0, 180)), 1.0)
        k = cv2.warpAffine(k, rot, (n, n))
        k /= max(float(k.sum()), 1e-6)
        return cv2.filter2D(rgb, -1, k, borderType=cv2.BORDER_REFLECT), {"motion": float(n)}
    s = float(rng.uniform(*sigma))
    if s < 0.3:
        return rgb.copy(), {"sigma": s}
    return cv2.GaussianBlur(rgb, (0, 0), s), {"sigma": s}


def sensor_noise(rgb: np.ndarray, rng: np.random.Generator, sd: tuple[float, float]) -> np.ndarray:
    """Signal-dependent noise: Gaussian with sd = s * sqrt(0.25 + level) (shot + read noise),
    s in ``sd`` 8-bit levels, plus blotchy chroma noise (drawn at half resolution, as phone
    demosaicing and denoising leave it)."""
    s = float(rng.uniform(*sd))
    h, w = rgb.shape[:2]
    x = rgb.astype(np.float32)
    level = np.sqrt(0.25 + np.arange(256, dtype=np.float32) / 255.0) * np.float32(s)
    scale = level[rgb]
    lum = rng.standard_normal((h, w, 1), dtype=np.float32)
    chroma = rng.standard_normal(((h + 1) // 2, (w + 1) // 2, 3), dtype=np.float32)
    chroma = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(0.35)
    return np.clip(x + scale * (lum + chroma) + 0.5, 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, rng: np.random.Generator, quality: tuple[int, int]) -> np.ndarray:
    """Re-encode as JPEG at a quality drawn from ``quality`` (messaging apps, phone galleries)."""
    q = int(rng.integers(quality[0], quality[1] + 1))
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        return rgb.copy()
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


# --- the product, as clean as the engine can make it ------------------------------------------

def wiener_deblur(rgb: np.ndarray, sigma: float, balance: float) -> np.ndarray:
    """Wiener-Hunt deconvolution of a Gaussian blur of ``sigma`` px
    (:func:`skimage.restoration.wiener`, Laplacian regulariser weighted by ``balance``; Orieux et
    al., JOSA A 27(7), 2010), per channel, on a reflect-padded copy so the frame edges do not
    ring."""
    from skimage.restoration import wiener

    r = int(np.ceil(3.0 * sigma))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-x * x / (2.0 * sigma * sigma))
    psf = np.outer(k, k)
    psf /= psf.sum()
    pad = r + 4
    big = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REFLECT).astype(np.float64)
    big /= 255.0
    out = np.stack([wiener(big[:, :, c], psf, balance, clip=False) for c in range(3)], axis=-1)
    out = out[pad:-pad, pad:-pad]
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


def restore_sharpness(rgb: np.ndarray, alpha: np.ndarray, sharp_sigma: float,
                      max_sigma: float, balance: float) -> tuple[np.ndarray, dict[str, float]]:
    """Deblur the cut-out product when its edges measure blurrier than ``sharp_sigma`` (what a
    sharp photo measures; the sharpness check's ``sigma_good``): a Gaussian blur of sigma
    ``s`` on top of a sharp photo's ``s0`` measures ``sqrt(s0^2 + s^2)``, so the blur removed is
    ``sqrt(measured^2 - sharp_sigma^2)``, at most ``max_sigma`` (beyond that too little detail
    is left to restore, and ringing grows). Returns (rgb, {"source_blur", "deblur"})."""
    s = edge_blur_sigma(rgb, alpha)
    info = {"source_blur": float("nan") if s is None else round(s, 3), "deblur": 0.0}
    if s is None or s <= sharp_sigma:
        return rgb, info
    d = float(min(max_sigma, np.sqrt(s * s - sharp_sigma * sharp_sigma)))
    info["deblur"] = round(d, 3)
    return wiener_deblur(rgb, d, balance), info


def product_source(rgb: np.ndarray, mask: np.ndarray,
                   cfg: SimConfig) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """The product as the shopper's camera would see it, from the seller's photo: cut out with
    its mask, resized so its long side is ``work_long_side`` (down only), deblurred when
    ``cfg.restore`` (see the module docstring). Returns (rgb, alpha, info)."""
    cut, alpha = cut_out(rgb, mask)
    h, w = alpha.shape
    s = cfg.work_long_side / max(h, w)
    if s < 1.0:
        size = (max(1, round(w * s)), max(1, round(h * s)))
        cut = cv2.resize(cut, size, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    info: dict[str, float] = {}
    if cfg.restore:
        cut, info = restore_sharpness(cut, alpha, cfg.sharp_sigma, cfg.restore_max_sigma,
                                      cfg.restore_balance)
    return cut, alpha, info


# --- the generator -----------------------------------------------------------------------------

def shopper_photo(cutout: np.ndarray, alpha: np.ndarray, rng: np.random.Generator,
                  cfg: SimConfig, backgrounds: list[np.ndarray]) -> ShopperPhoto:
    """One simulated shopper photo of a cut-out product (see the module docstring for the chain)."""
    size = cfg.canvas_sizes[int(rng.integers(0, len(cfg.canvas_sizes)))]
    params: dict[str, Any] = {"canvas": list(size)}
    if backgrounds and rng.random() < cfg.real_background_p:
        bi = int(rng.integers(0, len(backgrounds)))
        bg = background_crop(backgrounds[bi], size, rng)
        params["background"] = bi
    else:
        bg = plain_surface(size, rng)
        params["background"] = -1
    prod, a, angle = rotate(cutout, alpha, rng, cfg.rotation_sd_deg, cfg.rotation_max_deg)
    params["rotation"] = angle
    img, m, p = place_on_background(prod, a, bg, rng, cfg.fill, cfg.partial_crop_p,
                                    cfg.partial_crop_max, cfg.shadow_p)
    params.update(p)
    if rng.random() < cfg.occlusion_p:
        img, m = occlude(img, m, rng, cfg.occlusion_max, backgrounds)
        params["occluded"] = True
    img, m = perspective_warp(img, m, rng, cfg.perspective_max)
    img = relight(img, rng, cfg.exposure_sd, cfg.gamma, cfg.light_gradient)
    img = white_balance(img, rng, cfg.white_balance)
    img, p = phone_blur(img, rng, cfg.blur_sigma, cfg.motion_blur_p, cfg.motion_blur_len)
    params.update(p)
    if rng.random() < cfg.low_res_p:
        img = low_resolution(img, rng, cfg.low_res_factor)
        params["low_res"] = True
    img = sensor_noise(img, rng, cfg.noise_sd)
    img = jpeg(img, rng, cfg.jpeg_quality)
    return ShopperPhoto(rgb=img, mask=m.astype(np.float32), params=params)


def simulate_shopper_photos(rgb: np.ndarray, mask: np.ndarray, n: int, seed: int = 0,
                            backgrounds: list[np.ndarray] | None = None,
                            cfg: SimConfig | None = None) -> list[ShopperPhoto]:
    """``n`` simulated shopper photos of the product in ``rgb`` (uint8 RGB) with product
    probability ``mask`` (same size, [0, 1] or bool), made from :func:`product_source`.

    ``backgrounds`` defaults to :func:`load_backgrounds` (``assets/backgrounds``). Deterministic:
    photo ``i`` depends only on (image, mask, seed, i, cfg, backgrounds).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("rgb must be uint8 H x W x 3")
    if mask.shape != rgb.shape[:2]:
        raise ValueError("mask must have the image's height and width")
    cfg = cfg or SimConfig.default()
    bgs = load_backgrounds() if backgrounds is None else backgrounds
    cutout, alpha, info = product_source(rgb, mask, cfg)
    photos = [shopper_photo(cutout, alpha, np.random.default_rng([int(seed), i]), cfg, bgs)
              for i in range(int(n))]
    for p in photos:
        p.params.update(info)
    return photos
