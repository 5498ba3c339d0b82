"""How hard a JPEG was compressed: from the file's own tables, and from an earlier save.

A heavily compressed photo (a supplier's web copy, a photo sent through a messaging app) has lost
its fine detail to 8 x 8 blocks; re-saving it at a high quality keeps the damage and hides it from
the file's tables. Two measures, both as an IJG quality (0-100, what ``quality=`` of libjpeg,
Pillow, OpenCV and most editors means):

* :func:`table_quality`: the file's luminance quantisation table against the standard one
  (ITU-T T.81 Annex K, table K.1). IJG scales that table by ``S = 5000 / q`` (q < 50) or
  ``S = 200 - 2 q`` (q >= 50) percent (libjpeg ``jpeg_quality_scaling``), so
  ``S = median(T / K1) * 100`` inverts it; other encoders' tables give the IJG quality of the same
  coarseness.
* :func:`history_quality`: the quantiser steps of an *earlier* compression, read from the decoded
  pixels (Fan & de Queiroz, "Identification of bitmap compression history: JPEG detection and
  quantizer estimation", IEEE TIP 12(2), 2003). On the 8 x 8 grid the low-frequency DCT
  coefficients of a once-compressed image sit near multiples of that save's step ``Q``; later
  saves at a finer step move them by less than a step. For each candidate step ``q`` the phase
  coherence ``R(q) = mean cos(2 pi c / q)`` of the coefficients ``c`` with ``|c| > q / 2`` is
  near 1 for ``q = Q`` and its divisors and low above it, so the largest ``q`` with
  ``R(q) >= min_coherence`` estimates ``Q`` per coefficient. The real part, not the magnitude
  ``|mean exp(2 pi i c / q)|``: a multiple of ``q`` has phase 0, and the magnitude also counts
  values bunched at phase pi, half-way between multiples (the values at +-Q under a step of
  about 2 Q), which read a single save at quality 60 as a save at 15-30. The five steps must
  agree on one scaling of the standard table (:func:`history_quality`), whose quality is the
  answer. A resized or cropped-off-grid photo has no grid: no coefficient passes, and the
  answer is None (unknown, never "bad").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# ITU-T T.81 Annex K table K.1 (luminance), natural (row-major) order, as Pillow reports tables.
STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)

# (row, column) of the AC coefficients read by history_quality: low frequencies, which keep
# non-zero values in textured blocks even at quality 15, and whose steps at quality <= 40 (>= 12)
# stand well above a later quality-95 save's (1-2).
HISTORY_COEFS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0))
# JFIF's luma (ITU-R BT.601 full range): the channel a JPEG quantises (:func:`luma`)
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
# A decoded value this close to the ends of the range may have been clipped there (by the
# earlier save's decoder or the later one's): its block is off the step lattice.
CLIP_LO, CLIP_HI = 1, 254
_MAX_STEP = 48      # quality ~14 for these coefficients: anything coarser reads as that
_MAX_VALUES = 512


def quality_from_scale(scale_percent: float) -> float:
    """The IJG quality whose table scaling is ``scale_percent`` (inverse of libjpeg's
    ``jpeg_quality_scaling``), in [1, 100]."""
    s = max(float(scale_percent), 1e-6)
    q = (200.0 - s) / 2.0 if s <= 100.0 else 5000.0 / s
    return float(min(100.0, max(1.0, q)))


def table_quality(tables: Mapping[int, Sequence[int]] | None) -> float | None:
    """IJG quality of a file's luminance table (Pillow's ``Image.quantization``), or None."""
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    t = np.asarray(tables[0], np.float64)
    # Entries clipped at 1 (quality >= 97) say nothing about the scale: leave them out unless
    # they are all there is.
    keep = t > 1
    ratio = t[keep] / STD_LUMA[keep] if keep.sum() >= 8 else t / STD_LUMA
    return quality_from_scale(float(np.median(ratio)) * 100.0)


def _dct_matrix() -> np.ndarray:
    k = np.arange(8)
    d = np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    d[0] /= np.sqrt(2)
    return d  # orthonormal DCT-II: JPEG's forward DCT of an 8 x 8 block is D B D^T


DCT8 = _dct_matrix()


def block_step(n_rows: int, n_cols: int, max_blocks: int) -> int:
    """The stride, in blocks along both axes, that keeps at most about ``max_blocks`` of an
    ``n_rows`` x ``n_cols`` grid of 8 x 8 blocks (1 takes them all)."""
    return max(1, int(np.ceil(np.sqrt(n_rows * n_cols / max_blocks))))


def grid_blocks(img: np.ndarray, max_blocks: int = 1024) -> np.ndarray:
    """An even spread of at most ``max_blocks`` of the 8 x 8 blocks of ``img`` (grid at (0, 0)),
    as a view (rows, 8, columns, 8, channels) of its pixels."""
    h, w = (img.shape[0] // 8) * 8, (img.shape[1] // 8) * 8
    nby, nbx = h // 8, w // 8
    ch = img.shape[2] if img.ndim == 3 else 1
    if nby == 0 or nbx == 0:
        return np.zeros((0, 8, 0, 8, ch), img.dtype)
    step = block_step(nby, nbx, max_blocks)
    return img[:h, :w].reshape(nby, 8, nbx, 8, ch)[::step, :, ::step]


def grid_coefficients(blocks: np.ndarray) -> np.ndarray:
    """(n_blocks, len(HISTORY_COEFS)) DCT coefficients of the JFIF luma of the blocks
    :func:`grid_blocks` picked (RGB or grey uint8): picked before any conversion, so the cost
    does not grow with the photo."""
    if blocks.size == 0:
        return np.zeros((0, len(HISTORY_COEFS)))
    x = blocks.astype(np.float64)
    y = luma(x) if x.shape[-1] == 3 else x[..., 0]
    b = (y - 128.0).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    coef = DCT8 @ b @ DCT8.T
    return np.stack([coef[:, r, c] for r, c in HISTORY_COEFS], axis=1)


def clipped_blocks(blocks: np.ndarray) -> np.ndarray:
    """Which of the blocks :func:`grid_blocks` picked hold a value at the ends of the range
    (<= ``CLIP_LO`` or >= ``CLIP_HI`` in any channel), in :func:`grid_coefficients`' order."""
    return ((blocks <= CLIP_LO) | (blocks >= CLIP_HI)).any(axis=(1, 3, 4)).reshape(-1)


def estimated_step(c: np.ndarray, min_coherence: float, min_values: int) -> int | None:
    """The largest step q in 2.._MAX_STEP whose multiples the coefficients ``c`` cluster on
    (``R(q) >= min_coherence`` over at least ``min_values`` of them with ``|c| > q / 2``); None
    when not even q = 2 does (no grid, or no texture)."""
    c = c[np.abs(c) > 1.0]  # no step q >= 2 counts these (|c| > q / 2)
    if len(c) > _MAX_VALUES:  # an even, deterministic subset: the cost stays flat
        c = c[np.linspace(0, len(c) - 1, _MAX_VALUES).astype(int)]
    q = np.arange(2, _MAX_STEP + 1, dtype=np.float64)
    # Values by falling magnitude: those a step q keeps (|c| > q / 2) are a prefix, so only the
    # kept (step, value) pairs are computed, not the whole steps x values table.
    c = c[np.argsort(-np.abs(c), kind="stable")]
    n = np.searchsorted(-np.abs(c), -q / 2.0, side="left")   # how many |c| > q / 2
    rows = np.repeat(np.arange(len(q)), n)
    cols = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    # The phase 2 pi c / q, reduced to a turn (t - round(t)) in float64 and only then taken to
    # float32, whose cosine is SIMD and ~20x faster: the phase is then off by ~1e-7 rad
    # (unreduced, a float32 phase of a few thousand rad would be off by ~1e-4), the coherence
    # by about as much; the cosines were most of this function's time.
    t = c[cols] / q[rows]
    ph = (t - np.rint(t)).astype(np.float32) * np.float32(2.0 * np.pi)
    # mean cos, not |mean exp|: phase 0 is on a multiple of q, phase pi half-way between (module
    # doc); the sine's mean is 0 on a lattice either way, so it is not computed
    r = np.bincount(rows, np.cos(ph), minlength=len(q)) / np.maximum(n, 1)
    ok = np.flatnonzero((n >= min_values) & (r >= min_coherence))
    return int(q[ok[-1]]) if len(ok) else None


def history_quality(img: np.ndarray, min_coherence: float = 0.6, min_values: int = 24,
                    max_blocks: int = 1024, agree: float = 0.25) -> float | None:
    """IJG quality of the coarsest earlier JPEG save visible on the 8 x 8 grid of ``img`` (RGB
    or grey uint8, as decoded, grid at (0, 0); module doc), or None when the grid holds no
    evidence.

    A JPEG scales one table, so the five steps divided by the standard table's entries agree;
    a regular texture (a waffle knit, a print) can make one coefficient's values cluster on a
    large "step" of its own. So the answer is the median scale of the coefficients within
    ``agree`` (relative) of the median of all, and None unless at least three agree.

    When all the blocks read give no answer, the blocks without a clipped value are read on
    their own. A decoder clips each channel to 0..255, so a block with a pure white backdrop
    next to the product's edge, or a saturated colour, decodes off the lattice of multiples of
    the step; on a studio shot those edge blocks hold the largest coefficients, which are the
    ones the steps are read from, and bring the coherence at the true step to 0.4-0.6 (a
    white milk carton, a saturated blue jacket). Only as a second read: on photos whose first
    read succeeds, dropping blocks leaves fewer values, and the largest coherent step then
    sometimes lands on a multiple of the true one.
    """
    blocks = grid_blocks(img, max_blocks)
    coefs = grid_coefficients(blocks)
    q = steps_quality(coefs, min_coherence, min_values, agree)
    if q is None and len(coefs):
        clipped = clipped_blocks(blocks)
        if clipped.any() and not clipped.all():
            q = steps_quality(coefs[~clipped], min_coherence, min_values, agree)
    return q


def steps_quality(coefs: np.ndarray, min_coherence: float, min_values: int,
                  agree: float) -> float | None:
    """The IJG quality that at least three of the coefficients' steps agree on (see
    :func:`history_quality`), or None."""
    if len(coefs) == 0:
        return None
    scales = []
    for j, (r, c) in enumerate(HISTORY_COEFS):
        step = estimated_step(coefs[:, j], min_coherence, min_values)
        if step is not None:
            scales.append(step / STD_LUMA[r * 8 + c])
    if len(scales) < 3:
        return None
    s = np.asarray(scales)
    mid = float(np.median(s))
    close = s[np.abs(s - mid) <= agree * mid]
    if len(close) < 3:
        return None
    return quality_from_scale(100.0 * float(np.median(close)))


def luma(rgb: np.ndarray) -> np.ndarray:
    """JFIF luma (ITU-R BT.601 full range) of an RGB array: the channel JPEG quantised,
    recovered from the decoded pixels to about half a level."""
    wr, wg, wb = LUMA_WEIGHTS
    return wr * rgb[..., 0] + wg * rgb[..., 1] + wb * rgb[..., 2]
