"""What copiers do to a catalog photo, as families of random edits (for the near-duplicate
evaluation and its tests).

Every copy is first *resized* (40-100% of the long side) and finally *re-encoded* as JPEG
(quality 50-90), the way a photo saved from a results page and uploaded again is; in between,
one family's edit:

- ``resize``: only the resize and re-encode (stronger: 30-70% and quality 35-70);
- ``mirror``: flipped left-right;
- ``crop``: 2-10% of the frame cut off, unevenly over the four sides;
- ``text``: a shop name stamped in a corner or across the bottom (letters 4-8% of the height);
- ``colour``: a slight colour shift (hue +-4-10 degrees, saturation x0.85-1.15, brightness
  +-3-8%);
- ``mirror_crop_text``: all three of the above at once.
"""

from __future__ import annotations

import io
import string

import cv2
import numpy as np
from PIL import Image

FAMILIES = ("resize", "mirror", "crop", "text", "colour", "mirror_crop_text")


def _jpeg(rgb: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=int(q))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _resize(rgb: np.ndarray, s: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (max(16, int(w * s)), max(16, int(h * s))),
                      interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def crop(rgb: np.ndarray, rng: np.random.Generator, total: tuple[float, float] = (0.02, 0.10)
         ) -> np.ndarray:
    h, w = rgb.shape[:2]
    out = rgb
    for axis, n in ((0, h), (1, w)):
        t = rng.uniform(*total)
        a = rng.uniform(0, 1)
        lo, hi = int(round(n * t * a)), int(round(n * t * (1 - a)))
        out = out[lo:n - hi] if axis == 0 else out[:, lo:n - hi]
    return np.ascontiguousarray(out)


def stamp_text(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = rgb.shape[:2]
    out = rgb.copy()
    name = "".join(rng.choice(list(string.ascii_uppercase + string.ascii_lowercase),
                              int(rng.integers(5, 11))))
    if rng.uniform() < 0.5:
        name = name + ".shop"
    height = rng.uniform(0.04, 0.08) * h
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = height / 22.0
    thick = max(1, int(scale * 2))
    (tw, th), _ = cv2.getTextSize(name, font, scale, thick)
    if tw > 0.9 * w:
        scale *= 0.9 * w / tw
        (tw, th), _ = cv2.getTextSize(name, font, scale, thick)
    where = rng.integers(0, 5)
    m = int(0.03 * min(h, w))
    xs = [m, w - tw - m, m, w - tw - m, (w - tw) // 2]
    ys = [th + m, th + m, h - m, h - m, h - m]
    colour = tuple(int(c) for c in rng.choice([[0, 0, 0], [200, 20, 20], [40, 40, 160],
                                               [120, 120, 120]]))
    cv2.putText(out, name, (int(xs[where]), int(ys[where])), font, scale, colour, thick,
                cv2.LINE_AA)
    return out


def colour_shift(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float32)
    dh = rng.uniform(2, 5) * rng.choice([-1, 1])       # OpenCV hue is degrees / 2
    hsv[..., 0] = (hsv[..., 0] + dh) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.85, 1.15), 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    out = out * (1 + rng.uniform(0.03, 0.08) * rng.choice([-1, 1]))
    return np.clip(out, 0, 255).astype(np.uint8)


def make_copy(rgb: np.ndarray, family: str, rng: np.random.Generator) -> np.ndarray:
    """One random copy of ``rgb`` (RGB uint8) in ``family`` (see the module docstring)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family}")
    strong = family == "resize"
    out = _resize(rgb, rng.uniform(0.3, 0.7) if strong else rng.uniform(0.4, 1.0))
    if family in ("mirror", "mirror_crop_text"):
        out = np.ascontiguousarray(out[:, ::-1])
    if family in ("crop", "mirror_crop_text"):
        out = crop(out, rng)
    if family in ("text", "mirror_crop_text"):
        out = stamp_text(out, rng)
    if family == "colour":
        out = colour_shift(out, rng)
    return _jpeg(out, int(rng.integers(35, 71) if strong else rng.integers(50, 91)))
