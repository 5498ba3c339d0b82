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
(gradient-orientation coherence around the word, ``coh``), its strokes keep one pen width
(``sw_h``, the median stroke width over the glyph height, and ``sw_cv``, its spread: the medial-axis
stroke width of Epshtein et al.), coloured letters step in chroma as well as in grey across their
edges (``dab``, the a*b* distance between each glyph's two sides), and it is large and contrasted
enough to be read (``h``, ``contrast``); ``ink_abs``, ``bg_abs`` and ``flat_abs`` are the ink,
background and edge-side spreads in grey levels, not over the contrast (a pasted word's ink is
flatter than a photographed print's, whose sensor noise and weave show at any contrast), and
``grid`` is how far the DCT coefficients of the word's 8 x 8 blocks lie off the steps of the
photo's earlier JPEG save (:func:`grid_break`: a word pasted on a camera JPEG breaks the grid,
print photographed with the rest keeps it; 0 where the grid is gone, e.g. a resized photo). A
gradient-boosted tree ensemble (Friedman, "Greedy function approximation", 2001) over these
features, fitted on the *tuning* splits only (scripts/fit_text_verifier.py: luma men's apparel
and half the amateur clothing senders, clean photos against the same with text and watermarks
of the ``text`` / ``watermark`` families) is stored as data in
``analyzer/data/text_verifier.json``; a word is text when its margin reaches ``verify_margin``,
or ``verify_margin_inside`` when more than ``inside_share`` of its glyph pixels lie in the
product zone (print on a product is rendered text too: only a clearer case counts there; print
never reaches past the product, so a word partly on the backdrop needs only ``verify_margin``),
or ``verify_margin_edge`` in the frame's margin on the plain backdrop (:func:`in_margin`, a
shop's small print); a lone word of glyphs just over the candidates' floor is not enough
(:func:`accepted`, ``lone_word_min_h_frac``). ``text_area`` is the accepted words' box area
as a fraction of the frame, and ``evidence`` the best word margin over the margin that word
needs (the score uses it below the flag).

Cost. The features of all candidate words of one threshold are computed together
(:func:`word_features`): their glyph pixels are gathered once and every per-glyph and per-word
statistic is a grouped array operation, not a few dozen small-array calls per word; the trees
are walked all at once, one level per step (:func:`verifier_margin`). A photo full of print,
carpet or packaging still has a hundred candidate words, so the verifier runs in two stages (a
cascade, Viola & Jones, "Rapid object detection using a boosted cascade of simple features",
CVPR 2001): trees of the same kind over the cheap features alone (:data:`CHEAP_FEATURES`,
``analyzer/data/text_prefilter.json``, fitted on the same tune words by
scripts/fit_text_prefilter.py) screen every word, and only a word whose first-stage margin
reaches ``prefilter_margin``, or one of the photo's ``prefilter_keep_top`` best (they set the
evidence), gets the full features and the verifier's margin (:class:`Prefilter`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from analyzer.io.jpeg import DCT8, HISTORY_COEFS, LUMA_WEIGHTS, estimated_step
from analyzer.quality.overlays import trees
from analyzer.quality.overlays.zone import on_face
from analyzer.vision.backdrop import lab_of
from analyzer.vision.mask_ops import label_with_stats
from analyzer.vision.shrink import shrink_area

VERIFIER = Path(__file__).resolve().parents[2] / "data" / "text_verifier.json"
# A small photo's words on its enlarged copy (work_copies, find_text) are read by a verifier of
# their own, fitted on such copies (scripts/fit_text_verifier.py --small), at their own margins.
VERIFIER_SMALL = Path(__file__).resolve().parents[2] / "data" / "text_verifier_small.json"
PREFILTER = Path(__file__).resolve().parents[2] / "data" / "text_prefilter.json"
_LUMA_ROW = np.array([LUMA_WEIGHTS], np.float32)  # jpeg.luma as one cv2.transform

FEATURES = ("h", "contrast", "ink_std", "bg_std", "eta", "sharp", "ring", "dens", "aspect", "hstd",
            "bot", "glyphs", "n", "ink_spread", "bg_spread", "flat", "con_cv", "inside", "coh",
            "sw_h", "sw_cv", "dab", "ink_abs", "bg_abs", "flat_abs", "grid")


# Float Lab (L* 0-100) to the units of OpenCV's 8-bit Lab, which the verifier was fitted in
_LAB8_SCALE = np.array([255.0 / 100.0, 1.0, 1.0])
_LAB8_OFFSET = np.array([0.0, 128.0, 128.0])


@dataclass
class TextFinding:
    text_area: float          # fraction of the frame covered by word boxes
    n_words: int
    n_chars: int
    boxes: list[tuple[int, int, int, int]]  # word boxes, original px (x0, y0, x1, y1)
    map: np.ndarray           # float32 original size, 1 inside word boxes
    evidence: float = -10.0   # best candidate word's verifier margin over the one that flags
    n_on_product: int = 0     # of the words, those laid over the product (its zone), not beside it


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
    near = dx * dx + dy * dy < (1.2 * hmax) ** 2  # squared: hypot costs as much as the rest
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


def _components(strong: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats`` (8-connected) of ``strong``, labelled only within
    the box around its pixels (most of a studio frame is empty backdrop) and returned at full
    size: the same labels, in the same order, and the same stats for every component (the box
    starts on even coordinates, the 2 x 2 blocks of OpenCV's labelling; row 0, the background,
    counts the box's background only)."""
    H, W = strong.shape
    x, y, w, h = cv2.boundingRect(strong)
    if w == 0 or h == 0:
        return 1, np.zeros((H, W), np.uint16), np.zeros((1, 5), np.int32), np.zeros((1, 2))
    x, y = x - x % 2, y - y % 2
    crop = strong[y:y + h + 1, x:x + w + 1]
    n, lab_c, st, cen = label_with_stats(crop, 8)
    lab = np.zeros((H, W), lab_c.dtype)
    lab[y:y + crop.shape[0], x:x + crop.shape[1]] = lab_c
    st[:, 0] += x
    st[:, 1] += y
    cen += (x, y)
    return n, lab, st, cen


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
    n, lab, st, cen = _components(strong)
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
    # Bold glyphs touch and merge into one component: count glyphs by width.
    per = np.clip(np.round(ww[idx] / (0.7 * hh[idx])), 1, 8)
    _, inv = np.unique(groups, return_inverse=True)
    glyphs = np.bincount(inv, weights=per).astype(np.int64)
    order = np.argsort(inv, kind="stable")  # each group's members in their original order
    cut = np.concatenate(([0], np.cumsum(np.bincount(inv))))
    s = st[1:][idx[order]]
    x0 = np.minimum.reduceat(s[:, 0], cut[:-1])
    y0 = np.minimum.reduceat(s[:, 1], cut[:-1])
    x1 = np.maximum.reduceat(s[:, 0] + s[:, 2], cut[:-1])
    y1 = np.maximum.reduceat(s[:, 1] + s[:, 3], cut[:-1])
    mem = idx[order] + 1
    return [Word(mem[cut[k]:cut[k + 1]], int(glyphs[k]),
                 (int(x0[k]), int(y0[k]), int(x1[k]), int(y1[k])))
            for k in np.nonzero(glyphs >= int(th["min_glyphs"]))[0]], strong, lab, st


def _coherence(gx: np.ndarray, gy: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Gradient-orientation coherence in ``box`` from the summed structure tensor (Bigun &
    Granlund, "Optimal orientation detection of linear symmetry", ICCV 1987): 1 for one
    orientation (grain, stripes, a weave's ridges), low for the many stroke directions of text."""
    x0, y0, x1, y1 = box
    bx, by = gx[y0:y1, x0:x1], gy[y0:y1, x0:x1]
    # OpenCV's norms sum in double without a float64 copy of the box (runs for every word);
    # the cross term from the norm of the difference: sum(x y) = (|x|^2 + |y|^2 - |x - y|^2) / 2
    a, b = cv2.norm(bx, cv2.NORM_L2SQR), cv2.norm(by, cv2.NORM_L2SQR)
    c = 0.5 * (a + b - cv2.norm(bx, by, cv2.NORM_L2SQR))
    return float(np.hypot(a - b, 2 * c) / (a + b + 1e-6))


def _sorted_groups(gid: np.ndarray, v: np.ndarray, n: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values sorted by (group, value), each group's start and size (groups 0 .. n-1)."""
    order = np.lexsort((v, gid))
    count = np.bincount(gid, minlength=n)
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    return v[order], start, count


def _median(vs: np.ndarray, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Each group's median as ``np.median`` gives it (the mean of the two middle values); 0 for
    an empty group."""
    if vs.size == 0:
        return np.zeros(len(count))
    c = np.maximum(count, 1)
    last = vs.size - 1  # an empty group at the end starts past the last value
    a = vs[np.minimum(start + (c - 1) // 2, last)]
    b = vs[np.minimum(start + c // 2, last)]
    return np.where(count == 0, 0.0, np.where(c % 2 == 1, a, (a + b) / 2))


def _percentile(vs: np.ndarray, start: np.ndarray, count: np.ndarray, q: float) -> np.ndarray:
    """Each group's ``np.percentile(..., 100 q)`` (linear, numpy's own interpolation form)."""
    pos = q * (count - 1)
    lo = np.floor(pos).astype(np.int64)
    t = pos - lo
    a, b = vs[start + lo], vs[start + np.minimum(lo + 1, count - 1)]
    d = b - a
    return np.where(t >= 0.5, b - d * (1 - t), a + d * t)


def _stroke_width(ink: np.ndarray, k3: np.ndarray) -> tuple[float, float]:
    """(median, coefficient of variation) of the stroke width of an ink mask: twice the distance
    to the background on the strokes' ridge (the medial axis, Blum 1967; stroke-width
    consistency as in Epshtein et al. 2010). Rendered glyphs keep one pen width; the blobs of a
    weave, grain or quilting do not. (0, 9) without a ridge."""
    dt = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
    sw = np.sort(dt[(dt > 0) & (dt >= cv2.dilate(dt, k3))])
    if sw.size < 3:
        return 0.0, 9.0
    # np.median's value (the two middle ones' float32 mean) without its per-call overhead: this
    # runs for every candidate word
    n = sw.size
    med = sw[n // 2] if n % 2 else (sw[n // 2 - 1] + sw[n // 2]) / np.float32(2.0)
    mean, sd = cv2.meanStdDev(sw)  # in double; a tenth of numpy's per-call cost
    return 2.0 * float(med), float(sd[0, 0] / mean[0, 0])


GridTables = tuple[np.ndarray, np.ndarray]


def _grid_tables(grid: np.ndarray | None) -> GridTables | None:
    """Summed-area tables (Crow, SIGGRAPH 1984) of :func:`grid_break`'s finite blocks and of
    their count, so each word's mean is four lookups instead of a slice, a test and a mean
    (a photo full of print has a hundred candidate words)."""
    if grid is None:
        return None
    ok = np.isfinite(grid)
    sums = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1))
    sums[1:, 1:] = np.where(ok, grid, 0.0).cumsum(axis=0).cumsum(axis=1)
    counts = np.zeros(sums.shape, np.int64)
    counts[1:, 1:] = ok.cumsum(axis=0).cumsum(axis=1)
    return sums, counts


def _grid_mean(tables: GridTables | None, box: tuple[int, int, int, int], scale: float
               ) -> float:
    """Mean of :func:`grid_break` over the blocks under a working-size ``box`` (0 with fewer
    than two blocks that hold evidence), from :func:`_grid_tables`."""
    if tables is None:
        return 0.0
    sums, counts = tables
    nby, nbx = sums.shape[0] - 1, sums.shape[1] - 1
    x0, y0, x1, y1 = (int(v / scale) for v in box)
    r0, r1 = min(y0 // 8, nby), min((y1 + 7) // 8, nby)
    c0, c1 = min(x0 // 8, nbx), min((x1 + 7) // 8, nbx)
    n = counts[r1, c1] - counts[r0, c1] - counts[r1, c0] + counts[r0, c0]
    if n < 2:
        return 0.0
    return float((sums[r1, c1] - sums[r0, c1] - sums[r1, c0] + sums[r0, c0]) / n)


def _mean_var(v: np.ndarray) -> tuple[float, float]:
    """Mean and variance of grey levels (OpenCV's sums in double: a few microseconds where
    numpy's calls cost tens, and this runs three times a word)."""
    mean, sd = cv2.meanStdDev(v)
    return float(mean[0, 0]), float(sd[0, 0]) ** 2


def _edge_sides(cid: np.ndarray, v: np.ndarray, lv: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each glyph component with both sides (its pixels: component ids ``cid``, grey ``v``,
    Lab ``lv``): the mean Lab colour of its darker and of its brighter side (pixels beyond a
    quarter of the 10-90% range from the middle: the anti-aliased middle left out), the grey-level
    spread of each side, the range, and the component ids. All glyphs of all words at once:
    pixels sorted by (component, value)."""
    order = np.lexsort((v, cid))
    cid, v, lv = cid[order], v[order], lv[order]
    uniq, start, count = np.unique(cid, return_index=True, return_counts=True)
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
    return dk, bt, sdk, sbt, (p90 - p10)[ok], uniq[ok]


def _side_features(wid: np.ndarray, nw: int, dk: np.ndarray, bt: np.ndarray, sdk: np.ndarray,
                   sbt: np.ndarray, cons: np.ndarray) -> dict[str, np.ndarray]:
    """Per word (glyph sides grouped by word index ``wid``): ink_spread, bg_spread, flat, con_cv
    (9 for a word with no glyph of both sides)."""
    k = np.bincount(wid, minlength=nw)
    kk = np.maximum(k, 1)
    c = np.bincount(wid, weights=cons, minlength=nw) / kk + 1e-3

    def spread(col: np.ndarray, sd: np.ndarray) -> np.ndarray:
        var = np.zeros(nw)
        for ch in range(3):
            m = np.bincount(wid, weights=col[:, ch], minlength=nw) / kk
            var += np.bincount(wid, weights=(col[:, ch] - m[wid]) ** 2, minlength=nw) / kk
        return np.where(k > 1, np.sqrt(var), _median(*_sorted_groups(wid, sd, nw))) / c

    spd, spb = spread(dk, sdk), spread(bt, sbt)
    flat_abs = np.minimum(_median(*_sorted_groups(wid, sdk, nw)),
                          _median(*_sorted_groups(wid, sbt, nw)))
    flat = flat_abs / c
    mc = np.bincount(wid, weights=cons, minlength=nw) / kk
    con_cv = np.sqrt(np.bincount(wid, weights=(cons - mc[wid]) ** 2, minlength=nw) / kk) / c
    none = k == 0
    return {"ink_spread": np.where(none, 9.0, np.minimum(spd, spb)),
            "bg_spread": np.where(none, 9.0, np.maximum(spd, spb)),
            "flat": np.where(none, 9.0, flat), "con_cv": np.where(none, 9.0, con_cv),
            "flat_abs": np.where(none, 0.0, flat_abs)}


def grid_break(rgb_u8: np.ndarray) -> np.ndarray:
    """Per 8 x 8 block of the photo as given (JPEG grid at (0, 0)): how far its low-frequency DCT
    coefficients (the three lowest) lie from multiples of the steps an earlier JPEG save left
    on the whole photo (mean of ``|c/q - round(c/q)|``, 0 on a multiple, 0.25 for no grid), minus
    the photo's median block. A word pasted on a camera JPEG breaks that grid where print
    photographed with the rest keeps it (double-compression forensics, Lin et al., "Fast,
    automatic and fine-grained tampered JPEG image detection via DCT coefficient analysis",
    Pattern Recognition 2009; the steps as in :mod:`analyzer.io.jpeg`). All zeros when no step
    is found (no grid: a resized or never-compressed photo), NaN on blocks with no coefficient
    over half a step (flat)."""
    h, w = (rgb_u8.shape[0] // 8) * 8, (rgb_u8.shape[1] // 8) * 8
    nby, nbx = h // 8, w // 8
    if nby == 0 or nbx == 0:
        return np.zeros((max(nby, 1), max(nbx, 1)))
    # JFIF luma in one OpenCV pass (jpeg.luma's weights; a float32 rounding apart from it)
    y = cv2.transform(rgb_u8[:h, :w].astype(np.float32), _LUMA_ROW)
    y -= 128.0
    # Only the three lowest coefficients are read, so only the first two DCT basis vectors are
    # applied: along each block's rows, then its columns, on the image as it lies (no block
    # transpose, a sixth of the full 8 x 8 transform's products; 2.5 -> 0.4 ms at 1024 px).
    d2 = DCT8[:2].astype(np.float32)
    coef = np.tensordot(d2, y.reshape(nby, 8, nbx, 8) @ d2.T, axes=([1], [1]))  # [r, by, bx, c]
    num = np.zeros(nby * nbx, np.float32)
    den = np.zeros(nby * nbx, np.float32)
    for r, c in HISTORY_COEFS[:3]:  # the three lowest: most blocks hold them
        v = coef[r, :, :, c].ravel()
        q = estimated_step(v.astype(np.float64), 0.6, 24)
        if q is None or q < 3:  # a step of 2 is what a high-quality save leaves everywhere
            continue
        keep = np.abs(v) > q / 2
        num += np.where(keep, np.abs(v / q - np.round(v / q)), 0.0)
        den += keep
    if not den.any():
        return np.zeros((nby, nbx))
    res = np.where(den > 0, num / np.maximum(den, 1), np.nan).reshape(nby, nbx)
    return res - np.nanmedian(res)


# the cheap features: all a word's prefilter needs, computed for every candidate word
CHEAP_FEATURES = ("h", "aspect", "hstd", "bot", "glyphs", "n", "dens", "ring", "coh", "grid",
                  "inside")


@dataclass(frozen=True)
class Prefilter:
    """The verifier's first stage (module docstring, Cost): a word gets the full features and the
    verifier's margin when the first stage's margin reaches ``margin``, or when it is among the
    ``keep_top`` highest of the photo's candidate words, all thresholds together (the best words
    set the score's evidence). ``from_thresholds`` gives None (every word verified) when
    ``prefilter_margin`` is not set."""

    margin: float
    keep_top: int
    path: Path = PREFILTER

    @classmethod
    def from_thresholds(cls, th: dict) -> Prefilter | None:
        if th.get("prefilter_margin") is None:
            return None
        return cls(float(th["prefilter_margin"]), int(th["prefilter_keep_top"]))


def word_features(words: list[Word], g: np.ndarray, lab: np.ndarray, grad: np.ndarray,
                  strong: np.ndarray, labels: np.ndarray, st: np.ndarray, zone: np.ndarray,
                  sobel: tuple[np.ndarray, np.ndarray], grid: np.ndarray | None = None,
                  scale: float = 1.0) -> list[dict[str, float]]:
    """The verifier's features of each candidate word found at one gradient threshold (see the
    module docstring). The words' component pixels are gathered once and the per-glyph and
    per-word statistics taken over all words together: the cost is a few array passes per
    threshold, not a few dozen small-array calls per word. ``grid`` is :func:`grid_break` of the
    photo the working copy was made from at ``scale`` (``grid`` feature: the mean over the
    word's blocks; 0 without it)."""
    if not words:
        return []
    cheap, med = _cheap_features(words, labels, st, strong, zone, sobel, grid, scale)
    return _full_features(words, cheap, med, g, lab, grad, labels, st)


def prefilter_keep(margins: np.ndarray, prefilter: Prefilter) -> np.ndarray:
    """Indices of the words the first stage keeps: a margin at ``prefilter.margin`` or more, or
    one of the ``keep_top`` highest (the photo's best words set its evidence), in their order."""
    ok = margins >= prefilter.margin
    ok[np.argsort(-margins, kind="stable")[:prefilter.keep_top]] = True
    return np.nonzero(ok)[0]


def _cheap_features(words: list[Word], labels: np.ndarray, st: np.ndarray, strong: np.ndarray,
                    zone: np.ndarray, sobel: tuple[np.ndarray, np.ndarray],
                    grid: np.ndarray | None, scale: float
                    ) -> tuple[list[dict[str, float]], np.ndarray]:
    """(each word's :data:`CHEAP_FEATURES`, its median glyph height): its glyphs' heights and
    baseline, its box, the ring of gradient pixels around it, the orientation coherence, the
    JPEG grid and its share of glyph pixels in the product zone."""
    H, W = labels.shape
    nw = len(words)
    owner = np.full(len(st), -1, np.int64)  # component label -> its word
    for i, w in enumerate(words):
        owner[w.members] = i
    # glyph heights and baselines: each word's median height, height spread, baseline scatter
    mem = np.concatenate([w.members for w in words])
    mw = np.repeat(np.arange(nw), [len(w.members) for w in words])
    nm = np.bincount(mw, minlength=nw)
    hm = st[mem, 3].astype(np.float64)
    med = _median(*_sorted_groups(mw, hm, nw))
    mh = np.bincount(mw, weights=hm, minlength=nw) / nm
    hstd = np.sqrt(np.bincount(mw, weights=(hm - mh[mw]) ** 2, minlength=nw) / nm) / med
    bottoms = (st[mem, 1] + st[mem, 3]).astype(np.float64)
    dev = np.abs(bottoms - _median(*_sorted_groups(mw, bottoms, nw))[mw])
    bot = _median(*_sorted_groups(mw, dev, nw)) / med
    any_zone = bool(zone.any())
    tables = _grid_tables(grid)
    out = []
    for i, w in enumerate(words):
        x0, y0, x1, y1 = w.box
        inside = 0.0
        if any_zone:  # the share of the word's glyph pixels in the product zone
            inside = float(zone[y0:y1, x0:x1][owner[labels[y0:y1, x0:x1]] == i].mean())
        pad = max(2, int(round(0.6 * med[i])))
        rx0, ry0, rx1, ry1 = max(0, x0 - pad), max(0, y0 - pad), min(W, x1 + pad), min(H, y1 + pad)
        # counted on the two boxes only: a whole-frame integral image costs more than the few
        # words of one threshold
        n_in = cv2.countNonZero(strong[y0:y1, x0:x1])
        n_out = cv2.countNonZero(strong[ry0:ry1, rx0:rx1])
        bw, bh = x1 - x0, y1 - y0
        ring_area = (ry1 - ry0) * (rx1 - rx0) - bw * bh
        out.append({"h": float(med[i]), "ring": (n_out - n_in) / max(ring_area, 1),
                    "dens": n_in / (bw * bh), "aspect": bw / max(bh, 1),
                    "hstd": float(hstd[i]), "bot": float(bot[i]), "glyphs": float(w.glyphs),
                    "n": float(len(w.members)), "coh": _coherence(*sobel, (rx0, ry0, rx1, ry1)),
                    "grid": _grid_mean(tables, w.box, scale), "inside": inside})
    return out, med


def _full_features(words: list[Word], feats: list[dict[str, float]], med: np.ndarray,
                   g: np.ndarray, lab: np.ndarray, grad: np.ndarray, labels: np.ndarray,
                   st: np.ndarray) -> list[dict[str, float]]:
    """``feats`` (the words' cheap features) completed: the ink and background split, the
    stroke width, the edge sharpness and each glyph's two sides."""
    if not words:
        return []
    nw = len(words)
    owner = np.full(len(st), -1, np.int64)  # component label -> its word; first 12 glyphs
    first = np.zeros(len(st), bool)
    for i, w in enumerate(words):
        owner[w.members] = i
        first[w.members[:12]] = True
    k3 = np.ones((3, 3), np.uint8)
    ids_l, g_l, gr_l, lab_l = [], [], [], []
    for i, w in enumerate(words):
        x0, y0, x1, y1 = w.box
        lab_box = labels[y0:y1, x0:x1]
        cm = owner[lab_box] == i
        box = g[y0:y1, x0:x1]
        vals = box[cm]
        ids_l.append(lab_box[cm])
        g_l.append(vals)
        gr_l.append(grad[y0:y1, x0:x1][cm])
        lab_l.append(lab[y0:y1, x0:x1][cm])
        t, _ = cv2.threshold(vals.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        hi = (box > t).view(np.uint8)
        n_hi = cv2.countNonZero(hi)
        ink = hi if 2 * n_hi < box.size else 1 - hi  # strokes are thin: the smaller class is ink
        n_ink = n_hi if ink is hi else box.size - n_hi
        er = cv2.erode(ink, k3)
        core = er if cv2.countNonZero(er) >= 10 else ink
        bger = cv2.erode(1 - ink, k3)
        bgc = bger if cv2.countNonZero(bger) >= 10 else 1 - ink
        gi, gb = box[core.view(bool)], box[bgc.view(bool)]
        if gi.size and gb.size:
            (mi, vi), (mb, vb) = _mean_var(gi), _mean_var(gb)
            contrast = abs(mi - mb) + 1e-3
            w0 = n_ink / box.size
            eta = w0 * (1 - w0) * (mi - mb) ** 2 / (_mean_var(box)[1] + 1e-6)
            ink_abs, bg_abs = np.sqrt(vi), np.sqrt(vb)
            ink_std, bg_std = ink_abs / contrast, bg_abs / contrast
        else:
            contrast, eta, ink_std, bg_std, ink_abs, bg_abs = 1e-3, 0.0, 9.0, 9.0, 0.0, 0.0
        sw, sw_cv = _stroke_width(ink, k3)
        feats[i].update({"contrast": float(contrast), "ink_std": float(ink_std),
                         "bg_std": float(bg_std), "eta": float(eta), "ink_abs": float(ink_abs),
                         "bg_abs": float(bg_abs), "sw_h": sw / float(med[i]), "sw_cv": sw_cv})
    sizes = np.array([len(a) for a in g_l])
    wid = np.repeat(np.arange(nw), sizes)
    # sharpness: the 90th percentile of the gradient on the glyphs, over the contrast
    p90 = _percentile(*_sorted_groups(wid, np.concatenate(gr_l).astype(np.float64), nw), 0.9)
    # Each glyph's edge: its darker and brighter side (outside the anti-aliased middle), over
    # each word's first 12 glyph components.
    ids = np.concatenate(ids_l)
    sel = first[ids]
    # Lab colour of those pixels only, in 8-bit Lab's units (the verifier's): L* x 2.55, a*, b*
    lab_px = np.concatenate(lab_l)[sel].astype(np.float64) * _LAB8_SCALE + _LAB8_OFFSET
    dk, bt, sdk, sbt, cons, comp = _edge_sides(ids[sel], np.concatenate(g_l)[sel].astype(
        np.float64), lab_px)
    sides = _side_features(owner[comp], nw, dk, bt, sdk, sbt, cons)
    # colour text on a background of the same grey: the chroma step across each glyph's edge
    dab = np.hypot(dk[:, 1] - bt[:, 1], dk[:, 2] - bt[:, 2])
    sides["dab"] = _median(*_sorted_groups(owner[comp], dab, nw))
    for i, f in enumerate(feats):
        f["sharp"] = float(p90[i]) / f["contrast"]
        for k, v in sides.items():
            f[k] = float(v[i])
    return feats


def verifier_margin(feats: list[dict[str, float]], path: Path = VERIFIER) -> np.ndarray:
    """The boosted trees' log-odds that each word is added text (higher = more text-like)."""
    return trees.load(str(path)).margins_of(feats)


def on_product(inside: np.ndarray, th: dict) -> np.ndarray:
    """Words wholly on the product: more than ``inside_share`` of their glyph pixels in its zone
    (print never leaves the product, so a word partly on the backdrop is not one)."""
    return inside > float(th["inside_share"])


def required_margin(inside: np.ndarray, th: dict, edge: np.ndarray | None = None
                    ) -> np.ndarray:
    """The margin each word needs: ``verify_margin_inside`` when more than ``inside_share`` of its
    glyph pixels lie in the product zone (print on a product is rendered text too: only a clearer
    case counts there), ``verify_margin_edge`` for a word off the product in the frame's margin
    on the plain backdrop (``edge``, :func:`in_margin`: where a shop puts its small print, and
    where a studio photo has nothing else to read as words), else ``verify_margin`` (print never
    reaches past the product, so a word partly on the backdrop is judged as one on the
    backdrop)."""
    off = np.full(len(inside), float(th["verify_margin"]))
    if edge is not None:
        off = np.where(edge, float(th["verify_margin_edge"]), off)
    return np.where(on_product(inside, th), float(th["verify_margin_inside"]), off)


def in_margin(boxes: list[tuple[int, int, int, int]], shape: tuple[int, int],
              plain: np.ndarray | None, th: dict, heights: np.ndarray) -> np.ndarray:
    """Which word boxes (working px) lie within ``edge_band`` of the short side from the frame's
    edge with at least ``edge_backdrop_min`` of the box on the plain backdrop (``plain``, the
    overlays check's, any size), their glyphs (median height, ``heights``) ``edge_min_h``
    working px to ``edge_max_h_frac`` of the frame's height tall: a copyright line, a web
    address or a SKU in a corner of a studio shot. The test on the backdrop keeps the lower
    margin off amateur photos, whose floor or bed reaches the frame's edge too (their false
    flags rose with a margin test alone); the heights keep it off a camera's grain on a small
    photo, whose specks group into 4-7 px "words", or into blobs of a tenth of the frame, in
    its margin (198 px icons with sensor noise: 16 of 63 flagged more without them; the small
    print it finds on tune and held photos is 10-25 px, 1-3% of the height)."""
    if plain is None or not plain.any() or not boxes:
        return np.zeros(len(boxes), bool)
    H, W = shape
    h = np.asarray(heights, np.float64)
    small = (h >= float(th["edge_min_h"])) & (h <= float(th["edge_max_h_frac"]) * H)
    if plain.shape != (H, W):
        plain = cv2.resize(plain.view(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST) > 0
    band = float(th["edge_band"]) * min(H, W)
    need = float(th["edge_backdrop_min"])
    return small & np.array([min(x0, y0, W - x1, H - y1) <= band and x1 > x0 and y1 > y0
                             and float(plain[y0:y1, x0:x1].mean()) >= need
                             for x0, y0, x1, y1 in boxes], bool)


def is_small(shape: tuple[int, ...], th: dict) -> bool:
    """Whether a photo of ``shape`` is searched on an enlarged copy (:func:`work_copies`) and its
    words read by :data:`VERIFIER_SMALL` with the ``small_`` margins (:func:`small_thresholds`)."""
    return max(shape[:2]) < float(th["small_long_side"])


def small_thresholds(th: dict) -> dict:
    """``th`` with the small photos' verifier margins in place of the others (chosen for
    :data:`VERIFIER_SMALL` by scripts/fit_text_verifier.py --small)."""
    return {**th, "verify_margin": th["small_verify_margin"],
            "verify_margin_inside": th["small_verify_margin_inside"],
            "verify_margin_edge": th["small_verify_margin"]}


def work_copies(rgb_u8: np.ndarray, th: dict, gray_u8: np.ndarray | None = None,
                lab: np.ndarray | None = None, enlarge: bool = True
                ) -> tuple[float, np.ndarray, np.ndarray]:
    """(scale, grey uint8, Lab float32) at the text search's working size (``work_long_side``):
    the grey and Lab images of ``rgb_u8`` (``gray_u8`` and ``lab`` when the caller has them,
    at the size of ``rgb_u8``), each shrunk (:func:`analyzer.vision.shrink.shrink_area`,
    fast). The grey image is shrunk, not the RGB one: one channel costs a third of three, and
    no check needs the shrunk RGB."""
    H0, W0 = rgb_u8.shape[:2]
    s = min(1.0, float(th["work_long_side"]) / max(H0, W0))
    g = gray_u8 if gray_u8 is not None else cv2.cvtColor(rgb_u8, cv2.COLOR_RGB2GRAY)
    lab = lab if lab is not None else lab_of(rgb_u8)
    if enlarge and is_small(rgb_u8.shape, th):
        # A small photo's letters are a few px tall with 1 px between them: the 3 x 3 gradient
        # fills the gaps and a word becomes one blob (on a 198 px icon, "Premium Quality" across
        # an orange was no candidate at all). On a copy enlarged by a whole factor (bicubic) the
        # gaps survive the gradient; such words are read by VERIFIER_SMALL, fitted on such copies.
        f = max(2, round(float(th["small_work_long_side"]) / max(H0, W0)))
        size = (W0 * f, H0 * f)
        g = cv2.resize(g, size, interpolation=cv2.INTER_CUBIC)
        lab = cv2.resize(lab, size, interpolation=cv2.INTER_LINEAR)
        return float(f), g, lab
    if s < 1.0:
        size = (max(1, round(W0 * s)), max(1, round(H0 * s)))
        g = shrink_area(g, size, fast=True)
        if lab.shape[:2] != g.shape:
            lab = shrink_area(lab, size, fast=True)
    return s, g, lab


def candidates(rgb_u8: np.ndarray, zone: np.ndarray, th: dict, on_grid: bool = True,
               gray_u8: np.ndarray | None = None, lab: np.ndarray | None = None,
               prefilter: Prefilter | None = None, enlarge: bool = True
               ) -> tuple[float, list[Word], list[dict[str, float]], tuple[int, int]]:
    """(scale, candidate words, their features, working shape) at the working size.
    ``on_grid=False`` says ``rgb_u8`` is not the file's pixel grid (the loader resized it): no
    JPEG grid to read, so :func:`grid_break` is skipped and every word's ``grid`` is 0.
    ``gray_u8``: the grey image of ``rgb_u8`` when the caller has it; ``lab``: its Lab image,
    at that size or already at the working size (the overlays check's). ``prefilter``: only
    the words its first stage keeps are returned (all words, without it: the verifier's fit).
    ``enlarge=False``: a small photo searched as it is (:func:`work_copies`)."""
    s, g, lab = work_copies(rgb_u8, th, gray_u8, lab, enlarge)
    H, W = g.shape
    z = zone.astype(bool, copy=False)
    if z.shape != (H, W):
        z = cv2.resize(zone.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST) > 0
    grad = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    grid = grid_break(rgb_u8) if on_grid else None
    max_words = int(th["max_candidates"])
    found = []  # per threshold: its words, their cheap features, median heights and labelling
    for t in th["gradient_thresholds"]:
        ws, strong, labels, st = candidate_words(grad, float(t), th)
        # the most glyphs first: a texture makes many two-blob "words", text makes long ones
        ws.sort(key=lambda w: -w.glyphs)
        ws = ws[:max_words]
        if ws:
            cheap, med = _cheap_features(ws, labels, st, strong, z, (gx, gy), grid, s)
            found.append((ws, cheap, med, labels, st))
    keep = [np.arange(len(f[0])) for f in found]
    if prefilter is not None and found:
        m1 = verifier_margin([c for f in found for c in f[1]], prefilter.path)
        kept = prefilter_keep(m1, prefilter)
        starts = np.cumsum([0] + [len(f[0]) for f in found])
        keep = [kept[(kept >= a) & (kept < b)] - a for a, b in zip(starts[:-1], starts[1:],
                                                                    strict=True)]
    words, feats = [], []
    for (ws, cheap, med, labels, st), k in zip(found, keep, strict=True):
        sub = [ws[i] for i in k]
        words += sub
        feats += _full_features(sub, [cheap[i] for i in k], med[k], g, lab, grad, labels, st)
    return s, words, feats, (H, W)


def _centre_within(box: tuple[int, int, int, int],
                   others: list[tuple[int, int, int, int]]) -> bool:
    """Whether ``box``'s centre lies in one of ``others`` (x0, y0, x1, y1, end exclusive): the
    same word found again (at another gradient threshold, or by a second search)."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    return any(a <= cx < c and b <= cy < d for a, b, c, d in others)


def accepted(boxes: list[tuple[int, int, int, int]], gap: np.ndarray, heights: np.ndarray,
             frame_h: int, th: dict) -> list[int]:
    """Indices of the words found, from each candidate word's box (working px), margin over the
    margin it needs (``gap``) and glyphs' median height (``heights``, working px; ``frame_h``:
    the working frame's height).

    Words are taken by their margin over their own need (a word on the product just under its
    higher need must not end the search before a word beside it that passes its own), each
    once: a word whose box centre lies in one already taken is the same word found at another
    gradient threshold. A lone word whose glyphs are under ``lone_word_min_h_frac`` of the
    frame's height is not found: just over the candidates' floor (``char_min_h_frac``), one
    short "word" is what a carpet's specks, a seam or a floor tile's crack make, where added
    text that a shopper can read holds larger glyphs or several words (on the clean tuning
    photos the lone small words that passed lay on floors, beds and seams; the one tune copy
    with added text it costs had been flagged on the "(c)" of its line, its words not found.
    The fraction was chosen on tune by scripts/choose_lone_word_floor.py)."""
    taken: list[int] = []
    for i in np.argsort(-gap, kind="stable").tolist():
        if gap[i] < 0:
            break
        if _centre_within(boxes[i], [boxes[j] for j in taken]):
            continue
        taken.append(i)
    if len(taken) == 1 and heights[taken[0]] < float(th["lone_word_min_h_frac"]) * frame_h:
        return []
    return taken


def find_text(rgb_u8: np.ndarray, zone: np.ndarray, th: dict, on_grid: bool = True,
              gray_u8: np.ndarray | None = None, lab: np.ndarray | None = None,
              plain: np.ndarray | None = None, printed: np.ndarray | None = None
              ) -> TextFinding:
    """Words of added text anywhere in the frame (see the module docstring; ``on_grid``,
    ``gray_u8`` and ``lab`` as in :func:`candidates`; ``plain``: the plain backdrop, any size,
    for :func:`in_margin`). ``printed`` (bool, ``rgb_u8``'s size): a printed product's face
    (:mod:`analyzer.vision.face`); a word lying wholly on it is the product's own print (a
    cover's title), neither found nor counted as evidence.

    A small photo (:func:`is_small`) is searched twice: as it is, as every photo is, and on the
    enlarged copy, whose words :data:`VERIFIER_SMALL` reads at the ``small_`` margins; a word
    found by either counts. The enlarged search alone lost words the one as it is finds (the
    letters on a sticker's plate: 55 -> 40% of the badges found on the held photos at 200 px),
    and the evidence below the flag is the enlarged search's (the one chosen for such photos)
    unless the search as it is found words."""
    args = (rgb_u8, zone, th, on_grid, gray_u8, lab, plain, printed)
    native = _search(*args, enlarge=False)
    if not is_small(rgb_u8.shape, th):
        return native.finding
    return _merged(native, _search(*args, enlarge=True))


@dataclass
class _Search:
    """One search's finding and, per word found (its boxes, in order), its glyphs and whether it
    lies on the product: what :func:`_merged` needs to count the words of two searches once."""

    finding: TextFinding
    glyphs: list[int]
    on: list[bool]


def _search(rgb_u8: np.ndarray, zone: np.ndarray, th: dict, on_grid: bool,
            gray_u8: np.ndarray | None, lab: np.ndarray | None, plain: np.ndarray | None,
            printed: np.ndarray | None, enlarge: bool) -> _Search:
    """:func:`find_text`'s search on one working copy: the enlarged one of a small photo
    (``enlarge``, its own verifier and margins), else the photo's usual one."""
    H0, W0 = rgb_u8.shape[:2]
    small = enlarge and is_small(rgb_u8.shape, th)
    s, words, feats, (H, W) = candidates(rgb_u8, zone, th, on_grid, gray_u8, lab,
                                         Prefilter.from_thresholds(th), enlarge)
    empty = TextFinding(0.0, 0, 0, [], np.zeros((H0, W0), np.float32))
    if printed is not None and words:
        keep = [i for i, w in enumerate(words) if not on_face(w.box, s, printed)]
        words, feats = [words[i] for i in keep], [feats[i] for i in keep]
    if not words:
        return _Search(empty, [], [])
    if small:
        th = small_thresholds(th)
    margin = verifier_margin(feats, VERIFIER_SMALL if small else VERIFIER)
    share = np.array([f["inside"] for f in feats])
    heights = np.array([f["h"] for f in feats])
    word_boxes = [w.box for w in words]
    gap = margin - required_margin(share, th, in_margin(word_boxes, (H, W), plain, th, heights))
    evidence = float(np.max(gap))
    tmap = np.zeros((H, W), np.float32)
    boxes: list[tuple[int, int, int, int]] = []
    glyphs: list[int] = []
    on: list[bool] = []
    inside = on_product(share, th)
    for i in accepted(word_boxes, gap, heights, H, th):
        x0, y0, x1, y1 = words[i].box
        tmap[y0:y1, x0:x1] = 1.0
        glyphs.append(words[i].glyphs)
        on.append(bool(inside[i]))
        boxes.append((int(x0 / s), int(y0 / s), int(np.ceil(x1 / s)), int(np.ceil(y1 / s))))
    area = float(tmap.mean())
    if s != 1.0 and boxes:
        tmap = cv2.resize(tmap, (W0, H0), interpolation=cv2.INTER_NEAREST)
    elif not boxes:
        tmap = empty.map
    return _Search(TextFinding(area, len(boxes), sum(glyphs), boxes, tmap, evidence, sum(on)),
                   glyphs, on)


def _merged(native: _Search, big: _Search) -> TextFinding:
    """The words of both searches of a small photo, each once (a word of the search as it is
    whose box centre lies in a word of the enlarged search's is that word), the evidence the
    enlarged search's, or the higher when the search as it is found words."""
    a, b = native.finding, big.finding
    if not a.boxes:
        return b
    keep = [i for i, box in enumerate(a.boxes) if not _centre_within(box, b.boxes)]
    boxes = [*b.boxes, *(a.boxes[i] for i in keep)]
    tmap = np.maximum(a.map, b.map)
    return TextFinding(float(tmap.mean()), len(boxes),
                       b.n_chars + sum(native.glyphs[i] for i in keep), boxes, tmap,
                       max(a.evidence, b.evidence),
                       b.n_on_product + sum(native.on[i] for i in keep))
