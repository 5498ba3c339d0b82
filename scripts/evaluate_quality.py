"""Measure how well each quality score separates good photos from bad ones on ../shared/data.

For every check, a pair of image sets where one is known to be better than the other, and the
AUROC of the check's score at telling them apart (1.0 = every good photo scores above every bad
one, 0.5 = chance), next to a simple one-line baseline so the table shows what the measure buys:

===================  ======================  =============================  ==================
check                good set                bad set                        baseline
===================  ======================  =============================  ==================
sharpness            luma main images        the same, Gaussian-blurred     var. of Laplacian
exposure             luma main images        the same, darker / brighter    mean luminance
exposure (cast)      luma main images        the same, white balance off    grey-world chroma
background, overall  luma (studio, white)    clothing (amateur)             border brightness
framing              luma                    luma shrunk on white canvas    non-white fraction
clutter              grocery iconic + luma   grocery in-store (train)       Canny edge density
resolution           luma                    luma shrunk to 400 px          long side in px
overlays             luma                    luma + text/watermark/badge    Canny edge density
overlays (amateur)   clothing (amateur)      the same + text/watermark      Canny edge density
overlays (inset)     luma                    luma + an inset picture        Canny edge density
overlays (border)    luma                    luma + added frame             border brightness
===================  ======================  =============================  ==================

Derived sets (blurred, darkened, text-overlaid, ...) are made once, deterministically, under
``/tmp/ll_eval_data``. Per-image results are cached in ``/tmp/ll_eval_cache`` keyed by the file's
sha256 and a hash of the code and thresholds the check depends on, so re-running after a change
re-computes only what the change can affect. The product mask is cached too.

Usage::

    .venv/bin/python scripts/evaluate_quality.py                     # all checks, 60 per set
    .venv/bin/python scripts/evaluate_quality.py --checks sharpness --limit 60
    .venv/bin/python scripts/evaluate_quality.py --no-model --csv /tmp/eval.csv
    # defect families (scripts/quality_families.py) on tuning / held-out / other-store splits:
    .venv/bin/python scripts/evaluate_quality.py --families --limit 40
    .venv/bin/python scripts/evaluate_quality.py --families motion,upscale --splits tune
    # the detail families on real phone photos (the amateur senders' clothing photos):
    .venv/bin/python scripts/evaluate_quality.py --families motion,blur_noise --checks sharpness \
        --limit 80 --splits am_tune,am_held
    # the same on studio photos shrunk to 600 px on the long side, with 95% bootstrap intervals:
    .venv/bin/python scripts/evaluate_quality.py --families --splits tune,held,held@600 --ci
    .venv/bin/python scripts/evaluate_quality.py --families --splits tune,held --sizes 600,900
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import json
import math
import os
import random
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LISTING_LENS_ORT_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.config import check_thresholds, segmentation, thresholds  # noqa: E402
from analyzer.io.loader import load_image  # noqa: E402
from analyzer.quality import registry  # noqa: E402
from analyzer.quality.context import ImageContext  # noqa: E402
from analyzer.results import CheckResult, Flag  # noqa: E402
from analyzer.vision.srgb import linear_to_srgb, srgb_to_linear  # noqa: E402

cv2.setNumThreads(1)

DATA = REPO.parent / "shared" / "data"
GEN_DIR = Path("/tmp/ll_eval_data")
CACHE_DIR = Path("/tmp/ll_eval_cache")
GEN_VERSION = "v1"
BASELINE_VERSION = "b2"
QUALITY_DIR = REPO / "analyzer" / "quality"

FONT_FILES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Oblique.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Italic.ttf",
]
OVERLAY_TEXTS = ["SALE", "50% OFF", "FREE SHIPPING", "Best Seller", "NEW ARRIVAL", "LIMITED",
                 "www.myshop.com", "(c) MyShop", "HOT DEAL", "2 for 1", "Premium Quality",
                 "ORIGINAL", "Buy now!", "SAMPLE", "shop.example.com", "-30%"]


# ----------------------------------------------------------------------------------------------
# Image sets
# ----------------------------------------------------------------------------------------------

def _rng_for(path: Path, salt: str) -> random.Random:
    h = hashlib.sha1(f"{path.name}:{salt}".encode()).hexdigest()
    return random.Random(int(h[:12], 16))


def luma_main() -> list[Path]:
    with open(DATA / "luma" / "MANIFEST_products.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [DATA / "luma" / r["images"].split("|")[0] for r in rows]


def clothing() -> list[Path]:
    return sorted((DATA / "clothing" / "images").glob("*.jpg"))


def grocery_iconic() -> list[Path]:
    return sorted((DATA / "grocery" / "dataset" / "iconic-images-and-descriptions").rglob("*.jpg"))


def grocery_instore() -> list[Path]:
    base = DATA / "grocery" / "dataset"
    with open(base / "train.txt") as f:
        return [base / line.split(",")[0].strip() for line in f if line.strip()]


def _derive(name: str, src: list[Path], fn: Callable[[Image.Image, random.Random], Image.Image],
            quality: int = 92, version: str = "") -> list[Path]:
    """Apply ``fn`` to each source image once; the outputs are JPEGs under GEN_DIR/name
    (``version`` marks a set whose generator changed, so old files are not reused)."""
    out_dir = GEN_DIR / GEN_VERSION / (name + version)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for p in src:
        q = out_dir / (p.stem + ".jpg")
        if not q.exists():
            im = Image.open(p).convert("RGB")
            res = fn(im, _rng_for(p, name))
            tmp = q.with_suffix(".tmp.jpg")
            res.save(tmp, quality=quality)
            tmp.replace(q)
        out.append(q)
    return out


def blur(im: Image.Image, rng: random.Random) -> Image.Image:
    """Gaussian blur of sigma 2-3 px at 1000 px on the long side (scaled to the image)."""
    sigma = rng.uniform(2.0, 3.0) * max(im.size) / 1000.0
    return im.filter(ImageFilter.GaussianBlur(radius=sigma))  # PIL's radius is the sigma


def _expose(im: Image.Image, stops: float) -> Image.Image:
    lin = srgb_to_linear(np.asarray(im).astype(np.float64) / 255.0) * (2.0 ** stops)
    return Image.fromarray(np.rint(linear_to_srgb(lin) * 255).astype(np.uint8))


def darken(im: Image.Image, rng: random.Random) -> Image.Image:
    """Under-exposure by 1.5-2.5 stops (linear light)."""
    return _expose(im, -rng.uniform(1.5, 2.5))


def brighten(im: Image.Image, rng: random.Random) -> Image.Image:
    """Over-exposure by 1.0-2.0 stops (linear light, clipped like a sensor)."""
    return _expose(im, rng.uniform(1.0, 2.0))


# White-balance errors as linear-light channel gains (R, G, B) at full strength: daylight white
# balance under tungsten (warm), tungsten balance in daylight/shade (cool), fluorescent (green),
# and a magenta overcorrection of it.
WB_TINTS = {"warm": (1.0, 0.9, 0.75), "cool": (0.8, 0.9, 1.0), "green": (0.9, 1.0, 0.88),
            "magenta": (1.0, 0.88, 1.0)}


def wb_shift(im: Image.Image, rng: random.Random) -> Image.Image:
    """A wrong white balance: one of WB_TINTS at 1.0-1.5 x its strength, in linear light.

    At 1.0 a white backdrop reads about (255, 243, 225) warm or (231, 243, 255) cool: a cast a
    shopper sees next to a correctly balanced photo.
    """
    k = rng.uniform(1.0, 1.5)
    gains = 1.0 - k * (1.0 - np.array(WB_TINTS[rng.choice(sorted(WB_TINTS))]))
    lin = srgb_to_linear(np.asarray(im).astype(np.float64) / 255.0) * gains
    return Image.fromarray(np.rint(linear_to_srgb(lin) * 255).astype(np.uint8))


def shrink(im: Image.Image, rng: random.Random) -> Image.Image:
    s = 400 / max(im.size)
    return im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)


def pad_small(im: Image.Image, rng: random.Random) -> Image.Image:
    """The product at 45-60% of the frame on a white canvas of the same size."""
    s = rng.uniform(0.45, 0.6)
    small = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", im.size, (255, 255, 255))
    canvas.paste(small, ((im.width - small.width) // 2, (im.height - small.height) // 2))
    return canvas


def add_border(im: Image.Image, rng: random.Random) -> Image.Image:
    """An added frame: grey or coloured, 1.5-5% of the long side, padding or painted over."""
    w = max(3, round(max(im.size) * rng.uniform(0.015, 0.05)))
    color = rng.choice([(128, 128, 128), (200, 200, 200), (40, 40, 40), (180, 30, 40),
                        (20, 60, 160), (230, 190, 60)])
    if rng.random() < 0.5:
        canvas = Image.new("RGB", (im.width + 2 * w, im.height + 2 * w), color)
        canvas.paste(im, (w, w))
        return canvas
    out = im.copy()
    d = ImageDraw.Draw(out)
    d.rectangle([0, 0, im.width - 1, im.height - 1], outline=color, width=w)
    return out


def _font(rng: random.Random, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    files = [f for f in FONT_FILES if Path(f).is_file()]
    if files:
        return ImageFont.truetype(rng.choice(files), size)
    return ImageFont.load_default(size=size)


def add_text(im: Image.Image, rng: random.Random) -> Image.Image:
    """Text, a tiled watermark or a badge drawn with PIL in varied fonts, sizes, places, opacity."""
    base = im.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    W, H = base.size
    kind = rng.choices(["text", "watermark", "badge"], weights=[0.5, 0.25, 0.25])[0]
    color = rng.choice([(0, 0, 0), (200, 20, 30), (20, 40, 160), (90, 90, 90), (0, 120, 60),
                        (255, 140, 0)])
    if kind == "text":
        alpha = int(255 * rng.uniform(0.6, 1.0))
        for _ in range(rng.choice([1, 1, 2])):
            size = max(10, round(H * rng.uniform(0.03, 0.09)))
            font = _font(rng, size)
            txt = rng.choice(OVERLAY_TEXTS)
            box = d.textbbox((0, 0), txt, font=font)
            tw, th = box[2] - box[0], box[3] - box[1]
            pos = rng.choice(["tl", "tr", "bl", "br", "top", "bottom", "center"])
            m = round(0.03 * W)
            x = {"tl": m, "bl": m, "tr": W - tw - m, "br": W - tw - m}.get(pos, (W - tw) // 2)
            y = {"tl": m, "tr": m, "top": m, "bl": H - th - m, "br": H - th - m,
                 "bottom": H - th - m}.get(pos, (H - th) // 2)
            x += rng.randint(-m // 2, m // 2)
            y += rng.randint(-m // 2, m // 2)
            # Sellers' text sits wholly inside the frame: place the ink box, not the pen origin
            # (v1 let the jitter and the font's top bearing push words past the bottom edge).
            x = min(max(0, x), W - tw - 1)
            y = min(max(0, y), H - th - 1)
            d.text((x - box[0], y - box[1]), txt, font=font, fill=(*color, alpha))
    elif kind == "watermark":
        alpha = int(255 * rng.uniform(0.25, 0.5))
        size = max(10, round(H * rng.uniform(0.04, 0.08)))
        font = _font(rng, size)
        txt = rng.choice(["(c) MyShop", "SAMPLE", "myshop.com", "WATERMARK", "PROOF"])
        box = d.textbbox((0, 0), txt, font=font)
        tw, th = box[2] - box[0], box[3] - box[1]
        tile = Image.new("RGBA", (tw + size, th + size), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((size // 2, size // 2), txt, font=font,
                                  fill=(*color, alpha))
        tile = tile.rotate(rng.choice([0, 30, 45, -30]), expand=True)
        step_x, step_y = int(tile.width * 1.6), int(tile.height * 1.8)
        for yy in range(-tile.height // 2, H, step_y):
            for xx in range(-tile.width // 2, W, step_x):
                layer.alpha_composite(tile, (max(0, xx), max(0, yy)))
    else:
        alpha = 255
        r = round(min(W, H) * rng.uniform(0.07, 0.12))
        cx = rng.choice([r + W // 30, W - r - W // 30])
        cy = rng.choice([r + H // 30, H - r - H // 30])
        fill = rng.choice([(200, 20, 30), (255, 140, 0), (20, 120, 60), (20, 40, 160)])
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(*fill, alpha))
        font = _font(rng, max(10, r // 2))
        txt = rng.choice(["NEW", "SALE", "-20%", "TOP"])
        box = d.textbbox((0, 0), txt, font=font)
        d.text((cx - (box[2] - box[0]) // 2 - box[0], cy - (box[3] - box[1]) // 2 - box[1]), txt,
               font=font, fill=(255, 255, 255, 255))
    return Image.alpha_composite(base, layer).convert("RGB")


def _banners() -> list[Path]:
    root = DATA / "luma" / "pub" / "media" / "wysiwyg"
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def add_inset(im: Image.Image, rng: random.Random) -> Image.Image:
    """A picture-in-picture in a corner: a close-up of the product itself (outlined, since on
    white it has no edge of its own) or a crop of a lifestyle photo (a luma store banner, its own
    background), 18-32% of the frame wide, outlined by a 1-4 px line or not."""
    W, H = im.size
    out = im.copy()
    iw = round(W * rng.uniform(0.18, 0.32))
    ih = round(iw * rng.choice([1.0, 0.75, 1.33]))
    if rng.random() < 0.5:
        # A detail: the middle third of the frame, which on a studio shot is the product.
        cw, ch = W // 3, round(W // 3 * ih / iw)
        x0, y0 = (W - cw) // 2 + rng.randint(-W // 12, W // 12), (H - ch) // 2
        content = im.crop((x0, y0, x0 + cw, y0 + ch))
        outline = True
    else:
        banner = Image.open(rng.choice(_banners())).convert("RGB")
        side = min(banner.size)
        bx = rng.randint(0, banner.width - side)
        content = banner.crop((bx, 0, bx + side, side))
        outline = rng.random() < 0.5
    content = content.resize((iw, ih), Image.Resampling.LANCZOS)
    m = round(W * rng.uniform(0.02, 0.05))
    x = rng.choice([m, W - iw - m])
    y = rng.choice([m, H - ih - m])
    out.paste(content, (x, y))
    if outline:
        lw = rng.randint(1, 4)
        color = rng.choice([(0, 0, 0), (120, 120, 120), (200, 200, 200), (180, 30, 40)])
        ImageDraw.Draw(out).rectangle([x, y, x + iw - 1, y + ih - 1], outline=color, width=lw)
    return out


def _pick(paths: list[Path], n: int, seed: int) -> list[Path]:
    if n <= 0 or n >= len(paths):
        return list(paths)
    rng = random.Random(seed)
    return sorted(rng.sample(paths, n))


def build_sets(names: set[str], limit: int, seed: int) -> dict[str, list[Path]]:
    luma = _pick(luma_main(), limit, seed)

    def cloth() -> list[Path]:
        return _pick(clothing(), limit, seed)

    makers: dict[str, Callable[[], list[Path]]] = {
        "luma": lambda: luma,
        "luma_blur": lambda: _derive("luma_blur", luma, blur),
        "luma_dark": lambda: _derive("luma_dark", luma, darken),
        "luma_bright": lambda: _derive("luma_bright", luma, brighten),
        "luma_small": lambda: _derive("luma_small", luma, shrink),
        "luma_cast": lambda: _derive("luma_cast", luma, wb_shift),
        "luma_pad": lambda: _derive("luma_pad", luma, pad_small),
        "luma_border": lambda: _derive("luma_border", luma, add_border),
        "luma_text": lambda: _derive("luma_text", luma, add_text, version="_t2"),
        "luma_inset": lambda: _derive("luma_inset", luma, add_inset),
        "clothing": cloth,
        "clothing_text": lambda: _derive("clothing_text", cloth(), add_text),
        "grocery_iconic": lambda: _pick(grocery_iconic(), limit, seed),
        "grocery_instore": lambda: _pick(grocery_instore(), limit, seed),
    }
    unknown = names - set(makers)
    if unknown:
        raise SystemExit(f"unknown set(s): {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(makers)}")
    return {n: makers[n]() for n in makers if n in names}


# ----------------------------------------------------------------------------------------------
# Baselines: one line each, on the working-size image
# ----------------------------------------------------------------------------------------------

def _border(gray: np.ndarray, frac: float = 0.05) -> np.ndarray:
    h, w = gray.shape
    b = max(1, round(min(h, w) * frac))
    return np.concatenate([gray[:b].ravel(), gray[-b:].ravel(), gray[b:-b, :b].ravel(),
                           gray[b:-b, -b:].ravel()])


def baselines(rgb: np.ndarray, width: int, height: int) -> dict[str, float]:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    g = gray.astype(np.float32) / 255.0
    edges = cv2.Canny(gray, 100, 200)
    return {
        "laplacian_var": float(cv2.Laplacian(g, cv2.CV_32F).var()),
        "mean_luma": float(g.mean()),
        "border_brightness": float(_border(g).mean()),
        "edge_density": float((edges > 0).mean()),
        "nonwhite_fraction": float((g < 0.95).mean()),
        # Grey world (Buchsbaum 1980): the chroma of the frame's mean a*, b*.
        "mean_chroma": float(np.hypot(*cv2.cvtColor(rgb.astype(np.float32) / 255.0,
                                                    cv2.COLOR_RGB2Lab)[..., 1:].reshape(-1, 2)
                                      .mean(axis=0))),
        "long_side": float(max(width, height)),
    }


# ----------------------------------------------------------------------------------------------
# Comparisons: (check, good set(s), bad set(s), score key, baseline key, baseline sign, target)
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    label: str
    check: str                 # which check must run ("overall" = all)
    good: tuple[str, ...]
    bad: tuple[str, ...]
    score: str                 # key in the per-image scores
    baseline: str              # key in baselines(); higher = better after `sign`
    sign: float
    target: float


COMPARISONS = [
    Comparison("sharpness", "sharpness", ("luma",), ("luma_blur",), "sharpness",
               "laplacian_var", 1, 0.95),
    Comparison("exposure (dark)", "exposure", ("luma",), ("luma_dark",), "exposure",
               "mean_luma", 1, 0.90),
    Comparison("exposure (bright)", "exposure", ("luma",), ("luma_bright",), "exposure",
               "mean_luma", -1, 0.90),
    Comparison("exposure (cast)", "exposure", ("luma",), ("luma_cast",), "exposure",
               "mean_chroma", -1, 0.90),
    Comparison("background", "background", ("luma",), ("clothing",), "background",
               "border_brightness", 1, 0.95),
    Comparison("framing", "framing", ("luma",), ("luma_pad",), "framing",
               "nonwhite_fraction", 1, 0.90),
    Comparison("clutter", "clutter", ("grocery_iconic", "luma"), ("grocery_instore",), "clutter",
               "edge_density", -1, 0.90),
    Comparison("resolution", "resolution", ("luma",), ("luma_small",), "resolution",
               "long_side", 1, 0.95),
    Comparison("overlays (text)", "overlays", ("luma",), ("luma_text",), "overlays",
               "edge_density", -1, 0.90),
    Comparison("overlays (text, amateur)", "overlays", ("clothing",), ("clothing_text",),
               "overlays", "edge_density", -1, 0.90),
    Comparison("overlays (inset)", "overlays", ("luma",), ("luma_inset",), "overlays",
               "edge_density", -1, 0.90),
    Comparison("overlays (border)", "overlays", ("luma",), ("luma_border",), "overlays",
               "border_brightness", 1, 0.90),
    Comparison("overall", "overall", ("luma",), ("clothing",), "overall",
               "border_brightness", 1, 0.95),
]


def auroc(good: list[float], bad: list[float]) -> float:
    """P(score of a random good image > score of a random bad one), ties counted half."""
    g = np.asarray([x for x in good if x is not None and math.isfinite(x)], dtype=np.float64)
    b = np.asarray([x for x in bad if x is not None and math.isfinite(x)], dtype=np.float64)
    if len(g) == 0 or len(b) == 0:
        return float("nan")
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(g)), np.zeros(len(b))]
    return float(roc_auc_score(y, np.r_[g, b]))


CI_RESAMPLES = 1000
CI_SEED = 0


def auroc_ci(good: list[float], bad: list[float], n_boot: int = CI_RESAMPLES,
             level: float = 0.95, seed: int = CI_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of :func:`auroc`: the good and the bad images are resampled
    independently (each with replacement, at its own size), ``n_boot`` times, from a fixed seed.

    Vectorised: every resample is a vector of counts over the distinct score values, so the
    AUROC of all resamples is a few array operations (O(n_boot x (n_good + n_bad)) memory).
    """
    g = np.asarray([x for x in good if x is not None and math.isfinite(x)], dtype=np.float64)
    b = np.asarray([x for x in bad if x is not None and math.isfinite(x)], dtype=np.float64)
    if len(g) == 0 or len(b) == 0:
        return float("nan"), float("nan")
    vals = np.unique(np.r_[g, b])
    n_val = len(vals)
    ug, ub = np.searchsorted(vals, g), np.searchsorted(vals, b)
    rng = np.random.default_rng(seed)
    offs = (np.arange(n_boot) * n_val)[:, None]

    def counts(u: np.ndarray) -> np.ndarray:  # (n_boot, n_val): draws of each distinct value
        pick = u[rng.integers(0, len(u), size=(n_boot, len(u)))]
        return np.bincount((pick + offs).ravel(), minlength=n_boot * n_val).reshape(
            n_boot, n_val)

    wg, wb = counts(ug), counts(ub)
    g_above = len(g) - np.cumsum(wg, axis=1)  # good draws scoring above each value
    auc = (wb * (g_above + 0.5 * wg)).sum(axis=1) / (len(g) * len(b))
    lo, hi = np.percentile(auc, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


# ----------------------------------------------------------------------------------------------
# Cached evaluation
# ----------------------------------------------------------------------------------------------

def _sha_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _shared_code_hash() -> str:
    """Code every check depends on: context, mask and helper modules under analyzer/quality.

    The loader is left out on purpose (it changes often, for error handling, and rarely changes
    pixels): after a change to decoding, run with a fresh ``--cache`` folder. Its pixel measures
    (``_IO_MEASURES``) count in the hash of the checks that read them.
    """
    h = hashlib.sha256()
    files = sorted(p for p in QUALITY_DIR.glob("*.py")
                   if p.stem not in registry.CHECK_MODULES and p.stem != "overall")
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(json.dumps(thresholds().get("limits"), sort_keys=True, default=str).encode())
    h.update(json.dumps(thresholds().get("default_severity"), sort_keys=True).encode())
    h.update((REPO / "analyzer" / "data" / "marketplaces.yaml").read_bytes())
    return h.hexdigest()


# analyzer/io modules that compute measures a check reads (through ImageContext.image or by
# calling them): part of that check's cache key.
# (the loader: the full-resolution sample the sharpness check reads the original's detail on)
_IO_MEASURES = {"sharpness": ("jpeg.py", "resampling.py", "loader.py"), "overlays": ("jpeg.py",)}


# Checks whose results read another check's finders: the clutter check leaves the overlay
# finders' graphics (badges, banners, insets, code stickers) out of its props, so a change there
# changes its results too (its cache key once missed them, and reported a stale clutter row).
_CHECK_READS = {"clutter": ("overlays",)}


def _check_hash(check: str, shared: str) -> str:
    h = hashlib.sha256(shared.encode())
    for name in (check, *_CHECK_READS.get(check, ())):
        src = QUALITY_DIR / f"{name}.py"
        if src.exists():
            h.update(src.read_bytes())
        elif (QUALITY_DIR / name).is_dir():  # a check split into a package (overlays): every file
            for f in sorted((QUALITY_DIR / name).rglob("*.py")):
                h.update(f.relative_to(QUALITY_DIR).as_posix().encode())
                h.update(f.read_bytes())
        h.update(json.dumps(check_thresholds(name), sort_keys=True, default=str).encode())
    # Fitted data a check loads (the overlays verifiers' trees): a refit changes its results
    # with no code or threshold changed, and a stale cache would report the old verifier.
    for f in sorted((REPO / "analyzer" / "data").glob("*.json")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    # The vision layer the checks share (edge blur, backdrop, mask operations) counts too.
    for f in sorted((QUALITY_DIR.parent / "vision").glob("*.py")):
        h.update(f.read_bytes())
    # The loader's pixel measures a check reads (the JPEG history, pixel repetition, the
    # full-resolution tiles): unlike the rest of the loader's code, they change results.
    for rel in _IO_MEASURES.get(check, ()):
        h.update((QUALITY_DIR.parent / "io" / rel).read_bytes())
    h.update(json.dumps(thresholds().get("segmentation"), sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _mask_hash(use_model: bool) -> str:
    h = hashlib.sha256()
    # the mask and the rules it applies (the printed face, its backdrop and margin tests)
    for name in ("mask.py", "face.py", "backdrop.py", "mask_ops.py"):
        h.update((QUALITY_DIR.parent / "vision" / name).read_bytes())
    h.update(json.dumps(segmentation("mask"), sort_keys=True, default=str).encode())
    h.update(json.dumps(segmentation("face"), sort_keys=True, default=str).encode())
    h.update(b"model" if use_model else b"classical")
    return h.hexdigest()[:16]


def _load_mask(path: Path):  # type: ignore[no-untyped-def]
    from analyzer.vision.mask import MaskResult

    z = np.load(path, allow_pickle=False)
    prob = z["prob"].astype(np.float32) / 65535.0
    binary = np.unpackbits(z["binary"])[: prob.size].reshape(prob.shape).astype(bool)
    bbox = tuple(int(v) for v in z["bbox"]) if z["bbox"].size == 4 else None
    # whether the mask is a printed face: the overlays check reads the face's print by it
    face = bool(z["face"]) if "face" in z.files else False
    return MaskResult(prob=prob, binary=binary, source=str(z["source"]), bbox=bbox, face=face)


def _save_mask(path: Path, m) -> None:  # type: ignore[no-untyped-def]
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # two runs may save the same mask
    np.savez_compressed(
        tmp, prob=np.rint(np.clip(m.prob, 0, 1) * 65535).astype(np.uint16),
        binary=np.packbits(m.binary.ravel()), source=np.array(m.source),
        bbox=np.array(m.bbox if m.bbox is not None else [], dtype=np.int64),
        face=np.array(bool(getattr(m, "face", False))))
    tmp.replace(path)


def cached_context(path: Path, mask_hash: str):  # type: ignore[no-untyped-def]
    """An ImageContext of one photo (Amazon, u2netp) whose mask comes from the evaluation's
    cache when there, and is computed and cached otherwise: the choice scripts read the
    finders on thousands of photos without running the mask twice."""
    from analyzer.config import marketplace as get_marketplace
    from analyzer.io.loader import load_image
    from analyzer.quality.context import ImageContext

    ctx = ImageContext(image=load_image(path), marketplace=get_marketplace("amazon"),
                       use_model=True)
    mp = CACHE_DIR / "mask" / f"{_sha_file(path)[:24]}_{mask_hash}.npz"
    if mp.exists():
        ctx.__dict__["mask_result"] = _load_mask(mp)
    else:
        _save_mask(mp, ctx.mask_result)
    return ctx


def import_checks(names: list[str]) -> dict[str, Callable]:
    """Import each check module on its own: a module that is missing or broken is skipped."""
    out = {}
    for n in names:
        try:
            importlib.import_module(f"analyzer.quality.{n}")
        except ModuleNotFoundError as e:
            if e.name == f"analyzer.quality.{n}":
                print(f"  (check '{n}' not written yet: skipped)", file=sys.stderr)
                continue
            print(f"  (check '{n}' failed to import: {e!r}; skipped)", file=sys.stderr)
            continue
        except Exception as e:
            print(f"  (check '{n}' failed to import: {e!r}; skipped)", file=sys.stderr)
            continue
        if n in registry._CHECKS:
            out[n] = registry._CHECKS[n]
    return out


class Evaluator:
    def __init__(self, checks: dict[str, Callable], marketplace: str, use_model: bool,
                 cache_dir: Path, verbose: bool = False) -> None:
        from analyzer.config import marketplace as get_marketplace

        self.checks = checks
        self.mkt = get_marketplace(marketplace)
        self.use_model = use_model
        self.cache_dir = cache_dir
        self.verbose = verbose
        shared = _shared_code_hash()
        self.check_hash = {n: _check_hash(n, shared) for n in checks}
        self.mask_hash = _mask_hash(use_model)
        self.errors: dict[str, int] = defaultdict(int)
        self.times: dict[str, list[float]] = defaultdict(list)
        (cache_dir / "res").mkdir(parents=True, exist_ok=True)
        (cache_dir / "mask").mkdir(parents=True, exist_ok=True)

    def _res_path(self, key: str, check: str) -> Path:
        # The mask hash is part of the key: a check's result depends on which mask it got
        # (u2netp or the classical fallback), so --no-model runs never reuse model results.
        name = (f"{key[:24]}_{self.mkt.key}_{check}_{self.check_hash[check]}_"
                f"{self.mask_hash[:8]}.json")
        return self.cache_dir / "res" / name

    def run(self, path: Path, only: set[str] | None = None) -> dict:
        """Scores, metrics, flag codes and baselines of one image (from the cache when it can);
        ``only``: run just these checks."""
        key = _sha_file(path)
        out: dict = {"file": str(path), "scores": {}, "metrics": {}, "flags": {}}
        todo = []
        for n in self.checks:
            if only is not None and n not in only:
                continue
            rp = self._res_path(key, n)
            if rp.exists():
                r = json.loads(rp.read_text())
                out["scores"][n] = r["score"]
                out["metrics"].update({f"{n}.{k}": v for k, v in r["metrics"].items()})
                out["flags"][n] = r["flags"]
            else:
                todo.append(n)
        bp = self.cache_dir / "res" / f"{key[:24]}_baseline_{BASELINE_VERSION}.json"
        need_base = not bp.exists()
        if todo or need_base:
            try:
                img = load_image(path)
            except Exception as e:
                out["error"] = repr(e)
                self.errors["load"] += 1
                return out
            if need_base:
                tmp = bp.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(baselines(img.rgb, img.width, img.height)))
                tmp.replace(bp)
            ctx = ImageContext(image=img, marketplace=self.mkt, use_model=self.use_model)
            mp = self.cache_dir / "mask" / f"{key[:24]}_{self.mask_hash}.npz"
            if mp.exists():
                try:
                    ctx.__dict__["mask_result"] = _load_mask(mp)
                except Exception:
                    mp.unlink(missing_ok=True)
            for n in todo:
                t0 = time.perf_counter()
                try:
                    res: CheckResult = self.checks[n](ctx)
                except Exception:
                    self.errors[n] += 1
                    if self.verbose or self.errors[n] <= 2:
                        print(f"  {n} failed on {path}:\n{traceback.format_exc()}",
                              file=sys.stderr)
                    continue
                self.times[n].append(time.perf_counter() - t0)
                r = {"score": float(res.score),
                     "metrics": {k: (float(v) if isinstance(v, (int, float, np.floating,
                                                                np.integer)) else None)
                                 for k, v in res.metrics.items()},
                     "flags": [[f.code, f.severity] for f in res.flags]}
                rp = self._res_path(key, n)
                tmp = rp.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(r))
                tmp.replace(rp)  # atomic: two runs may share the cache
                out["scores"][n] = r["score"]
                out["metrics"].update({f"{n}.{k}": v for k, v in r["metrics"].items()})
                out["flags"][n] = r["flags"]
            if "mask_result" in ctx.__dict__ and not mp.exists():
                _save_mask(mp, ctx.__dict__["mask_result"])
        out["baseline"] = json.loads(bp.read_text())
        if out["scores"] and only is None:
            from analyzer.quality.overall import grade_for, overall_score

            results = {n: CheckResult(name=n, score=s) for n, s in out["scores"].items()}
            flags = [Flag(code=c, severity=s, message="", fix="", check=n)
                     for n, fl in out["flags"].items() for c, s in fl]
            out["scores"]["overall"] = overall_score(results, flags)
            out["grade"] = grade_for(out["scores"]["overall"], flags, out["scores"])
        return out


# ----------------------------------------------------------------------------------------------
# Defect families on a tuning split and on held-out splits (--families)
# ----------------------------------------------------------------------------------------------
#
# Thresholds are chosen on TUNING only; HELD-OUT are other product categories of the same store
# (women's apparel and gear: bags, fitness equipment, watches), STORE is another store (the
# grocery set's catalogue icons, ~200 px) and the amateur splits are clothing photos of two
# disjoint groups of senders. Each defect is a family with seeded random parameters
# (scripts/quality_families.py).

FAMILY_SPLITS = ("tune", "held", "store")
AMATEUR_SPLITS = ("am_tune", "am_held")


@dataclass(frozen=True)
class FamilySpec:
    check: str
    codes: tuple[str, ...]     # flag codes that count as catching the defect
    baseline: str
    sign: float
    splits: tuple[str, ...] = FAMILY_SPLITS
    severity: str | None = None  # only flags of this severity count (None: any)
    # the family whose copies of the same photos stand for the clean side (None: the photos):
    # a defect that only a cut-out can have is judged against a clean cut-out
    control: str | None = None

    def caught(self, r: dict) -> bool:
        """Whether the check raised one of the codes (of ``severity``) on result ``r``."""
        return any(c in self.codes and self.severity in (None, sev)
                   for c, sev in r["flags"].get(self.check, []))


def family_specs() -> dict[str, FamilySpec]:
    from quality_families import BLUR_FAMILIES, OVERLAY_FAMILIES, PROPS_FAMILIES

    blur_codes = ("BLURRY", "UPSCALED")
    over_codes = ("TEXT_OR_WATERMARK", "BORDER", "INSET_IMAGE")
    # The studio splits and the amateur senders' phone photos: the detail families run on both
    # (real phone photos are already soft, grainy or compressed before any defect is added, what
    # a small seller uploads; of the sharpness settings only the edge measure's noise_min_snr
    # was chosen on them, am_tune), as do the framing, small-print and exposure families below.
    phone = (*FAMILY_SPLITS, *AMATEUR_SPLITS)
    specs = {f: FamilySpec("sharpness", blur_codes, "laplacian_var", 1, phone)
             for f in BLUR_FAMILIES}
    for f in ("jpeg", "jpeg_file"):  # lost detail in 8 x 8 blocks: COMPRESSED's job
        specs[f] = FamilySpec("sharpness", ("COMPRESSED", *blur_codes), "laplacian_var", 1,
                              phone)
    # a store's export of a clean photo (shrunk, sharpened, saved at 55-90): must *not* flag
    specs["export"] = FamilySpec("sharpness", ("COMPRESSED", "NOISY", *blur_codes),
                                 "laplacian_var", 1, phone)
    # a blurred photo with a camera's noise: the blur is what to catch
    specs["blur_noise"] = FamilySpec("sharpness", blur_codes, "laplacian_var", 1, phone)
    # ... and a blurred photo sharpened by the phone or an editor: the edges steeper, the
    # detail still gone
    specs["blur_sharpened"] = FamilySpec("sharpness", blur_codes, "laplacian_var", 1, phone)
    # ... and a blurred photo an app cut out onto white: the outline crisp, the product soft
    specs["blur_cutout"] = FamilySpec("sharpness", blur_codes, "laplacian_var", 1, phone)
    # ... also with the cut's edge feathered over 1-3 px (found), and a sharp photo cut so
    # (a control: the soft outline is the cut's, the product is sharp, so it must *not* flag)
    specs["blur_feathered"] = FamilySpec("sharpness", blur_codes, "laplacian_var", 1, phone)
    specs["feathered"] = FamilySpec("sharpness", blur_codes, "laplacian_var", 1, phone)
    # a phone's night mode: texture smeared, edges crisp (a known miss, README)
    specs["denoise"] = FamilySpec("sharpness", blur_codes, "laplacian_var", 1, phone)
    for f in ("noise", "lowlight"):  # grain is neither blur nor missing detail
        specs[f] = FamilySpec("sharpness", ("NOISY", *blur_codes), "laplacian_var", 1, phone)
    specs |= {f: FamilySpec("clutter", ("CLUTTERED_BACKGROUND",), "edge_density", -1)
              for f in [*PROPS_FAMILIES, "props_around", "props_none", "pair", "reflection"]}
    specs |= {f: FamilySpec("overlays", over_codes, "edge_density", -1) for f in OVERLAY_FAMILIES}
    specs["frame"] = FamilySpec("overlays", over_codes, "border_brightness", 1)
    # the photo redrawn as flat colour (an illustration): NOT_A_PHOTO must name it
    specs["drawing"] = FamilySpec("overlays", ("NOT_A_PHOTO",), "laplacian_var", -1, phone)
    # an editor's hairline stroke around the photo (1-4 px): BORDER, the only code that names it
    specs["thin_frame"] = FamilySpec("overlays", ("BORDER",), "border_brightness", 1, phone)
    specs["am_text"] = FamilySpec("overlays", ("TEXT_OR_WATERMARK",), "edge_density", -1,
                                  AMATEUR_SPLITS)
    specs["am_watermark"] = FamilySpec("overlays", ("TEXT_OR_WATERMARK",), "edge_density", -1,
                                       AMATEUR_SPLITS)
    # amateur photos with the background removed by an app, on white: nothing added, so a
    # control that must not be called an overlay
    specs["cutout"] = FamilySpec("overlays", ("TEXT_OR_WATERMARK",), "edge_density", -1,
                                 AMATEUR_SPLITS)
    # the product lost in the frame (spanning 20-48% of it): an error on Amazon, which hides a
    # product too small from search; the fill target's warning alone left the grade at A or B
    specs["small"] = FamilySpec("framing", ("PRODUCT_TOO_SMALL",), "edge_density", -1, phone,
                                severity="error")
    # the photo padded to a banner 2.8-4:1 (wide or tall): a search tile shows it whole, so the
    # product spans under half the tile, an error on Amazon (the fill read in the photo's own
    # frame graded such a panorama A)
    specs["banner"] = FamilySpec("framing", ("PRODUCT_TOO_SMALL",), "edge_density", -1, phone,
                                 severity="error")
    # a photo turned in its canvas, its corners filled: BORDER names the fill
    specs["rotated_fill"] = FamilySpec("overlays", ("BORDER",), "border_brightness", 1, phone)
    # a light grey or white mark, one large word or tiled (a second recipe: no fit saw it)
    specs["watermark_light"] = FamilySpec("overlays", over_codes, "edge_density", -1, phone)
    # the same photos with words added after the background was removed: must be found
    for f in ("cut_text", "cut_watermark"):
        specs[f] = FamilySpec("overlays", ("TEXT_OR_WATERMARK",), "edge_density", -1,
                              AMATEUR_SPLITS)
    # a shop's small print in a corner (1.2-2.5% of the height: under the text family's sizes)
    specs["text_corner"] = FamilySpec("overlays", over_codes, "edge_density", -1,
                                      phone)
    # a camera's date imprint in amber in a corner: on phone photos, often as light as the floor
    specs["date_stamp"] = FamilySpec("overlays", over_codes, "edge_density", -1, phone)
    # an emoji or a sticker with no letters over the product (stickers.py; flat-coloured), and a
    # phone's shaded emoji, a second recipe nothing was chosen on
    specs["sticker"] = FamilySpec("overlays", over_codes, "edge_density", -1, phone)
    specs["emoji"] = FamilySpec("overlays", over_codes, "edge_density", -1, phone)
    # a QR code, Data Matrix or barcode sticker on the backdrop (quality_families.code)
    specs["code"] = FamilySpec("overlays", over_codes, "edge_density", -1, phone)
    specs["code@clutter"] = FamilySpec("clutter", ("CLUTTERED_BACKGROUND",), "edge_density", -1,
                                       phone)
    # dimension lines with arrowheads or ticks and no label (quality_families.dimension)
    specs["dimension"] = FamilySpec("overlays", over_codes, "edge_density", -1)
    # a before/after split: the frame cut in two through the product, one half made to look
    # worn or dirty, a divider 3 times in 4 (quality_families.split)
    specs["split"] = FamilySpec("overlays", ("SPLIT_IMAGE", *over_codes), "edge_density", -1,
                                phone)
    # two pictures joined side by side or stacked (quality_families.collage)
    specs["collage"] = FamilySpec("overlays", ("SPLIT_IMAGE", *over_codes), "edge_density", -1,
                                  phone)
    # text of a recipe no verifier was fitted on (quality_families.text_unseen)
    specs["text_unseen"] = FamilySpec("overlays", over_codes, "edge_density", -1)
    specs["am_text_unseen"] = FamilySpec("overlays", ("TEXT_OR_WATERMARK",), "edge_density", -1,
                                         AMATEUR_SPLITS)
    # Real in-store shopper photos (the grocery set's train.txt, the same sample for every split)
    # against each split's clean photos: clutter by nature, not a generated defect.
    specs["instore"] = FamilySpec("clutter", ("CLUTTERED_BACKGROUND",), "edge_density", -1)
    # "family@check": the same generated images judged by a second check (a dark, noisy photo
    # is an exposure defect before it is a detail one).
    specs["lowlight@exposure"] = FamilySpec("exposure", ("UNDEREXPOSED",), "mean_luma", 1)
    # too bright, the highlights clipped: the product's detail and colour blown out
    specs["overexposed"] = FamilySpec("exposure", ("OVEREXPOSED",), "mean_luma", -1,
                                      phone)
    # a flash's or lamp's glare on the product: a hotspot blown to white, fading out around it
    specs["glare"] = FamilySpec("exposure", ("OVEREXPOSED",), "mean_luma", -1, phone)
    # a black-and-white, toned or desaturated photo: the product's colour not shown
    specs["mono"] = FamilySpec("exposure", ("MONOCHROME",), "mean_chroma", 1, phone)
    # a strong cast from the light (white balance off under a bulb or shade): COLOR_CAST
    specs["cast"] = FamilySpec("exposure", ("COLOR_CAST",), "mean_chroma", -1, phone)
    # a sloppy background removal (a band of the floor left around the product on white),
    # against the same photos cut cleanly: a known miss (README, "The eleventh new user's try")
    specs["halo"] = FamilySpec("background", ("BACKGROUND_NOT_WHITE", "BACKGROUND_OFF_WHITE"),
                               "nonwhite_fraction", -1, AMATEUR_SPLITS, control="cutout")
    # a phone flash's hard shadow thrown on the white backdrop behind the product (the studio
    # splits: an amateur photo's floor is not white to begin with)
    specs["flash_shadow"] = FamilySpec("background",
                                       ("BACKGROUND_NOT_WHITE", "BACKGROUND_OFF_WHITE"),
                                       "nonwhite_fraction", -1)
    # Controls across checks: a camera's grain (on a blurred product, or in the dark) is not an
    # overlay; it must *not* be called text or a watermark (it was, on about half of the blurred
    # grainy copies, before the watermark verifier saw grainy photos).
    for f in ("blur_noise", "noise", "lowlight"):
        specs[f"{f}@overlays"] = FamilySpec("overlays", over_codes, "edge_density", -1)
    # ... and a sticker or an inset picture pasted on the photo is the overlays check's to
    # report, not a prop: must *not* be called clutter (45% of both were, before clutter left
    # the overlay finders' graphics out).
    for f in ("badge", "inset", "sticker"):
        specs[f"{f}@clutter"] = FamilySpec("clutter", ("CLUTTERED_BACKGROUND",), "edge_density",
                                           -1)
    return specs


def _luma_rows() -> list[dict]:
    with open(DATA / "luma" / "MANIFEST_products.csv", newline="") as f:
        return list(csv.DictReader(f))


# Resized studio splits: "held@600" is the held split's clean photos shrunk (Lanczos) to 600 px
# on the long side and saved at JPEG quality 95 under GEN_DIR/resized/held@600; the families are
# then drawn on those copies with the full-size split's seeds (the same draw per photo, so held
# and held@600 are paired: see family_set). Photos never get larger: one already no
# longer than SIZE is used as it is.
RESIZABLE_SPLITS = FAMILY_SPLITS
MIN_SPLIT_SIZE = 32
SIZED_BASES = ("tune", "held")  # what --sizes adds


def parse_split(name: str) -> tuple[str, int | None]:
    """``"held@600"`` -> ``("held", 600)``, ``"held"`` -> ``("held", None)``; ValueError for an
    unknown split, a size on a split that cannot be resized (the amateur ones) or a bad size."""
    base, at, size_txt = name.strip().partition("@")
    known = FAMILY_SPLITS + AMATEUR_SPLITS
    if base not in known:
        raise ValueError(f"unknown split {name!r} (known: {', '.join(known)}; "
                         f"{'/'.join(RESIZABLE_SPLITS)} also as NAME@SIZE)")
    if not at:
        return base, None
    if base not in RESIZABLE_SPLITS:
        raise ValueError(f"{name!r}: the amateur splits ({', '.join(AMATEUR_SPLITS)}) are not "
                         f"resizable; NAME@SIZE takes {', '.join(RESIZABLE_SPLITS)}")
    try:
        size = int(size_txt)
    except ValueError:
        raise ValueError(f"{name!r}: SIZE must be a whole number of pixels (the long side)"
                         ) from None
    if size < MIN_SPLIT_SIZE:
        raise ValueError(f"{name!r}: SIZE must be at least {MIN_SPLIT_SIZE} px")
    return base, size


def split_base(split: str) -> str:
    """The split a (possibly resized) split is made from: ``"held@600"`` -> ``"held"``."""
    return split.partition("@")[0]


def split_order(split: str) -> tuple:
    """Table order: the full-size splits as FAMILY_SPLITS + AMATEUR_SPLITS list them, then the
    resized ones, larger sizes first."""
    base, size = parse_split(split)
    return (size is not None, -(size or 0), (FAMILY_SPLITS + AMATEUR_SPLITS).index(base))


def expand_splits(splits: tuple[str, ...], sizes: tuple[int, ...]) -> tuple[str, ...]:
    """``--splits`` plus ``--sizes``: for each size S, ``tune@S`` and ``held@S`` for those of
    tune and held among the splits asked for (both when no split is named, which keeps every
    full-size split too)."""
    if not sizes:
        return splits
    out = list(splits or FAMILY_SPLITS + AMATEUR_SPLITS)
    bases = [b for b in SIZED_BASES if not splits or b in splits]
    if not bases:
        raise ValueError("--sizes resizes tune and held: name at least one of them in --splits "
                         "(or NAME@SIZE for store)")
    for size in sizes:
        out += [f"{b}@{size}" for b in bases if f"{b}@{size}" not in out]
    return tuple(out)


def resize_long_side(im: Image.Image, size: int) -> Image.Image:
    """``im`` shrunk (Lanczos) to ``size`` px on its long side; an image no larger is returned
    as it is (never enlarged)."""
    s = size / max(im.size)
    if s >= 1:
        return im
    return im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))),
                     Image.Resampling.LANCZOS)


def resized_copy(src: Path, out_dir: Path, size: int) -> Path:
    """``src`` shrunk to ``size`` px on the long side, as ``out_dir/<stem>.jpg`` (JPEG 95, made
    once, written atomically); ``src`` itself when it is no longer than ``size``."""
    q = out_dir / (src.stem + ".jpg")
    if q.exists():
        return q
    with Image.open(src) as im:
        if max(im.size) <= size:
            return src
        small = resize_long_side(im.convert("RGB"), size)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = q.with_suffix(f".{os.getpid()}.tmp.jpg")  # two runs may make the same copy
    small.save(tmp, quality=95)
    tmp.replace(q)
    return q


def split_sources(split: str, limit: int, seed: int) -> list[Path]:
    """Clean images of a split (see above; ``NAME@SIZE``: NAME's, shrunk to SIZE px)."""
    base, size = parse_split(split) if "@" in split else (split, None)
    if size is not None:
        out_dir = GEN_DIR / "resized" / f"{base}@{size}"
        return [resized_copy(p, out_dir, size) for p in split_sources(base, limit, seed)]
    if split in ("tune", "held"):
        rows = _luma_rows()
        men = [r for r in rows if "/Men/" in r["categories"]]
        other = [r for r in rows if "/Men/" not in r["categories"]]
        src = [DATA / "luma" / r["images"].split("|")[0] for r in (men if split == "tune"
                                                                 else other)]
        return _pick(src, limit, seed)
    if split == "store":
        return _pick(grocery_iconic(), limit, seed)
    with open(DATA / "clothing" / "images.csv", newline="") as f:
        senders = {r["image"]: int(r["sender_id"]) for r in csv.DictReader(f)}
    want = 0 if split == "am_tune" else 1
    src = [p for p in clothing() if senders.get(p.stem, -1) % 2 == want]
    return _pick(src, limit, seed)


def draw_salt(split: str, family: str) -> str:
    """The seed salt of a family's draw on a split: a resized split (``held@600``) takes its
    full-size split's, so each photo gets the same defect at both sizes (paired)."""
    return f"{split.split('@')[0]}:{family}"


def family_set(family: str, split: str, src: list[Path], props: list[tuple[Path, Image.Image]]
               ) -> list[Path]:
    """The family's defect applied once to each clean image of the split (cached JPEGs)."""
    import quality_families as qf

    gen = {"frame": lambda im, rng, _p: add_border(im, rng),
           "inset": lambda im, rng, _p: add_inset(im, rng),
           "am_text": qf.text, "am_watermark": qf.watermark,
           "am_text_unseen": qf.text_unseen} | dict(qf.GENERATORS)
    if family == "instore":
        return _pick(grocery_instore(), len(src), 0)
    family = family.split("@")[0]  # a second check on the same images: the same files
    fn = gen[family]
    # a family whose generator changed gets a new folder (old files are not reused)
    version = {"props_beside": "_b2", "props_behind": "_b2", "props_overlap": "_b2",
               "props_around": "_b2", "gauss": "_g2",
               # the faces without Latin glyphs replaced (quality_families.font_files)
               "text": "_f2", "watermark": "_f2", "badge": "_f2", "am_text": "_f2",
               "am_watermark": "_f2"}.get(family, "")
    # A resized split draws each photo's defect with the seed of its full-size split (the same
    # word, blur or prop, at the same place relative to the frame): held and held@600 are then
    # paired, and their difference is the size's, not another draw's.
    if "@" in split:
        version += "_paired"
    out_dir = GEN_DIR / "families_v1" / f"{split}_{family}{version}"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for p in src:
        q = out_dir / (p.stem + ".jpg")
        if not q.exists():
            rng = _rng_for(p, draw_salt(split, family))
            im = Image.open(p).convert("RGB")
            others = [c for pp, c in props if pp != p]
            res = fn(im, rng, others)
            tmp = q.with_suffix(f".{os.getpid()}.tmp.jpg")  # two runs may make the same set
            # every family is saved near-losslessly but jpeg_file: the jpeg family's low
            # quality is in its pixels (a low-quality photo re-saved), its file's tables say 95
            res.save(tmp, quality=qf.SAVE_QUALITY.get(family, lambda _r: 95)(rng))
            tmp.replace(q)
        out.append(q)
    return out


def run_families(ev: Evaluator, limit: int, seed: int, only_families: list[str],
                 json_out: str = "", only_splits: tuple[str, ...] = (), ci: bool = False
                 ) -> dict:
    """AUROC clean vs defect (with a bootstrap 95% interval, printed with ``ci``), flag hit
    rate and clean false-flag rate, per family and split (resized splits: ``held@600``)."""
    import quality_families as qf

    specs = family_specs()
    fams = [f for f in (only_families or specs) if f in specs]
    fam_bases = {s for f in fams for s in specs[f].splits}
    splits = sorted({s for s in (only_splits or fam_bases) if split_base(s) in fam_bases},
                    key=split_order)
    checks = set(ev.checks)  # every check on the clean photos: their false flags all count
    clean: dict[str, list[dict]] = {}
    srcs: dict[str, list[Path]] = {}
    t0 = time.perf_counter()
    for sp in splits:
        srcs[sp] = split_sources(sp, limit, seed)
        clean[sp] = [ev.run(p, only=checks) for p in srcs[sp]]
        print(f"  clean {sp}: {len(srcs[sp])} images ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    rows = []
    per_image = [{"family": "clean", "split": sp, "file": r["file"], "scores": r["scores"],
                  "metrics": r["metrics"], "flags": r["flags"]} for sp, rs in clean.items()
                 for r in rs if "error" not in r]
    for fam in fams:
        spec = specs[fam]
        if spec.check not in ev.checks:
            continue
        row: dict = {"family": fam if spec.control is None else f"{fam} (vs {spec.control})",
                     "check": spec.check, "baseline": spec.baseline}
        for sp in splits:
            if split_base(sp) not in spec.splits:
                continue
            props = []
            if fam.startswith("props"):
                props = [(p, qf.cutout(Image.open(p))) for p in srcs[sp][:24]]
            paths = family_set(fam, sp, srcs[sp], props)
            bad = [ev.run(p, only={spec.check}) for p in paths]
            good = clean[sp] if spec.control is None else [
                ev.run(p, only={spec.check})
                for p in family_set(spec.control, sp, srcs[sp], props)]
            good = [r for r in good if "error" not in r]
            bad = [r for r in bad if "error" not in r]
            per_image += [{"family": fam, "split": sp, "file": r["file"], "scores": r["scores"],
                           "metrics": r["metrics"], "flags": r["flags"]} for r in bad]
            row[f"{sp}_n"] = len(bad)
            ours = ([r["scores"].get(spec.check) for r in good],
                    [r["scores"].get(spec.check) for r in bad])
            base = ([spec.sign * r["baseline"][spec.baseline] for r in good],
                    [spec.sign * r["baseline"][spec.baseline] for r in bad])
            row[f"{sp}_auroc"] = auroc(*ours)
            row[f"{sp}_auroc_lo"], row[f"{sp}_auroc_hi"] = auroc_ci(*ours)
            row[f"{sp}_base"] = auroc(*base)
            row[f"{sp}_base_lo"], row[f"{sp}_base_hi"] = auroc_ci(*base)
            row[f"{sp}_hit"] = 100.0 * float(np.mean([spec.caught(r) for r in bad]))
            row[f"{sp}_clean_false"] = 100.0 * float(np.mean([spec.caught(r) for r in good]))
        rows.append(row)
        print(f"  {fam} done ({time.perf_counter() - t0:.0f} s)", flush=True)

    def cell(row: dict, sp: str, key: str, fmt: str) -> str:
        v = row.get(f"{sp}_{key}")
        return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt % v

    def auroc_cell(row: dict, sp: str) -> str:
        txt = cell(row, sp, "auroc", "%.3f")
        lo, hi = row.get(f"{sp}_auroc_lo"), row.get(f"{sp}_auroc_hi")
        if ci and txt != "-" and lo is not None and math.isfinite(lo):
            # two decimals rounded outwards, so the printed interval still holds the estimate
            txt += f" [{math.floor(lo * 100 + 1e-9) / 100:.2f}-" \
                   f"{math.ceil(hi * 100 - 1e-9) / 100:.2f}]"
        return txt

    resized = any("@" in sp for sp in splits)
    studio = "studio (tune = luma men / held = luma women+gear / store = grocery icons" + (
        "; NAME@SIZE = that split shrunk to SIZE px on the long side)" if resized else ")")
    for group, sps_all in ((studio, FAMILY_SPLITS), ("amateur clothing (tune / held senders)",
                                                     AMATEUR_SPLITS)):
        sps = tuple(sp for sp in splits if split_base(sp) in sps_all)
        grp = [r for r in rows if any(f"{sp}_n" in r for sp in sps)]
        if not grp:
            continue
        ci_txt = " [95% bootstrap interval]" if ci else ""
        print(f"\nPer family, {group}: AUROC clean vs defect{ci_txt} (ours | baseline), flag "
              "hit rate %, false flags on the clean photos %\n")
        hdr = " | ".join(f"AUROC {sp}" for sp in sps) + " | " + " | ".join(
            f"base {sp}" for sp in sps) + " | " + " | ".join(f"hit% {sp}" for sp in sps) + \
            " | " + " | ".join(f"clean% {sp}" for sp in sps)
        print(f"| family | check | {hdr} |")
        print("|" + "---|" * (2 + 4 * len(sps)))
        for r in grp:
            print(f"| {r['family']} | {r['check']} | "
                  + " | ".join(auroc_cell(r, sp) for sp in sps) + " | "
                  + " | ".join(cell(r, sp, "base", "%.3f") for sp in sps) + " | "
                  + " | ".join(cell(r, sp, "hit", "%.0f") for sp in sps) + " | "
                  + " | ".join(cell(r, sp, "clean_false", "%.0f") for sp in sps) + " |")
    codes = ["BLURRY", "UPSCALED", "NOISY", "COMPRESSED", "UNDEREXPOSED", "CLUTTERED_BACKGROUND",
             "TEXT_OR_WATERMARK", "BORDER", "INSET_IMAGE", "NOT_A_PHOTO", "SPLIT_IMAGE"]
    print("\nFalse flags on the clean photos of each split (%)\n")
    print("| split | n | " + " | ".join(codes) + " |")
    print("|" + "---|" * (2 + len(codes)))
    false_rates = {}
    for sp, rs in clean.items():
        ok = [r for r in rs if "error" not in r]
        false_rates[sp] = {c: 100.0 * float(np.mean([any(c == fc for fl in r["flags"].values()
                                                         for fc, _ in fl) for r in ok]))
                           for c in codes}
        print(f"| {sp} | {len(ok)} | " + " | ".join(f"{false_rates[sp][c]:.0f}" for c in codes)
              + " |")
    n_clean = {sp: len(v) for sp, v in clean.items()}
    print("\nclean images per split: " + ", ".join(f"{k} {v}" for k, v in n_clean.items()))
    if json_out:
        Path(json_out).write_text(json.dumps({"families": rows, "n_clean": n_clean,
                                              "clean_false_flags": false_rates,
                                              "images": per_image}, indent=1))
    return {"families": rows}


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------

def _splits_arg(text: str) -> tuple[str, ...]:
    """``--splits``: comma-separated split names, each checked (see parse_split)."""
    out: list[str] = []
    for name in (t.strip() for t in text.split(",")):
        if not name:
            continue
        try:
            base, size = parse_split(name)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        name = base if size is None else f"{base}@{size}"
        if name not in out:
            out.append(name)
    return tuple(out)


def _sizes_arg(text: str) -> tuple[int, ...]:
    """``--sizes``: comma-separated long sides in px."""
    out: list[int] = []
    for t in (t.strip() for t in text.split(",")):
        if not t:
            continue
        try:
            _, size = parse_split(f"tune@{t}")
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e).replace("'tune@", "'")) from None
        if size not in out:
            out.append(size)
    return tuple(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=60,
                    help="images per set (0 = all); derived sets follow the luma sample")
    ap.add_argument("--checks", default="",
                    help="comma-separated checks to evaluate (default: all registered)")
    ap.add_argument("--sets", default="",
                    help="extra comma-separated sets to score (flag rates), e.g. clothing")
    ap.add_argument("--marketplace", default="amazon")
    ap.add_argument("--no-model", action="store_true", help="classical mask instead of u2netp")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=str(CACHE_DIR))
    ap.add_argument("--csv", default="", help="write per-image scores/metrics here")
    ap.add_argument("--json", default="", help="write the summary tables here")
    ap.add_argument("--reverse", action="store_true",
                    help="score the sets in reverse order (a second run can fill the shared "
                         "cache from the other end)")
    ap.add_argument("--families", nargs="?", const="all", default="",
                    help="defect families on tuning / held-out splits instead of the fixed "
                         "pairs (optionally a comma-separated list of families)")
    ap.add_argument("--splits", default="", type=_splits_arg,
                    help="with --families: only these splits (tune, held, store, am_tune, "
                         "am_held); tune thresholds with --splits tune,am_tune. A studio split "
                         "also as NAME@SIZE (e.g. held@600): its photos shrunk (Lanczos, saved "
                         "at JPEG 95) to SIZE px on the long side, only ever shrunk, never "
                         "enlarged (a photo already no longer is used as it is); the amateur "
                         "splits are not resizable")
    ap.add_argument("--sizes", default="", type=_sizes_arg,
                    help="with --families: shorthand for resized splits, e.g. 600,900 adds "
                         "tune@600,held@600,tune@900,held@900 (of tune and held, those named "
                         "in --splits; both when --splits is not given)")
    ap.add_argument("--ci", action="store_true",
                    help="with --families: print a 95%% bootstrap interval after each AUROC "
                         "(1000 resamples of the clean and the defect images, fixed seed; the "
                         "--json output always has them as <split>_auroc_lo / _hi)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    try:
        splits = expand_splits(args.splits, args.sizes)
    except ValueError as e:
        ap.error(str(e))
    if not args.families and (args.sizes or any("@" in s for s in splits) or args.ci):
        ap.error("--sizes, NAME@SIZE splits and --ci go with --families")

    if not (DATA / "luma").is_dir():
        print(f"no data at {DATA}; nothing to evaluate", file=sys.stderr)
        return 1
    if args.families:
        sys.path.insert(0, str(REPO / "scripts"))
        wanted = [c.strip() for c in args.checks.split(",") if c.strip()] or [
            "sharpness", "clutter", "overlays", "exposure"]
        ev = Evaluator(import_checks(wanted), args.marketplace, not args.no_model,
                       Path(args.cache), args.verbose)
        only = [] if args.families == "all" else args.families.split(",")
        t0 = time.perf_counter()
        run_families(ev, args.limit, args.seed, only, args.json, splits, args.ci)
        if ev.errors:
            print("errors: " + ", ".join(f"{k}: {v}" for k, v in ev.errors.items()))
        print(f"total {time.perf_counter() - t0:.0f} s")
        return 0
    wanted = [c.strip() for c in args.checks.split(",") if c.strip()] or list(
        registry.CHECK_MODULES)
    want_overall = "overall" in wanted or not args.checks
    names = [c for c in wanted if c != "overall"]
    if want_overall:
        names = list(registry.CHECK_MODULES)
    checks = import_checks(names)
    if not checks:
        print("no check could be imported", file=sys.stderr)
        return 1
    comps = [c for c in COMPARISONS
             if c.check in checks or (c.check == "overall" and want_overall)]
    set_names = {s for c in comps for s in c.good + c.bad}
    set_names |= {s.strip() for s in args.sets.split(",") if s.strip()}
    t0 = time.perf_counter()
    sets = build_sets(set_names, args.limit, args.seed)
    print(f"checks: {', '.join(checks)}; sets: "
          + ", ".join(f"{k} ({len(v)})" for k, v in sets.items())
          + f"; mask: {'classical' if args.no_model else 'u2netp'}; marketplace: "
          f"{args.marketplace}", flush=True)

    ev = Evaluator(checks, args.marketplace, not args.no_model, Path(args.cache), args.verbose)
    results: dict[str, list[dict]] = {}
    order = list(sets)[::-1] if args.reverse else list(sets)
    for sname in order:
        paths = sets[sname]
        t1 = time.perf_counter()
        results[sname] = [ev.run(p) for p in paths]
        print(f"  {sname}: {len(paths)} images in {time.perf_counter() - t1:.1f} s", flush=True)
    results = {s: results[s] for s in sets}

    # --- AUROC table
    rows = []
    for c in comps:
        g = [r for s in c.good for r in results[s] if "error" not in r]
        b = [r for s in c.bad for r in results[s] if "error" not in r]
        scores = ([r["scores"].get(c.score) for r in g], [r["scores"].get(c.score) for r in b])
        ours = auroc(*scores)
        lo, hi = auroc_ci(*scores)
        base = auroc([c.sign * r["baseline"][c.baseline] for r in g],
                     [c.sign * r["baseline"][c.baseline] for r in b])
        rows.append({"check": c.label, "good": "+".join(c.good), "bad": "+".join(c.bad),
                     "n_good": len(g), "n_bad": len(b), "auroc": ours, "auroc_lo": lo,
                     "auroc_hi": hi, "baseline": c.baseline,
                     "auroc_baseline": base, "target": c.target})
    print("\nAUROC (good vs bad; higher score = better photo)\n")
    print(f"| {'check':<18} | {'good set':<22} | {'bad set':<16} | {'n':>7} | {'ours':>5} | "
          f"{'baseline':<18} | {'base':>5} | target |")
    print("|" + "|".join("-" * w for w in (20, 24, 18, 9, 7, 20, 7, 8)) + "|")
    for r in rows:
        ok = "" if not math.isfinite(r["auroc"]) else (" ok" if r["auroc"] >= r["target"]
                                                       else " LOW")
        print(f"| {r['check']:<18} | {r['good']:<22} | {r['bad']:<16} | "
              f"{r['n_good']:>3}/{r['n_bad']:<3} | {r['auroc']:5.3f} | {r['baseline']:<18} | "
              f"{r['auroc_baseline']:5.3f} | {r['target']:.2f}{ok} |")

    # --- flag rates and median scores per set
    codes = sorted({c for rs in results.values() for r in rs for fl in r["flags"].values()
                    for c, _ in fl})
    flag_rates = {}
    print("\nFlag rates per set (% of images)\n")
    print(f"| {'set':<16} | " + " | ".join(f"{c[:14]:>14}" for c in codes) + " |")
    print("|" + "|".join("-" * w for w in [18] + [16] * len(codes)) + "|")
    for sname, rs in results.items():
        ok = [r for r in rs if "error" not in r]
        rates = {c: 100.0 * np.mean([any(c == fc for fl in r["flags"].values() for fc, _ in fl)
                                     for r in ok]) if ok else float("nan") for c in codes}
        flag_rates[sname] = rates
        print(f"| {sname:<16} | " + " | ".join(f"{rates[c]:14.0f}" for c in codes) + " |")

    score_keys = [k for k in ["overall", *registry.CHECK_MODULES]
                  if any(k in r["scores"] for rs in results.values() for r in rs)]
    medians = {}
    print("\nMedian score per set\n")
    print(f"| {'set':<16} | " + " | ".join(f"{k[:10]:>10}" for k in score_keys) + " |")
    print("|" + "|".join("-" * w for w in [18] + [12] * len(score_keys)) + "|")
    for sname, rs in results.items():
        med = {k: float(np.median([r["scores"][k] for r in rs if k in r["scores"]]))
               if any(k in r["scores"] for r in rs) else float("nan") for k in score_keys}
        medians[sname] = med
        print(f"| {sname:<16} | " + " | ".join(f"{med[k]:10.1f}" for k in score_keys) + " |")

    if ev.times:
        print("\nmedian check time on uncached images (ms): " + ", ".join(
            f"{n} {1000 * float(np.median(t)):.0f}" for n, t in ev.times.items()))
    if ev.errors:
        print("errors: " + ", ".join(f"{k}: {v}" for k, v in ev.errors.items()))
    print(f"total {time.perf_counter() - t0:.0f} s")

    if args.csv:
        keys = sorted({k for rs in results.values() for r in rs for k in r["metrics"]})
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["set", "file", "grade", *score_keys, "flags", *keys])
            for sname, rs in results.items():
                for r in rs:
                    w.writerow([sname, r["file"], r.get("grade", ""),
                                *[r["scores"].get(k, "") for k in score_keys],
                                " ".join(c for fl in r["flags"].values() for c, _ in fl),
                                *[r["metrics"].get(k, "") for k in keys]])
        print(f"per-image results: {args.csv}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"auroc": rows, "flag_rates": flag_rates, "median_scores": medians}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
