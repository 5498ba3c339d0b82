"""Synthetic natural textures for the sharpness tests (not a test module)."""

from __future__ import annotations

import numpy as np


def natural_texture(side: int, seed: int) -> np.ndarray:
    """A ``side`` x ``side`` random texture with a 1/f amplitude (1/f^2 power) spectrum, the
    spectrum of natural photos (Field, JOSA A 4(12), 1987), with detail up to the pixel: grey
    float32 of mean 128 and sd 40."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(side)[:, None]
    fx = np.fft.rfftfreq(side)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f
    img = np.fft.irfft2(spec, s=(side, side))
    return (128 + 40 * (img - img.mean()) / img.std()).astype(np.float32)
