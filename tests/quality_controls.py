"""Synthetic controls for the background, framing and clutter checks (not a test module).

Each control takes a real photo (a studio shot on white) and changes one thing a seller gets
wrong: the background tinted off-white, padded with grey, the product shrunk inside the frame,
cropped so it is cut off, moved off-centre, or pasted on a busy in-store photo.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from analyzer.config import marketplace
from analyzer.io.loader import LoadedImage, load_image
from analyzer.quality.context import ImageContext


def rgb_of(path: Path, long_side: int = 640) -> np.ndarray:
    """The photo as RGB uint8, shrunk so tests stay fast."""
    im = Image.open(path).convert("RGB")
    s = min(1.0, long_side / max(im.size))
    if s < 1.0:
        im = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)
    return np.asarray(im).copy()


def loaded(rgb: np.ndarray, fmt: str = "PNG", alpha: np.ndarray | None = None,
           name: str = "control") -> LoadedImage:
    """Encode and load like an upload (JPEG adds real compression noise)."""
    buf = io.BytesIO()
    if alpha is not None:
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(buf, format="PNG")
    elif fmt == "JPEG":
        Image.fromarray(rgb).save(buf, format="JPEG", quality=92)
    else:
        Image.fromarray(rgb).save(buf, format="PNG")
    return load_image(buf.getvalue(), name=name)


def context(rgb: np.ndarray, market: str = "amazon", use_model: bool = True, fmt: str = "PNG",
            alpha: np.ndarray | None = None) -> ImageContext:
    return ImageContext(image=loaded(rgb, fmt, alpha), marketplace=marketplace(market),
                        use_model=use_model)


def product_alpha(rgb: np.ndarray, level: int = 245) -> np.ndarray:
    """A soft cut-out of a studio shot: the product is what is not near-white, holes filled."""
    import cv2

    fg = (np.min(rgb, axis=2) < level).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    if n > 1:
        big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        keep = stats[:, cv2.CC_STAT_AREA] >= 0.05 * stats[big, cv2.CC_STAT_AREA]
        keep[0] = False
        fg = keep[labels].astype(np.uint8)
    # Fill holes: flood the background from the corner, what is left unflooded is the product.
    flood = fg.copy() * 255
    h, w = fg.shape
    m = np.zeros((h + 2, w + 2), np.uint8)
    cv2.floodFill(flood, m, (0, 0), 128)
    solid = (flood != 128).astype(np.float32)
    return cv2.GaussianBlur(solid, (5, 5), 0)


def tint_background(rgb: np.ndarray, color: tuple[int, int, int] = (248, 242, 240)) -> np.ndarray:
    """The white backdrop replaced by an off-white colour (the product untouched)."""
    a = product_alpha(rgb)[..., None]
    bg = np.empty_like(rgb, dtype=np.float32)
    bg[:] = color
    return np.clip(a * rgb + (1 - a) * bg, 0, 255).round().astype(np.uint8)


def pad(rgb: np.ndarray, frac: float, color: tuple[int, int, int] = (128, 128, 128)
        ) -> np.ndarray:
    """A band of ``color`` ``frac`` of the size wide around the photo."""
    h, w = rgb.shape[:2]
    py, px = round(h * frac), round(w * frac)
    out = np.empty((h + 2 * py, w + 2 * px, 3), np.uint8)
    out[:] = color
    out[py:py + h, px:px + w] = rgb
    return out


def shrink_in_frame(rgb: np.ndarray, scale: float, offset: tuple[float, float] = (0.0, 0.0)
                    ) -> np.ndarray:
    """The photo shrunk by ``scale`` on a white canvas of the same size, centred + ``offset``
    (fractions of the canvas)."""
    h, w = rgb.shape[:2]
    small = np.asarray(Image.fromarray(rgb).resize((round(w * scale), round(h * scale)),
                                                   Image.Resampling.LANCZOS))
    out = np.full_like(rgb, 255)
    sh, sw = small.shape[:2]
    y0 = int(round((h - sh) / 2 + offset[1] * h))
    x0 = int(round((w - sw) / 2 + offset[0] * w))
    y0, x0 = min(max(0, y0), h - sh), min(max(0, x0), w - sw)
    out[y0:y0 + sh, x0:x0 + sw] = small
    return out


def crop_cut_off(rgb: np.ndarray, side: str = "right", share: float = 0.3) -> np.ndarray:
    """Cropped so ``share`` of the product's width/height on ``side`` falls outside the frame."""
    a = product_alpha(rgb) >= 0.5
    ys, xs = np.nonzero(a)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    if side == "right":
        return rgb[:, : x1 - round(share * (x1 - x0))].copy()
    if side == "left":
        return rgb[:, x0 + round(share * (x1 - x0)):].copy()
    if side == "bottom":
        return rgb[: y1 - round(share * (y1 - y0))].copy()
    return rgb[y0 + round(share * (y1 - y0)):].copy()


def paste_on(rgb: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """The product of a studio shot composited on ``backdrop`` (resized to the photo's size)."""
    h, w = rgb.shape[:2]
    bg = np.asarray(Image.fromarray(backdrop).resize((w, h), Image.Resampling.BILINEAR))
    a = product_alpha(rgb)[..., None]
    return np.clip(a * rgb + (1 - a) * bg, 0, 255).round().astype(np.uint8)
