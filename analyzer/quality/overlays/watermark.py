"""Semi-transparent watermarks laid over the product.

An overlay of colour ``W`` at opacity ``a`` turns every covered pixel ``I`` into
``I' = (1 - a) I + a W``; in grey (any weighted mean of the channels) the same holds with the
mark's own grey level. The distance to ``W`` shrinks by the same factor wherever the mark lies:
``|W - I'| = (1 - a) |W - I|``. In the log of that distance,

    L = log(e + |W - I|),    L' = L + log(1 - a)    (exact for e = 0),

the mark is an *additive* layer of one constant depth ``-log(1 - a)`` (0.16 .. 0.60 for opacities
0.15 .. 0.45) over any underlying colour: a faint word over a dark sweater and over a pale sleeve
becomes the same flat, dark-inked word. Its strokes are taken out of the background with a
morphological black top-hat (closing minus image, Soille, "Morphological Image Analysis", 2003,
ch. 4), ``T = close(L) - L``, once for each hypothesis of the mark's grey level
(``watermark_levels``), at a reduced size: white, black and a light grey (225). A light grey
mark is neither a white nor a black layer: over a white backdrop, grey 170-235 at 15-35% is a
dip of 0.01-0.11 under the black hypothesis (mostly under the stroke floor) and a rise under the
white one. Under a level of its own, from which the white backdrop and a darker product both lie
farther than the mark does, it pulls both towards that level: a dip over either. A mid grey was
tried earlier and left out, since a region of that very grey turns into noise; a light grey
region is rarer on a product, and a white backdrop lies well away from it, though light motifs
on a darker ground (a patterned print, a foam grip's ribs) now and then read as letters under it
(README: 3 + 3 of 886 held clean photos more flagged, none of the tune ones).

The verifier was fitted on the white and black hypotheses only; its one split on the hypothesis
feature is at 0.5, so it reads every level but white as a dark layer (:func:`hypothesis`).

Character candidates are the connected components of ``T > stroke_min`` of glyph size. Each is
described by a few numbers (:func:`component_features`): its size and shape, its depth (mean
``T``) and how flat that depth is across the glyph (a rendered glyph is one opacity; folds, seams
and grain are not), how sharp its border is in ``L`` relative to its depth (rendered edges are
steps), the texture around it, and how many components nearby share its height and depth (a
word's letters do: the grouping cue of connected-component text detectors, Epshtein et al.,
"Detecting text in natural scenes with stroke width transform", CVPR 2010). A gradient-boosted
tree ensemble (Friedman, "Greedy function approximation", 2001), fitted on the *tuning* splits
only by ``scripts/fit_watermark_verifier.py`` (labels: the pixels the generated watermark
changed), gives each component a log-odds margin; it is stored as data in
``analyzer/data/watermark_verifier.json``.

Score: ``evidence`` = the ``k``-th highest component margin (``watermark_k``) among *distinct*
shapes: a watermark is a word, several letters, so one glyph-like fold cannot flag a photo
alone. A photo holds a watermark when ``evidence >= watermark_margin``. The same shape is often
a candidate under both hypotheses (a light mark and a dark one: a fold's highlight and its
shadow), and was counted as two letters: a clean jump rope's one fold flagged "2 letter shapes"
(a sixth new user's try, 2026-12-06, where it came and went with any re-save). A candidate
whose box lies mostly (half of the smaller box or more) on a better one's is the same shape and
is not counted again (:func:`distinct`). ``watermark_k`` and ``watermark_margin`` were chosen
before that (``scripts/fit_watermark_verifier.py`` counts every candidate); counting fewer can
only lower the evidence, so it flags no photo the choice did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from analyzer.quality.overlays import trees
from analyzer.quality.overlays.zone import on_face
from analyzer.vision.mask_ops import label_with_stats

VERIFIER = Path(__file__).resolve().parents[2] / "data" / "watermark_verifier.json"

FEATURES = ("hyp", "h", "aspect", "fill", "depth", "depth_cv", "sharp", "level",
            "texture", "density", "n_sim", "sim_depth")

_EPS = 8.0  # the log's offset: keeps JPEG noise in near-white / near-black areas from exploding


@dataclass
class WatermarkFinding:
    evidence: float            # k-th best component margin minus the one that flags (>= 0: found)
    n_glyphs: int              # components over the flagging margin
    boxes: list[tuple[int, int, int, int]]  # their boxes, original px (x0, y0, x1, y1)

    @property
    def found(self) -> bool:
        return self.evidence >= 0.0


# L in fixed point: (L - log e) * _SCALE as uint8, so the morphology runs on bytes (a depth of
# 0.1, opacity 0.1, is 6.4 levels; the deepest, log(263 / 8) = 3.49, is 223).
_SCALE = 64.0
_V = np.arange(256, dtype=np.float64)


@lru_cache(maxsize=8)
def _lut(level: int) -> np.ndarray:
    return np.round((np.log(_EPS + np.abs(_V - level)) - np.log(_EPS)) * _SCALE).astype(np.uint8)


def log_distance_maps(gray_u8: np.ndarray, work_side: int, levels: tuple[int, ...] = (255, 0)
                      ) -> tuple[float, list[np.ndarray]]:
    """(scale, [L for a mark of each grey level] as fixed-point bytes) at the working size. Any
    grey conversion with weights summing to 1 keeps the blend's factor:
    ``sum_c w_c (W_c - I'_c) = (1 - a) sum_c w_c (W_c - I_c)``."""
    H0, W0 = gray_u8.shape[:2]
    s = min(1.0, work_side / max(H0, W0))
    g = gray_u8
    if s < 1.0:
        # area averaging exactly, not shrink_area's fast boxes: their softer strokes moved the
        # verifier's log-odds by 0.3 on a typical photo (median of 238 reports), up to 2.7, and
        # read a clean shirt's folds as a 3-letter watermark
        g = cv2.resize(gray_u8, (max(1, round(W0 * s)), max(1, round(H0 * s))),
                       interpolation=cv2.INTER_AREA)
    return s, [cv2.LUT(g, _lut(int(v))) for v in levels]


def component_features(L: np.ndarray, hyp: int, th: dict
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features [n, len(FEATURES)], boxes [n, 4] at the working size, the label image and the
    candidates' labels in it)."""
    H, W = L.shape
    k = int(th["watermark_closing_px"])
    # A square closing: separable, a third of a disc's cost; strokes are thinner than it either way.
    T8 = cv2.subtract(cv2.morphologyEx(L, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)), L)
    on = np.greater(T8, _SCALE * float(th["watermark_stroke_min"])).astype(np.uint8)
    n, labels, st, cen = label_with_stats(on, 8, cv2.CCL_GRANA)
    empty = (np.zeros((0, len(FEATURES))), np.zeros((0, 4), int), labels, np.zeros(0, int))
    if n <= 1:
        return empty
    x, y, w, h, area = (st[1:, i].astype(np.float64) for i in range(5))
    hmin, hmax = (float(th[k]) * H for k in ("watermark_min_h_frac", "watermark_max_h_frac"))
    keep = (h >= hmin) & (h <= hmax) & (w <= 0.5 * W) & (area >= 10) & (w <= 8 * h)
    idx = np.flatnonzero(keep) + 1
    if idx.size == 0:
        return empty
    if idx.size > int(th["watermark_max_components"]):  # the largest first
        idx = idx[np.argsort(-area[idx - 1])[: int(th["watermark_max_components"])]]
    # Per-component sums over the stroke pixels only (label 0, the rest, is never used): a
    # stroke is a few % of the frame, so the sums cost a few % of the whole label image's.
    px = np.flatnonzero(on)  # the labelled pixels (a uint8 scan: cheaper than the labels')
    lab = labels.ravel()[px]
    cnt = st[:, 4].astype(np.float64)
    tv = T8.ravel()[px].astype(np.float64) / _SCALE
    s1 = np.bincount(lab, tv, minlength=n)
    s2 = np.bincount(lab, tv * tv, minlength=n)
    gm = cv2.morphologyEx(L, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).ravel()[px]
    sg = np.bincount(lab, gm.astype(np.float64) / _SCALE, minlength=n)
    mean = s1[idx] / cnt[idx]
    std = np.sqrt(np.maximum(0.0, s2[idx] / cnt[idx] - mean ** 2))
    # The neighbourhood, sampled at each centroid: the level under the mark, the texture (mean
    # top-hat) and how much of it is stroke (density), over about 4% of the long side (box means
    # at a quarter of the size: a tenth of the cost).
    q = (max(1, W // 4), max(1, H // 4))
    r = max(1, int(round(0.01 * max(H, W))))
    lvl, tex, den = (cv2.blur(cv2.resize(a[: 4 * q[1], : 4 * q[0]], q,
                                         interpolation=cv2.INTER_AREA), (r, r))
                     for a in (L, T8, on * np.uint8(255)))
    cx = np.clip(cen[idx, 0].round().astype(int), 0, W - 1)
    cy = np.clip(cen[idx, 1].round().astype(int), 0, H - 1)
    qx = np.minimum(cx * q[0] // W, q[0] - 1)
    qy = np.minimum(cy * q[1] // H, q[1] - 1)
    hh, ww = h[idx - 1], w[idx - 1]
    # Letters of one word: similar height and depth, within a few heights of each other.
    # squared distances in integers (exact; hypot costs as much as the rest together)
    d2 = (cx[:, None] - cx[None]) ** 2 + (cy[:, None] - cy[None]) ** 2
    hr = hh[:, None] / hh[None]
    dr = mean[:, None] / mean[None]
    sim = ((d2 < (3.0 * np.maximum(hh[:, None], hh[None])) ** 2) & (hr > 0.6) & (hr < 1.67)
           & (dr > 0.7) & (dr < 1.43))
    np.fill_diagonal(sim, False)
    n_sim = sim.sum(axis=1).astype(np.float64)
    sim_depth = np.where(n_sim > 0, (sim * mean[None]).sum(axis=1) / np.maximum(n_sim, 1), 0.0)
    F = np.column_stack([
        np.full(idx.size, float(hyp)), hh / H, ww / hh, area[idx - 1] / (ww * hh), mean,
        std / np.maximum(mean, 1e-6), (sg[idx] / cnt[idx]) / np.maximum(mean, 1e-6),
        lvl[qy, qx] / _SCALE, tex[qy, qx] / _SCALE, den[qy, qx] / 255.0, n_sim,
        np.where(n_sim > 0, sim_depth / np.maximum(mean, 1e-6), 0.0)])
    boxes = np.column_stack([x[idx - 1], y[idx - 1], x[idx - 1] + ww, y[idx - 1] + hh]).astype(int)
    return F, boxes, labels, idx


def hypothesis(level: int) -> int:
    """The verifier's hypothesis feature for a mark of grey ``level``: 0 a white layer (the
    mark lighter than what it covers), 1 any other: black, or a light grey (darker than a white
    backdrop, lighter than most products: a dip under its own level over both alike)."""
    return 0 if int(level) >= 255 else 1


def candidates(gray_u8: np.ndarray, th: dict) -> tuple[float, np.ndarray, np.ndarray]:
    """(scale, features of every candidate glyph under every hypothesis, their boxes)."""
    levels = tuple(th["watermark_levels"])
    s, maps = log_distance_maps(gray_u8, int(th["watermark_work_side"]), levels)
    feats, boxes = [], []
    for level, L in zip(levels, maps, strict=True):
        F, B, _, _ = component_features(L, hypothesis(level), th)
        feats.append(F)
        boxes.append(B)
    return s, np.concatenate(feats), np.concatenate(boxes)


def verifier(path: Path = VERIFIER) -> trees.BoostedTrees:
    """The glyph verifier, checked to read this module's features in this order."""
    v = trees.load(str(path))
    if v.features != FEATURES:
        raise ValueError(f"{path} was fitted on other features: {list(v.features)}")
    return v


def margins(X: np.ndarray, path: Path = VERIFIER) -> np.ndarray:
    """The boosted trees' log-odds that each component is a watermark glyph."""
    return verifier(path).margins(X)


def image_evidence(m: np.ndarray, k: int) -> float:
    """The k-th highest margin (a word has several letters); very low when there are fewer."""
    if len(m) < k:
        return -20.0
    return float(np.partition(m, len(m) - k)[len(m) - k])


def distinct(m: np.ndarray, boxes: np.ndarray, top: int = 32) -> np.ndarray:
    """Which candidates count (bool over ``m``): of the ``top`` best by margin, each whose box
    does not lie for half of the smaller box's area or more on a better counted one's (the same
    shape under the other hypothesis); the rest never reach the k-th place that decides."""
    keep = np.zeros(len(m), bool)
    order = np.argsort(-m, kind="stable")[:top]
    b = np.asarray(boxes, np.int64)[order]
    raw = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    # every pair at once (a 32 x 32 table): the same tests, in integers, as box by box
    iw = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    ih = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    same = (iw > 0) & (ih > 0) & (iw * ih >= 0.5 * np.minimum(np.maximum(1, raw)[:, None],
                                                              raw[None, :]))
    kept: list[int] = []
    for i in range(len(order)):
        if not same[i, kept].any():
            kept.append(i)
    keep[order[kept]] = True
    return keep


def find_watermark(gray_u8: np.ndarray, th: dict, printed: np.ndarray | None = None
                   ) -> WatermarkFinding:
    """Measure -> score -> flag for one grey image (see the module docstring). ``printed``
    (bool, ``gray_u8``'s size): a printed product's face, whose letter shapes are its own print
    (a cover's lettering), left out."""
    s, X, B = candidates(gray_u8, th)
    m = margins(X)
    if printed is not None and len(B):
        m = np.where([on_face(tuple(b), s, printed) for b in B], -20.0, m)
    need = float(th["watermark_margin"])
    one = distinct(m, B) if len(B) else np.zeros(0, bool)  # each shape counted once
    ev = image_evidence(m[one], int(th["watermark_k"])) - need
    hit = one & (m >= need)
    boxes = [(int(x0 / s), int(y0 / s), int(np.ceil(x1 / s)), int(np.ceil(y1 / s)))
             for x0, y0, x1, y1 in B[hit]] if ev >= 0 else []
    return WatermarkFinding(ev, int(hit.sum()) if ev >= 0 else 0, boxes)
