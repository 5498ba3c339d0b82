"""Added text and watermarks, on the backdrop or over the product.

A classical, model-free text detector in two stages, in the manner of Neumann & Matas ("Real-time
scene text localization and recognition", CVPR 2012): cheap candidates, then a small learned
verifier on hand-made features of each candidate word.

Candidates. Character candidates are the connected components of the morphological gradient
(dilation minus erosion, Soille, "Morphological Image Analysis", 2003, ch. 3) above each of
``gradient_thresholds``: at the lowest, faint and semi-transparent strokes; at the higher ones,
glyphs drawn over a textured floor or a printed shirt come apart from the texture's edges they
touch at the lowest. Components of character height (``char_min_h_frac`` .. ``char_max_h_frac``
of the height, up to 8 x as wide as tall: bold glyphs merge) are grouped when they sit on one row
or very near one another and are of similar height (the grouping of connected-component text
detectors, e.g. Epshtein et al., "Detecting text in natural scenes with stroke width transform",
CVPR 2010); a group of at least ``min_glyphs`` glyphs is a candidate word.

Verifier. Rendered text differs from wood grain, fabric weave, quilting and photographed print in
ways a few numbers per word capture (:func:`word_features`): its ink is one flat colour (the
within-glyph spread of the darker and the brighter side of each glyph's edge, over the edge's
contrast, ``flat``; the spread of the glyphs' side colours across the word, ``ink_spread`` /
``bg_spread``), its box splits cleanly into ink and background (``ink_std``, ``bg_std``, ``eta``),
its edges are steps as high as the contrast (``sharp``), its glyphs share a height and a baseline
(``hstd``, ``bot``), its strokes run in many directions where grain, stripes and weaves run in one
(gradient-orientation coherence around the word, ``coh``), and it is large and contrasted enough to
be read (``h``, ``contrast``). A gradient-boosted tree ensemble (Friedman, "Greedy function
approximation", 2001) over these features, fitted on the *tuning* splits only
(scripts/fit_text_verifier.py: luma men's apparel and half the amateur clothing senders, clean
photos against the same with text and watermarks of the ``text`` / ``watermark`` families) is
stored as data in ``analyzer/data/text_verifier.json``; a word is text when its margin reaches
``verify_margin``, or ``verify_margin_inside`` when most of its glyphs lie in the product zone
(print on a product is rendered text too: only a clearer case counts there). ``text_area`` is the
accepted words' box area as a fraction of the frame, and ``evidence`` the best word margin (the
score uses it below the flag).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

VERIFIER = Path(__file__).resolve().parents[2] / "data" / "text_verifier.json"

FEATURES = ("h", "contrast", "ink_std", "bg_std", "eta", "sharp", "ring", "dens", "aspect", "hstd",
            "bot", "glyphs", "n", "ink_spread", "bg_spread", "flat", "con_cv", "inside", "coh")


@dataclass
class TextFinding:
    text_area: float          # fraction of the frame covered by word boxes
    n_words: int
    n_chars: int
    boxes: list[tuple[int, int, int, int]]  # word boxes, original px (x0, y0, x1, y1)
    map: np.ndarray           # float32 original size, 1 inside word boxes
    evidence: float = -10.0   # best candidate word's verifier margin over the one that flags


def _union_find_groups(cx: np.ndarray, cy: np.ndarray, hh: np.ndarray,
                       link: float) -> np.ndarray:
    """Group labels linking components of similar height that sit on one row (vertical offset
    under 0.4 x height, horizontal gap under ``link`` x height), or, for tilted text such as a
    diagonal watermark, that are very close in any direction (under 1.2 x height)."""
    n = len(cx)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    dx = np.abs(cx[:, None] - cx[None])
    dy = np.abs(cy[:, None] - cy[None])
    hmax = np.maximum(hh[:, None], hh[None])
    hmin = np.minimum(hh[:, None], hh[None])
    row = (dy < 0.4 * hmax) & (dx < link * hmax)
    near = np.hypot(dx, dy) < 1.2 * hmax
    ok = (row | near) & (hmax <= 2.0 * hmin)
    ii, jj = np.nonzero(np.triu(ok, 1))
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[ri] = rj
    return np.array([find(i) for i in range(n)])


@dataclass
class Word:
    members: np.ndarray       # component labels (1-based) in ``labels``
    glyphs: int
    box: tuple[int, int, int, int]  # working px


def candidate_words(grad: np.ndarray, threshold: float, th: dict
                    ) -> tuple[list[Word], np.ndarray, np.ndarray, np.ndarray]:
    """Candidate words of the morphological gradient ``grad`` above ``threshold``: (words,
    strong, labels, stats) with labels/stats of ``cv2.connectedComponentsWithStats``."""
    H, W = grad.shape
    strong = (grad >= threshold).astype(np.uint8)
    # Leave the outermost rim to the border test: a frame is not text.
    rim = max(2, round(0.01 * max(H, W)))
    strong[:rim] = 0
    strong[-rim:] = 0
    strong[:, :rim] = 0
    strong[:, -rim:] = 0
    n, lab, st, cen = cv2.connectedComponentsWithStats(strong, connectivity=8)
    if n <= 1:
        return [], strong, lab, st
    ww = st[1:, cv2.CC_STAT_WIDTH].astype(np.float64)
    hh = st[1:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    area = st[1:, cv2.CC_STAT_AREA].astype(np.float64)
    fill = area / np.maximum(ww * hh, 1)
    is_char = ((hh >= max(float(th["char_min_h_frac"]) * H, 4))
               & (hh <= float(th["char_max_h_frac"]) * H) & (ww <= 8.0 * hh)
               & (ww >= 0.08 * hh) & (fill >= 0.12) & (fill <= 0.95))
    idx = np.nonzero(is_char)[0]
    if len(idx) == 0:
        return [], strong, lab, st
    if len(idx) > 1500:  # a texture, not text: keep the cost bounded, the largest first
        idx = idx[np.argsort(-area[idx])[:1500]]
    groups = _union_find_groups(cen[1:][idx, 0], cen[1:][idx, 1], hh[idx], float(th["link"]))
    words = []
    for gid in np.unique(groups):
        mem = idx[groups == gid]
        # Bold glyphs touch and merge into one component: count glyphs by width.
        glyphs = int(np.clip(np.round(ww[mem] / (0.7 * hh[mem])), 1, 8).sum())
        if glyphs < int(th["min_glyphs"]):
            continue
        s = st[1:][mem]
        box = (int(s[:, 0].min()), int(s[:, 1].min()), int((s[:, 0] + s[:, 2]).max()),
               int((s[:, 1] + s[:, 3]).max()))
        words.append(Word(mem + 1, glyphs, box))
    return words, strong, lab, st


def _coherence(gx: np.ndarray, gy: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Gradient-orientation coherence in ``box`` from the summed structure tensor (Bigun &
    Granlund, "Optimal orientation detection of linear symmetry", ICCV 1987): 1 for one
    orientation (grain, stripes, a weave's ridges), low for the many stroke directions of text."""
    x0, y0, x1, y1 = box
    bx = gx[y0:y1, x0:x1].astype(np.float64)
    by = gy[y0:y1, x0:x1].astype(np.float64)
    a, b, c = float((bx * bx).sum()), float((by * by).sum()), float((bx * by).sum())
    return float(np.hypot(a - b, 2 * c) / (a + b + 1e-6))


def _edge_sides(g: np.ndarray, lab_u8: np.ndarray, labels: np.ndarray, w: Word
                ) -> tuple[np.ndarray, ...]:
    """For each of the word's first 12 glyph components with both sides: the mean Lab colour of
    its darker and of its brighter side (pixels beyond a quarter of the 10-90% range from the
    middle: the anti-aliased middle left out), the grey-level spread of each side, and the
    range. All glyphs at once: pixels sorted by (component, value), percentiles interpolated as
    ``np.percentile`` does."""
    x0, y0, x1, y1 = w.box
    mem = w.members[:12]
    lab_box = labels[y0:y1, x0:x1]
    m = np.isin(lab_box, mem)
    ids = lab_box[m]
    v = g[y0:y1, x0:x1][m].astype(np.float64)
    lv = lab_u8[y0:y1, x0:x1][m].astype(np.float64)
    order = np.lexsort((v, ids))
    ids, v, lv = ids[order], v[order], lv[order]
    uniq, start, count = np.unique(ids, return_index=True, return_counts=True)
    gi = np.repeat(np.arange(len(uniq)), count)

    def pct(p: float) -> np.ndarray:
        pos = p * (count - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, count - 1)
        return v[start + lo] + (pos - lo) * (v[start + hi] - v[start + lo])

    p10, p90 = pct(0.10), pct(0.90)
    mid, q = (p10 + p90) / 2, 0.25 * (p90 - p10)
    d, b = v < (mid - q)[gi], v > (mid + q)[gi]
    nd = np.bincount(gi, weights=d, minlength=len(uniq))
    nb = np.bincount(gi, weights=b, minlength=len(uniq))
    ok = (nd >= 2) & (nb >= 2)

    def side(sel: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nn = np.maximum(n, 1)
        col = np.stack([np.bincount(gi, weights=lv[:, c] * sel, minlength=len(uniq))
                        for c in range(3)], axis=1) / nn[:, None]
        mean = np.bincount(gi, weights=v * sel, minlength=len(uniq)) / nn
        dev = (v - mean[gi]) ** 2 * sel
        sd = np.sqrt(np.bincount(gi, weights=dev, minlength=len(uniq)) / nn)
        return col[ok], sd[ok]

    dk, sdk = side(d, nd)
    bt, sbt = side(b, nb)
    return dk, bt, sdk, sbt, (p90 - p10)[ok]


def word_features(g: np.ndarray, lab_u8: np.ndarray, w: Word, grad: np.ndarray,
                  strong: np.ndarray, labels: np.ndarray, st: np.ndarray,
                  zone: np.ndarray, sobel: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """The verifier's features of one candidate word (see the module docstring)."""
    H, W = g.shape
    x0, y0, x1, y1 = w.box
    s = st[w.members]
    hm = s[:, 3].astype(np.float64)
    med = float(np.median(hm))
    bw, bh = x1 - x0, y1 - y0
    box = g[y0:y1, x0:x1]
    compmask = np.isin(labels[y0:y1, x0:x1], w.members)
    vals = box[compmask]
    t, _ = cv2.threshold(vals.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    hi = box > t
    ink = hi if hi.mean() < 0.5 else ~hi  # strokes are thin: the smaller class is the ink
    k3 = np.ones((3, 3), np.uint8)
    er = cv2.erode(ink.view(np.uint8), k3).view(bool)
    core = er if er.sum() >= 10 else ink
    bger = cv2.erode((~ink).view(np.uint8), k3).view(bool)
    bgc = bger if bger.sum() >= 10 else ~ink
    gi = box[core].astype(np.float64)
    gb = box[bgc].astype(np.float64)
    if len(gi) and len(gb):
        contrast = abs(gi.mean() - gb.mean()) + 1e-3
        w0 = float(ink.mean())
        eta = w0 * (1 - w0) * (gi.mean() - gb.mean()) ** 2 / (float(box.var()) + 1e-6)
        ink_std, bg_std = gi.std() / contrast, gb.std() / contrast
    else:
        contrast, eta, ink_std, bg_std = 1e-3, 0.0, 9.0, 9.0
    sharp = float(np.percentile(grad[y0:y1, x0:x1][compmask], 90)) / contrast
    pad = max(2, int(round(0.6 * med)))
    rx0, ry0, rx1, ry1 = max(0, x0 - pad), max(0, y0 - pad), min(W, x1 + pad), min(H, y1 + pad)
    outer = int(strong[ry0:ry1, rx0:rx1].sum())
    inner = int(strong[y0:y1, x0:x1].sum())
    ring_area = (ry1 - ry0) * (rx1 - rx0) - bw * bh
    bottoms = s[:, 1] + s[:, 3]
    # Each glyph's edge: its darker and brighter side (outside the anti-aliased middle).
    dk, bt, sdk, sbt, cons = _edge_sides(g, lab_u8, labels, w)
    if len(dk):
        c = float(np.mean(cons)) + 1e-3
        if len(dk) > 1:
            spd = float(np.sqrt(np.var(dk, axis=0).sum())) / c
            spb = float(np.sqrt(np.var(bt, axis=0).sum())) / c
        else:
            spd, spb = float(np.median(sdk)) / c, float(np.median(sbt)) / c
        ink_spread, bg_spread = min(spd, spb), max(spd, spb)
        flat = min(float(np.median(sdk)), float(np.median(sbt))) / c
        con_cv = float(np.std(cons)) / c
    else:
        ink_spread = bg_spread = flat = con_cv = 9.0
    inside = float(zone[y0:y1, x0:x1][compmask].mean()) if zone.any() else 0.0
    return {"h": med, "contrast": float(contrast), "ink_std": float(ink_std),
            "bg_std": float(bg_std), "eta": float(eta), "sharp": sharp,
            "ring": (outer - inner) / max(ring_area, 1), "dens": float(strong[y0:y1, x0:x1].mean()),
            "aspect": bw / max(bh, 1), "hstd": float(np.std(hm)) / med,
            "bot": float(np.median(np.abs(bottoms - np.median(bottoms)))) / med,
            "glyphs": float(w.glyphs), "n": float(len(w.members)), "ink_spread": ink_spread,
            "bg_spread": bg_spread, "flat": flat, "con_cv": con_cv, "inside": inside,
            "coh": _coherence(*sobel, (rx0, ry0, rx1, ry1))}


@lru_cache(maxsize=2)
def _load_verifier(path: str) -> dict:
    d = json.loads(Path(path).read_text())
    trees = []
    for t in d["trees"]:
        trees.append(tuple(np.asarray(t[k]) for k in ("feature", "threshold", "left", "right",
                                                         "value")))
    return {"features": tuple(d["features"]), "init": float(d["init"]),
            "rate": float(d["learning_rate"]), "trees": trees}


def verifier_margin(feats: list[dict[str, float]], path: Path = VERIFIER) -> np.ndarray:
    """The boosted trees' log-odds that each word is added text (higher = more text-like)."""
    v = _load_verifier(str(path))
    if not feats:
        return np.zeros(0)
    X = np.array([[f[k] for k in v["features"]] for f in feats], dtype=np.float64)
    out = np.full(len(X), v["init"])
    rows = np.arange(len(X))
    for feature, threshold, left, right, value in v["trees"]:
        node = np.zeros(len(X), dtype=np.int64)
        while True:
            leaf = left[node] < 0
            if leaf.all():
                break
            go_left = X[rows, np.maximum(feature[node], 0)] <= threshold[node]
            nxt = np.where(go_left, left[node], right[node])
            node = np.where(leaf, node, nxt)
        out += v["rate"] * value[node]
    return out


def candidates(rgb_u8: np.ndarray, zone: np.ndarray, th: dict
               ) -> tuple[float, list[Word], list[dict[str, float]], tuple[int, int]]:
    """(scale, candidate words, their features, working shape) at the working size."""
    H0, W0 = rgb_u8.shape[:2]
    s = min(1.0, float(th["work_long_side"]) / max(H0, W0))
    rgb = rgb_u8
    if s < 1.0:
        size = (max(1, round(W0 * s)), max(1, round(H0 * s)))
        rgb = cv2.resize(rgb_u8, size, interpolation=cv2.INTER_AREA)
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    lab_u8 = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    H, W = g.shape
    z = zone.astype(bool, copy=False)
    if z.shape != (H, W):
        z = cv2.resize(zone.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST) > 0
    grad = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    words, feats = [], []
    max_words = int(th["max_candidates"])
    for t in th["gradient_thresholds"]:
        ws, strong, labels, st = candidate_words(grad, float(t), th)
        # the most glyphs first: a texture makes many two-blob "words", text makes long ones
        ws.sort(key=lambda w: -w.glyphs)
        for w in ws[:max_words]:
            words.append(w)
            feats.append(word_features(g, lab_u8, w, grad, strong, labels, st, z, (gx, gy)))
    return s, words, feats, (H, W)


def find_text(rgb_u8: np.ndarray, zone: np.ndarray, th: dict) -> TextFinding:
    """Words of added text anywhere in the frame (see the module docstring)."""
    H0, W0 = rgb_u8.shape[:2]
    s, words, feats, (H, W) = candidates(rgb_u8, zone, th)
    empty = TextFinding(0.0, 0, 0, [], np.zeros((H0, W0), np.float32))
    if not words:
        return empty
    margin = verifier_margin(feats)
    need = np.where(np.array([f["inside"] for f in feats]) > 0.5,
                    float(th["verify_margin_inside"]), float(th["verify_margin"]))
    evidence = float(np.max(margin - need))
    tmap = np.zeros((H, W), np.float32)
    boxes: list[tuple[int, int, int, int]] = []
    n_chars = 0
    for i in np.argsort(-margin):
        if margin[i] < need[i]:
            break
        x0, y0, x1, y1 = words[i].box
        if tmap[(y0 + y1) // 2, (x0 + x1) // 2] > 0:
            continue  # the same word found at another gradient threshold
        tmap[y0:y1, x0:x1] = 1.0
        n_chars += words[i].glyphs
        boxes.append((int(x0 / s), int(y0 / s), int(np.ceil(x1 / s)), int(np.ceil(y1 / s))))
    area = float(tmap.mean())
    if s < 1.0 and boxes:
        tmap = cv2.resize(tmap, (W0, H0), interpolation=cv2.INTER_NEAREST)
    elif not boxes:
        tmap = empty.map
    return TextFinding(area, len(boxes), n_chars, boxes, tmap, evidence)
