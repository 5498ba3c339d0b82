"""The edge measure under a camera's grain (vision/edge_blur.py): grain adds its power to both
gradients of the Zhuo & Sim ratio, so a blurred edge with grain read sharper than a sharp one (on
the amateur senders' phone photos, ~534 px, the blur_noise copies were named BLURRY on about half
only). Given the noise's sd, the ratio leaves its expected share out."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from analyzer.engine import analyze
from analyzer.vision.edge_blur import measure_edge_blur, noise_gains


def _shapes(size: int = 480, seed: int = 0) -> np.ndarray:
    """Grey 0..1: discs and boxes of several contrasts on a mid-grey ground."""
    rng = np.random.default_rng(seed)
    a = np.full((size, size), 0.5, np.float32)
    for _ in range(14):
        v = float(rng.uniform(0.1, 0.9))
        x, y = (int(t) for t in rng.integers(40, size - 40, 2))
        r = int(rng.integers(15, 45))
        if rng.random() < 0.5:
            cv2.circle(a, (x, y), r, v, -1)
        else:
            cv2.rectangle(a, (x - r, y - r), (x + r, y + r // 2), v, -1)
    return a


def _sigma30(gray: np.ndarray, noise: float = 0.0) -> float:
    h, w = gray.shape
    eb = measure_edge_blur(gray, np.ones((h, w), bool), (0, 0, w, h), noise=noise)
    return float(np.percentile(eb.sigma, 30))


def test_the_gains_are_the_kernels_squared_weights():
    k1, k2 = noise_gains(1.0)
    assert abs(k1 - 0.375) < 1e-6  # Sobel / 8: 12 / 64 a direction, two directions
    n = np.random.default_rng(1).normal(0, 0.02, (600, 600)).astype(np.float32)
    gx = cv2.Sobel(n, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(n, cv2.CV_32F, 0, 1, ksize=3) / 8
    assert abs(float((gx * gx + gy * gy).mean()) / 0.02 ** 2 - k1) < 0.02
    assert 0.03 < k2 < 0.05


def test_grain_no_longer_makes_a_blurred_edge_read_sharp():
    clean = cv2.GaussianBlur(_shapes(), (0, 0), 1.6)
    truth = _sigma30(clean)
    for seed in range(3):
        grainy = clean + np.random.default_rng(seed).normal(0, 5 / 255, clean.shape).astype(
            np.float32)
        raw = _sigma30(grainy)
        fixed = _sigma30(grainy, noise=5 / 255)
        # the grain made the edges read sharper than a sharp picture's (0.77 px)
        assert raw < 0.5 * truth
        # most of the blur is read again; the rest is Canny's pick of local gradient maxima,
        # where the grain happened to add to the gradient more than its expected share
        assert 0.65 * truth < fixed <= 1.1 * truth, (raw, fixed, truth)
    # a sharp picture with the same grain stays sharp
    sharp = _shapes() + np.random.default_rng(7).normal(0, 5 / 255, clean.shape).astype(
        np.float32)
    assert _sigma30(sharp, noise=5 / 255) < 0.8


def _jpeg(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def test_a_small_blurred_phone_photo_with_grain_is_called_blurry(studio_photo):
    """At a phone photo's web size (540 px) a blur of 1.2 px with grain over NOISY's line was
    named NOISY only: the grain hid the blur from the edge measure too."""
    grey = np.asarray(Image.open(studio_photo).convert("L").resize((436, 540), Image.LANCZOS),
                      np.float32)
    soft = cv2.GaussianBlur(grey, (0, 0), 1.2)
    g = np.random.default_rng(3)
    flagged = 0
    for _ in range(3):
        r = analyze(_jpeg(soft + g.normal(0, 5.0, soft.shape)), name="soft.jpg",
                    use_model=False)
        flagged += "BLURRY" in {f.code for f in r.flags}
    assert flagged >= 2, flagged
    sharp = analyze(_jpeg(grey + g.normal(0, 5.0, grey.shape)), name="sharp.jpg",
                    use_model=False)
    assert not {"BLURRY", "UPSCALED"} & {f.code for f in sharp.flags}, sharp.flags
