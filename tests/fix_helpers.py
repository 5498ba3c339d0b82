"""Synthetic photos for the fix tests (no ../shared needed)."""

from __future__ import annotations

import cv2
import numpy as np


def soft_disk(size: tuple[int, int] = (600, 800), center: tuple[int, int] | None = None,
              radius: int = 150, color: tuple[int, int, int] = (200, 30, 30),
              backdrop: tuple[int, int, int] = (128, 128, 128), soft: float = 6.0,
              ) -> tuple[np.ndarray, np.ndarray]:
    """A flat-coloured disk with a soft (blurred) edge on a flat backdrop: (rgb, true alpha)."""
    h, w = size
    cy, cx = center or (h // 2, w // 2)
    yy, xx = np.mgrid[:h, :w]
    hard = (((yy - cy) ** 2 + (xx - cx) ** 2) <= radius ** 2).astype(np.float32)
    alpha = cv2.GaussianBlur(hard, (0, 0), soft)
    a = alpha[..., None]
    rgb = a * np.array(color, np.float32) + (1 - a) * np.array(backdrop, np.float32)
    return np.rint(rgb).astype(np.uint8), alpha


def textured_box(size: tuple[int, int] = (900, 1200), box: tuple[int, int, int, int] = (
        400, 300, 800, 700), backdrop: tuple[int, int, int] = (255, 255, 255),
        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured, shaded box (x0, y0, x1, y1) on a flat backdrop: (rgb, mask 0/1)."""
    rng = np.random.default_rng(seed)
    h, w = size
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = backdrop
    x0, y0, x1, y1 = box
    base = rng.integers(40, 160, 3)
    shade = np.linspace(0, 60, y1 - y0)[:, None, None]
    tex = rng.integers(-15, 16, (y1 - y0, x1 - x0, 3))
    rgb[y0:y1, x0:x1] = np.clip(base + shade + tex, 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.float32)
    mask[y0:y1, x0:x1] = 1.0
    return rgb, mask


def textured_blob(size: tuple[int, int] = (1200, 1600), center: tuple[int, int] = (600, 900),
                  axes: tuple[int, int] = (300, 220), backdrop: tuple[int, int, int] = (
                      255, 255, 255), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured, shaded ellipse (a round product: no straight edges a border finder could
    take for a frame) on a flat backdrop: (rgb, mask 0/1)."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[:h, :w]
    cy, cx = center
    ay, ax = axes
    inside = ((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2 <= 1.0
    rgb = np.empty((h, w, 3), np.float32)
    rgb[:] = backdrop
    base = rng.integers(40, 160, 3).astype(np.float32)
    shade = ((yy - cy + ay) / (2 * ay) * 60)[..., None]
    tex = rng.integers(-15, 16, (h, w, 3))
    rgb = np.where(inside[..., None], base + shade + tex, rgb)
    return np.clip(rgb, 0, 255).astype(np.uint8), inside.astype(np.float32)


def white_garment_on_grey(size: tuple[int, int] = (1000, 800), backdrop: int = 214,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A white garment filling most of the frame on a light-grey backdrop strip, with creases
    (narrow soft valleys at random angles, 15-30 levels deep), knit noise and stitched seams, and
    a dark zip down its front; the salient-object mask found only the zip (what u2netp does on
    luma's white jackets on grey). Returns (rgb, the mask as found, the garment's true extent)."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    garment = xx < 0.82 * w
    body = np.full((h, w), 240.0) + rng.normal(0, 2.0, (h, w))
    for _ in range(14):
        ang = rng.uniform(0, np.pi)
        d = (xx - rng.uniform(0, w)) * np.cos(ang) + (yy - rng.uniform(0, h)) * np.sin(ang)
        body -= rng.uniform(15, 30) * np.exp(-0.5 * (d / rng.uniform(4, 8)) ** 2)
    rgb = np.where(garment, body, backdrop + rng.normal(0, 1.0, (h, w)))
    rgb = np.repeat(rgb[..., None], 3, axis=2)
    for x0 in (int(0.15 * w), int(0.62 * w)):      # seams
        rgb[:, x0:x0 + 3] = 120
    rgb[int(0.45 * h):int(0.47 * h), :int(0.82 * w)] = 140
    zx0, zx1 = int(0.42 * w), int(0.44 * w)
    rgb[int(0.1 * h):int(0.9 * h), zx0:zx1] = 35    # the zip
    mask = np.zeros((h, w), np.float32)
    mask[int(0.1 * h):int(0.9 * h), zx0:zx1] = 1.0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8), mask, garment


def white_product_on_grey(size: tuple[int, int] = (900, 900), backdrop: int = 212,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A whole white product (an ellipse: a bag, a sneaker) on a light-grey sweep (a gentle
    top-to-bottom fall-off and sensor noise), with folds, a stitched seam and a small dark logo;
    the salient-object mask found only the logo. Returns (rgb, the mask as found, the product's
    true extent)."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    product = ((yy - 0.5 * h) / (0.3 * h)) ** 2 + ((xx - 0.5 * w) / (0.32 * w)) ** 2 <= 1.0
    body = np.full((h, w), 242.0) + rng.normal(0, 1.5, (h, w))
    for _ in range(8):
        ang = rng.uniform(0, np.pi)
        d = (xx - rng.uniform(0, w)) * np.cos(ang) + (yy - rng.uniform(0, h)) * np.sin(ang)
        body -= rng.uniform(12, 25) * np.exp(-0.5 * (d / rng.uniform(4, 8)) ** 2)
    sweep = backdrop + 8.0 * (0.5 - yy / h) + rng.normal(0, 1.0, (h, w))
    rgb = np.where(product, body, sweep)
    rgb = np.repeat(rgb[..., None], 3, axis=2)
    seam = product & (np.abs(yy - 0.62 * h) < 2)
    rgb[seam] = 130
    logo = (slice(int(0.42 * h), int(0.5 * h)), slice(int(0.44 * w), int(0.56 * w)))
    rgb[logo] = 40
    mask = np.zeros((h, w), np.float32)
    mask[logo] = 1.0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8), mask, product


def grey_product_jpeg() -> bytes:
    """A textured round product on a light grey backdrop, as JPEG bytes (the dashboard fix
    tests' upload)."""
    import io

    from PIL import Image

    rgb, _ = textured_blob(size=(600, 800), center=(300, 400), axes=(220, 170),
                           backdrop=(200, 198, 190))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    return buf.getvalue()
