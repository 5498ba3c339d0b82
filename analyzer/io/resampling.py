"""Pixel repetition: a photo enlarged without smoothing (nearest-neighbour), read from its pixels.

Enlarging a photo ``k`` times by repeating pixels leaves blocks of ``k`` equal columns and rows:
the difference between neighbouring columns is (near) zero inside a block and carries all the
photo's detail at the block's edge, every ``k`` pixels. So the column profile
``c(x) = mean_y |I(x + 1, y) - I(x, y)|`` (and the row profile, the same down the rows) is a comb
of period ``k``, which no natural photo's profile is: its edges fall anywhere. Measured by the
largest component of the profile's spectrum at a period of 2 to ``1 / min_freq`` px (the
periodic resampling trace of Popescu & Farid, "Exposing digital forgeries by detecting traces
of resampling", IEEE TSP 53(2), 2005, read on first differences as Kirchner does, "Fast and
reliable resampling detection by spectral analysis of fixed linear predictor residue", ACM
MM&Sec 2008), two numbers per axis:

- depth ``2 |C(f0)| / (n mean(c))``: the comb's amplitude over the profile's mean level, about 1
  for repeated pixels (0.3-1.4 after a JPEG save at quality 80-95) and under 0.2 on clean studio,
  amateur, in-store and catalogue photos (a smooth enlargement or a downscale leaves a ripple of
  0.05-0.15);
- peak ratio ``|C(f0)|^2 / mean_f |C(f)|^2``: how far the component stands above the spectrum,
  so a few isolated edges (a flat product's outline: a flat spectrum) do not count.

The weaker axis decides (pixels repeat both ways). Only the columns and rows within a few
pixels of some detail count (``c >= min_level``), so a white backdrop's empty columns do not.
JPEG compression also makes a comb, of period 8 (the block grid) and its harmonics 4, 2.67 and
2: depths of up to 0.47 at quality 15-40, and 0.25-0.35 on dark, flat studio close-ups saved at
quality 77-89 (8 of 725 luma photos). Its comb has one step per block, so the profile folded on
the 8 x 8 grid (the window starts on it) shows one high phase and seven alike; repeated pixels
with a period of 2 or 4 fill the fold with high and near-zero phases, and with a period that
does not divide 8 they spread over all eight alike. A comb at a period within 3% of 8 / m whose
fold is that (the lowest of the seven phases at least ``grid_flat`` of the highest, the eighth
at least 1.3 times that) is ``grid_like``; the sharpness check does not call it pixelated,
nor anything on a file already flagged ``COMPRESSED``. Lossy WebP, AVIF and HEIC code 4 x 4
blocks: on a file of those formats a comb of period 4 / m folded the same way on 4 px is the
codec's too, when it stays shallow and moderate (``_GRID4_*``; a clean studio photo saved as
WebP at 90-95 reads depth 0.25-0.47 there, pixels repeated 4 times deeper or with the other
phases near zero).

A file saved losslessly (PNG, BMP, TIFF, GIF: :data:`LOSSLESS_FORMATS`) keeps repeated pixels
as exact copies, so a share of its profile is exactly zero: 21-79% on the pixelated family's
copies saved as PNG. ``exact`` is that share (the weaker axis). A JPEG enlarged smoothly
(1.1-2x) and saved as PNG keeps its old block grid, enlarged to 8k px, whose harmonics (2.1-4.3
px) can read as a shallow comb (depth 0.25-0.40) with no exact zero (0-5%): 21 of 84 such
copies of the 14 luma photos with the deepest grids. The sharpness check asks a shallow comb
on a lossless file for exact copies (``repeat_exact_min``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Repetition:
    depth: float   # comb amplitude over the profile's mean (weaker axis)
    ratio: float   # peak over mean spectral power (weaker axis)
    period: float  # px between repeated blocks (mean of the two axes)
    grid_like: bool = False  # the comb is the JPEG block grid's (module doc)
    exact: float = 0.0     # share of the profile exactly zero: lines repeated exactly (weaker axis)


NONE = Repetition(0.0, 0.0, 0.0)
# Formats that store pixels exactly: repeated pixels stay exact copies there (module doc).
LOSSLESS_FORMATS = ("PNG", "BMP", "TIFF", "GIF")
_STANDOUT = 1.3  # the grid's phase over the highest of the other seven
# The 4 x 4 transform grid of lossy WebP (VP8) and of AVIF and HEIC at their smallest: a clean
# photo saved as WebP at 90-95 can read a comb of period 4 (or 2, or 3 as the mean of the two
# axes' 4 and 2), depth 0.25-0.47, standing 1.4-2.4 times over the other phases; tested only on
# files of those formats (``repetition(..., codec_grid_4=True)``). Pixels repeated 4 times leave
# a deeper comb or the other phases nearer zero: over these bounds the comb is repetition.
_GRID4_MAX_DEPTH = 0.5
_GRID4_MAX_STANDOUT = 3.0


def _grid_like(cs: np.ndarray, idx: np.ndarray, period: float, flat: float, block: int = 8
               ) -> bool:
    """The comb is a codec's block grid of ``block`` px (JPEG's 8 x 8 by default): its period is
    ``block / m`` and, folded on the grid, the profile ``cs`` (at positions ``idx``) has one
    high phase and the others alike."""
    if min(abs(period - block / m) / (block / m) for m in range(1, block // 2 + 1)) > 0.03:
        return False
    phase = idx % block
    bins = np.array([cs[phase == b].mean() if (phase == b).any() else np.nan
                     for b in range(block)])
    if np.isnan(bins).any():
        return False
    top = int(np.argmax(bins))
    rest = np.delete(bins, top)
    # one phase well above the others alike; repeated pixels whose period does not divide the
    # block (2.67, 3.9) spread their steps over all phases and leave none standing out
    if not (float(rest.min()) >= flat * float(rest.max())
            and float(bins[top]) >= _STANDOUT * float(rest.max())):
        return False
    return block >= 8 or float(bins[top]) <= _GRID4_MAX_STANDOUT * float(rest.max())


def profile(g: np.ndarray, axis: int) -> np.ndarray:
    """The mean absolute difference between neighbouring columns (``axis=1``: the column
    profile ``c(x)``) or rows (``axis=0``), float32, over every second line: plenty for a mean
    over hundreds of lines, at half the cost. OpenCV's absolute difference of bytes and integer
    sums (a line of under 2**24 / 255 px sums exactly in float32 too), divided once: the same
    float32 values as numpy's ``abs(diff(int16)).mean(dtype=float32)``, about 6x cheaper."""
    sub = np.ascontiguousarray(g[::2] if axis == 1 else g[:, ::2])
    d = cv2.absdiff(sub[:, 1:], sub[:, :-1]) if axis == 1 else cv2.absdiff(sub[1:], sub[:-1])
    total = cv2.reduce(d, 1 - axis, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
    return total.astype(np.float32) / np.float32(d.shape[1 - axis])


def _axis(g: np.ndarray, axis: int, min_freq: float, min_level: float, reach: int,
          grid_flat: float, codec_grid_4: bool = False
          ) -> tuple[float, float, float, bool, float] | None:
    """(depth, ratio, period, grid-like, exact share) of one axis: ``axis=1`` the column
    profile."""
    c = profile(g, axis)
    near = np.convolve((c >= min_level).astype(np.float32),
                       np.ones(2 * reach + 1, np.float32), mode="same") > 0
    idx = np.flatnonzero(near)
    cs = c[idx].astype(np.float64)
    if len(cs) < 64 or cs.mean() <= 0:
        return None
    spec = np.fft.rfft(cs - cs.mean())
    f = np.fft.rfftfreq(len(cs))
    power = np.abs(spec) ** 2
    band = np.flatnonzero(f >= min_freq)
    i = int(band[np.argmax(power[band])])
    depth = 2.0 * float(np.abs(spec[i])) / (len(cs) * float(cs.mean()))
    ratio = float(power[i]) / max(float(power[1:].mean()), 1e-12)
    period = 1.0 / float(f[i])
    grid = _grid_like(cs, idx, period, grid_flat) or (
        codec_grid_4 and depth < _GRID4_MAX_DEPTH
        and _grid_like(cs, idx, period, grid_flat, block=4))
    return depth, ratio, period, grid, float(np.count_nonzero(cs == 0.0)) / len(cs)


def repetition(gray: np.ndarray, min_freq: float = 0.15, min_level: float = 0.5,
               reach: int = 6, grid_flat: float = 0.6, codec_grid_4: bool = False) -> Repetition:
    """Pixel repetition of ``gray`` (uint8, the file's own pixels, before any resize; for the
    JPEG test its (0, 0) on the block grid). ``codec_grid_4``: the file is lossy WebP, AVIF or
    HEIC, whose 4 x 4 transform grid is tested too (``_GRID4_*``)."""
    if min(gray.shape[:2]) < 64:
        return NONE
    ax = [_axis(gray, a, min_freq, min_level, reach, grid_flat, codec_grid_4) for a in (1, 0)]
    if ax[0] is None or ax[1] is None:
        return NONE
    (dx, rx, px, gx, ex), (dy, ry, py, gy, ey) = ax
    return Repetition(min(dx, dy), min(rx, ry), (px + py) / 2.0, gx or gy, min(ex, ey))
