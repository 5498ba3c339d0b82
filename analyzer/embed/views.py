"""The views of a product photo the built-in embedder describes: the product crop (from its
mask, the background faded to white), and the skin map that takes a model's arms and face out
of it."""

from __future__ import annotations

import cv2
import numpy as np

MIN_PRODUCT_FRACTION = 0.005   # a smaller mask is noise: crop nothing, use the whole image


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


def skin_prob(rgb: np.ndarray) -> np.ndarray:
    """A soft skin map in [0, 1]: the YCrCb box rule Cr in [135, 180], Cb in [85, 135] (Chai &
    Ngan, "Face segmentation using skin-color map in videophone applications", IEEE TCSVT 1999),
    blurred over ~1% of the short side. With ``deskin`` the crop keeps the product minus the
    skin: a model's arms and face, a shopper's hand."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    m = ((cr >= 135) & (cr <= 180) & (cb >= 85) & (cb <= 135)).astype(np.float32)
    k = max(3, (min(rgb.shape[:2]) // 100) | 1)
    return cv2.GaussianBlur(m, (k, k), 0)


def mask_prob(rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The product probability map for ``rgb``: the given mask (bool or [0, 1] floats, resized
    if needed); else the plain-background mask for a studio shot; else the quality engine's
    product mask (u2netp)."""
    if mask is None:
        from analyzer.vision.backdrop import studio_product_prob
        from analyzer.vision.mask import product_mask

        prob = studio_product_prob(rgb)
        return prob if prob is not None else product_mask(rgb).prob
    m = np.asarray(mask)
    m = m.astype(np.float32) if m.dtype != np.uint8 else m.astype(np.float32) / 255.0
    if m.shape[:2] != rgb.shape[:2]:
        m = cv2.resize(m, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(m, 0.0, 1.0)
