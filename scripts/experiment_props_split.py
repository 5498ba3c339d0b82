"""Experiment (issue 14, item 3): can one mask blob be split into "the product" and "a prop
behind or over it"? Measures candidate per-image signals on the props families; no check uses
them (none reached a useful hit rate at unchanged false flags, see README, "Props behind or
overlapping").

Why a control set: the props families (scripts/quality_families.py) cut the product out, shrink
it to 50-75% and move it on a white canvas before pasting props. Against the *clean* photos any
measure of that layout (the object no longer touches the frame, is smaller, u2netp is less sure
of it) scores as "props found", which is why the ``pair`` family (no props) separates from the
clean photos on several signals below. ``props_none`` is that layout without props: a signal for
props must separate ``props_behind`` / ``props_overlap`` from ``props_none`` too.

Signals, on the clutter check's work copy (384 px) of the object the clutter check calls the
product (the u2netp mask joined with the pixels off a plain backdrop; the part with the largest
area weighted by centrality, ``analyzer.quality.clutter``):

- ``asym``: 1 - IoU of the blob and its mirror image about the best vertical axis near its
  centroid (props sit on one side; most products, a model included, are near mirror-symmetric).
- ``concave``: 1 - solidity (area / convex hull area).
- ``deep_defects``: convexity defects deeper than 8% of sqrt(area) (necks where two objects meet).
- ``foreign``: the largest connected share of the blob whose colour (8 levels per RGB channel)
  is absent (< 0.2%) from the blob's core (distance to the outline >= half its maximum): a part
  coloured unlike the product's middle.
- ``low_prob``: share of the blob where u2netp's probability is below 0.5.
- ``excess`` / ``excess_unlike``: the blob split where it is not mirror-symmetric: the largest
  part of the blob without a mirror counterpart (after an opening by a disk of 4% of sqrt(area),
  so slivers along the outline drop out), as a share of the blob; ``excess_unlike`` weights it
  by 1 - the colour-histogram intersection (4 levels per RGB channel, the clutter check's piece
  rule) of that part with the rest: a one-sided part of other colours.
- ``excess_unlike_noskin``: the same over every one-sided part, skipping parts that are >= 30%
  skin (YCrCb, Cr 135-180 and Cb 85-135, after Chai & Ngan, IEEE TCSVT 9(4), 1999): a model's
  arms and face are one-sided parts of other colours than the garment.
- ``band_foreign``: the largest connected share of the blob whose colour (8 levels per RGB
  channel, exact bin) never occurs in the blob's central vertical band (within 15% of its width
  of its median column): a model's head, shirt and trousers all cross that band, a prop behind
  the product's side or over its lower corner mostly does not.
- ``neck_cut``: the blob cut along the segment between two of its concavities (convexity
  defects deeper than 5% of sqrt(area)), when the smaller part holds >= 5% of the blob and the
  cut is at most 1.2 x the square root of that part's area (a neck): 1 - the colour-histogram
  intersection of the two parts, the highest over all such cuts.
- ``combined``: a logistic regression over the signals above, fitted on TUNE only (positives:
  props_behind + props_overlap; negatives: clean, props_none, pair), applied unchanged to held
  and store; its threshold is the highest negative score on tune (0 false flags there).

Usage (masks and images come from scripts/evaluate_quality.py's caches; missing masks are
computed, about 0.3 s each)::

    python scripts/experiment_props_split.py --limit 40
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LISTING_LENS_ORT_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import evaluate_quality as eq  # noqa: E402

from analyzer.config import check_thresholds, marketplace  # noqa: E402
from analyzer.io.loader import load_image  # noqa: E402
from analyzer.quality import clutter as cl  # noqa: E402
from analyzer.quality.context import ImageContext  # noqa: E402

FAMILIES = ["props_beside", "props_behind", "props_overlap", "props_none", "pair"]
TARGETS = ["props_behind", "props_overlap"]
NEGATIVE = ["clean", "props_none", "pair"]
SIGNALS = ["asym", "concave", "deep_defects", "foreign", "low_prob", "excess", "excess_unlike",
           "excess_unlike_noskin", "band_foreign", "neck_cut"]


def mask_of(path: Path, mask_hash: str):  # type: ignore[no-untyped-def]
    """u2netp mask from the evaluator's cache, computed and cached when missing."""
    mp = eq.CACHE_DIR / "mask" / f"{eq._sha_file(path)[:24]}_{mask_hash}.npz"
    img = load_image(path)
    if mp.exists():
        return img, eq._load_mask(mp)
    ctx = ImageContext(image=img, marketplace=marketplace("amazon"), use_model=True)
    m = ctx.mask_result
    mp.parent.mkdir(parents=True, exist_ok=True)
    eq._save_mask(mp, m)
    return img, m


def main_object(rgb: np.ndarray, mask: np.ndarray, th: dict) -> np.ndarray | None:
    """The blob the clutter check takes for the product (see the module docstring)."""
    fg = cl.backdrop_objects(rgb, th)
    obj = (mask | fg) if fg is not None else mask
    n, lab, st, cent = cv2.connectedComponentsWithStats(obj.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    h, w = obj.shape
    areas = st[1:, cv2.CC_STAT_AREA].astype(np.float64)
    d = np.hypot((cent[1:, 0] - w / 2) / (w / 2), (cent[1:, 1] - h / 2) / (h / 2)) / np.sqrt(2)
    i = int(np.argmax(areas * (1 - float(th["centre_weight"]) * np.clip(d, 0, 1))))
    return lab == i + 1


def mirror(b: np.ndarray) -> tuple[float, np.ndarray]:
    """(best IoU, mirror image) of ``b`` about a vertical axis within 8 px of its centroid."""
    xs = np.nonzero(b)[1]
    w = b.shape[1]
    best, best_mir = -1.0, b
    for dx in range(-8, 9, 2):
        c = round(float(xs.mean())) + dx
        idx = 2 * c - np.arange(w)
        ok = (idx >= 0) & (idx < w)
        mir = np.zeros_like(b)
        mir[:, ok] = b[:, idx[ok]]
        iou = float((b & mir).sum()) / max(float((b | mir).sum()), 1.0)
        if iou > best:
            best, best_mir = iou, mir
    return best, best_mir


def one_sided_part(rgb: np.ndarray, b: np.ndarray, mir: np.ndarray) -> tuple[float, float]:
    """(share of ``b``, colour intersection with the rest) of its largest part without a mirror
    counterpart (see the module docstring)."""
    r = max(3, round(0.04 * float(np.sqrt(b.sum()))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    e = cv2.morphologyEx((b & ~mir).astype(np.uint8), cv2.MORPH_OPEN, disk)
    n, lab, st, _ = cv2.connectedComponentsWithStats(e, connectivity=8)
    if n <= 1:
        return 0.0, 1.0
    i = 1 + int(np.argmax(st[1:, cv2.CC_STAT_AREA]))
    part = lab == i
    sim = float(np.minimum(cl._hist(rgb, part, 4), cl._hist(rgb, b & ~part, 4)).sum())
    return float(st[i, cv2.CC_STAT_AREA]) / float(b.sum()), sim


def foreign_share(rgb: np.ndarray, b: np.ndarray, bins: int = 8, eps: float = 0.002) -> float:
    """Largest connected share of ``b`` coloured unlike its core (see the module docstring)."""
    dist = cv2.distanceTransform(b.astype(np.uint8), cv2.DIST_L2, 3)
    _, lab = cv2.connectedComponents((dist >= 0.5 * dist.max()).astype(np.uint8))
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    core = lab == lab[y, x]
    hc = cv2.calcHist([np.ascontiguousarray(rgb)], [0, 1, 2], core.astype(np.uint8), [bins] * 3,
                      [0, 256] * 3)
    hc = hc / max(float(hc.sum()), 1.0)
    q = (rgb // (256 // bins)).astype(np.int32)
    f = b & (hc[q[..., 0], q[..., 1], q[..., 2]] < eps)
    f = cv2.morphologyEx(f.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    n, _, st, _ = cv2.connectedComponentsWithStats(f, connectivity=8)
    return float(st[1:, cv2.CC_STAT_AREA].max()) / float(b.sum()) if n > 1 else 0.0


def skin(rgb: np.ndarray) -> np.ndarray:
    """Skin-coloured pixels (bool; YCrCb box, see the module docstring)."""
    ycc = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    return (cr >= 135) & (cr <= 180) & (cb >= 85) & (cb <= 135)


def unlike_parts_noskin(rgb: np.ndarray, b: np.ndarray, mir: np.ndarray) -> float:
    """Highest share * (1 - colour intersection) over the one-sided parts that are not skin."""
    r = max(3, round(0.04 * float(np.sqrt(b.sum()))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    e = cv2.morphologyEx((b & ~mir).astype(np.uint8), cv2.MORPH_OPEN, disk)
    n, lab, st, _ = cv2.connectedComponentsWithStats(e, connectivity=8)
    sk = skin(rgb)
    best = 0.0
    for i in range(1, n):
        part = lab == i
        if sk[part].mean() >= 0.3:
            continue
        sim = float(np.minimum(cl._hist(rgb, part, 4), cl._hist(rgb, b & ~part, 4)).sum())
        best = max(best, float(st[i, cv2.CC_STAT_AREA]) / float(b.sum()) * (1.0 - sim))
    return best


def band_foreign(rgb: np.ndarray, b: np.ndarray, band: float = 0.15, bins: int = 8) -> float:
    """Largest connected share of ``b`` coloured unlike its central band (module docstring)."""
    xs = np.nonzero(b)[1]
    core = b & (np.abs(np.arange(b.shape[1])[None, :] - float(np.median(xs)))
                <= band * float(xs.max() - xs.min() + 1))
    hc = cv2.calcHist([np.ascontiguousarray(rgb)], [0, 1, 2], core.astype(np.uint8), [bins] * 3,
                      [0, 256] * 3)
    q = (rgb // (256 // bins)).astype(np.int32)
    f = b & (hc[q[..., 0], q[..., 1], q[..., 2]] / max(float(hc.sum()), 1.0) < 0.001)
    f = cv2.morphologyEx(f.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    n, _, st, _ = cv2.connectedComponentsWithStats(f, connectivity=8)
    return float(st[1:, cv2.CC_STAT_AREA].max()) / float(b.sum()) if n > 1 else 0.0


def neck_cut(rgb: np.ndarray, b: np.ndarray, contour: np.ndarray, defects: np.ndarray | None
             ) -> float:
    """Most colour-distinct split of ``b`` along a short cut between two concavities."""
    if defects is None:
        return 0.0
    area = float(b.sum())
    pts = [tuple(int(v) for v in contour[f, 0]) for _, _, f, d in defects[:, 0]
           if d / 256.0 > 0.05 * np.sqrt(area)]
    best = 0.0
    for i, p in enumerate(pts):
        for q in pts[i + 1:]:
            m = b.astype(np.uint8)
            cv2.line(m, p, q, 0, 2)
            n, lab, st, _ = cv2.connectedComponentsWithStats(m, connectivity=4)
            if n < 3:
                continue
            big = 1 + np.argsort(st[1:, cv2.CC_STAT_AREA])[::-1][:2]
            small = float(st[big[1], cv2.CC_STAT_AREA])
            if small < 0.05 * area or np.hypot(p[0] - q[0], p[1] - q[1]) > 1.2 * np.sqrt(small):
                continue
            sim = float(np.minimum(cl._hist(rgb, lab == big[0], 4),
                                   cl._hist(rgb, lab == big[1], 4)).sum())
            best = max(best, 1.0 - sim)
    return best


def signals(rgb: np.ndarray, mask: np.ndarray, prob: np.ndarray, th: dict) -> dict[str, float]:
    b = main_object(rgb, mask, th)
    if b is None:
        return dict.fromkeys(SIGNALS, 0.0)
    area = float(b.sum())
    cnts, _ = cv2.findContours(b.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    c = max(cnts, key=cv2.contourArea)
    deep = 0
    dfx = None
    try:
        dfx = cv2.convexityDefects(c, cv2.convexHull(c, returnPoints=False))
        if dfx is not None:
            deep = int((dfx[:, 0, 3] / 256.0 > 0.08 * np.sqrt(area)).sum())
    except cv2.error:  # a self-touching outline: no defects read
        pass
    iou, mir = mirror(b)
    share, sim = one_sided_part(rgb, b, mir)
    return {"asym": 1.0 - iou, "excess": share, "excess_unlike": share * (1.0 - sim),
            "excess_unlike_noskin": unlike_parts_noskin(rgb, b, mir),
            "concave": 1.0 - area / max(cv2.contourArea(cv2.convexHull(c)), 1.0),
            "deep_defects": float(deep), "foreign": foreign_share(rgb, b),
            "low_prob": float((prob[b] < 0.5).mean()), "band_foreign": band_foreign(rgb, b),
            "neck_cut": neck_cut(rgb, b, c, dfx)}


def auroc(neg: list[float], pos: list[float]) -> float:
    """P(a random ``pos`` scores above a random ``neg``): 1.0 = every prop photo above."""
    return eq.auroc(pos, neg)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not eq.DATA.is_dir():
        print(f"no data at {eq.DATA}", file=sys.stderr)
        return 2
    import quality_families as qf
    from PIL import Image

    th = check_thresholds("clutter")
    mh = eq._mask_hash(True)
    data: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    ms: list[float] = []
    for sp in (*eq.FAMILY_SPLITS, *eq.AMATEUR_SPLITS):
        src = eq.split_sources(sp, args.limit, args.seed)
        sets = {"clean": src}
        if sp in eq.FAMILY_SPLITS:
            cut = [(p, qf.cutout(Image.open(p))) for p in src[:24]]
            for fam in FAMILIES:
                sets[fam] = eq.family_set(fam, sp, src, cut if fam != "pair" else [])
        for fam, paths in sets.items():
            for p in paths:
                img, m = mask_of(p, mh)
                ws = int(th["work_long_side"])
                rgb = cl.to_work_size(img.rgb, ws)
                mask = cl.to_work_size(m.binary.astype(np.uint8), ws, nearest=True) > 0
                prob = cl.to_work_size(m.prob.astype(np.float32), ws)
                t0 = time.perf_counter()
                data[(sp, fam)].append(signals(rgb, mask, prob, th))
                ms.append(1000.0 * (time.perf_counter() - t0))
        print(f"  {sp} done", file=sys.stderr, flush=True)

    print(f"all signals together: median {np.median(ms):.1f} ms per photo (p90 "
          f"{np.percentile(ms, 90):.1f}; one thread, 384 px work copy)\n")
    print("AUROC of each signal (higher = props): target family vs clean | vs props_none | "
          "pair vs clean (0.5 wanted); amateur clean p50 / p90\n")
    for s in SIGNALS:
        print(s)
        for sp in eq.FAMILY_SPLITS:
            val = {f: [d[s] for d in data[(sp, f)]] for f in ("clean", *FAMILIES)}
            cells = [f"{t.split('_')[1]} {auroc(val['clean'], val[t]):.3f} | "
                     f"{auroc(val['props_none'], val[t]):.3f}" for t in TARGETS]
            print(f"  {sp:5s} " + "   ".join(cells)
                  + f"   pair {auroc(val['clean'], val['pair']):.3f}"
                  + f"   none vs clean {auroc(val['clean'], val['props_none']):.3f}")
        am = [d[s] for sp in eq.AMATEUR_SPLITS for d in data[(sp, "clean")]]
        print(f"  amateur clean p50 {np.median(am):.3f} p90 {np.percentile(am, 90):.3f}")
        # a flag at the highest tune negative (no false flag on tune): what it finds elsewhere
        cut = max(d[s] for f in NEGATIVE for d in data[("tune", f)])

        def pct(sp: str, f: str, cut: float = cut, s: str = s) -> str:
            v = [d[s] > cut for d in data.get((sp, f), [])]
            return f"{100.0 * float(np.mean(v)):.0f}" if v else "-"

        print(f"  flag above {cut:.3f} (tune's highest negative): behind / overlap hit % "
              + ", ".join(f"{sp} {pct(sp, 'props_behind')}/{pct(sp, 'props_overlap')}"
                          for sp in eq.FAMILY_SPLITS)
              + "; clean false % " + ", ".join(f"{sp} {pct(sp, 'clean')}"
                                               for sp in (*eq.FAMILY_SPLITS, *eq.AMATEUR_SPLITS)))

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def xy(sp: str, fams: list[str]) -> np.ndarray:
        return np.array([[d[s] for s in SIGNALS] for f in fams for d in data[(sp, f)]])

    pos, neg = xy("tune", TARGETS), xy("tune", NEGATIVE)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(np.r_[pos, neg], np.r_[np.ones(len(pos)), np.zeros(len(neg))])
    cut = float(model.decision_function(neg).max())
    print("\ncombined (fitted on tune; threshold = highest tune negative, so tune is in-sample):")
    for sp in (*eq.FAMILY_SPLITS, *eq.AMATEUR_SPLITS):
        score = {f: model.decision_function(xy(sp, [f])) for f in ("clean", *FAMILIES)
                 if data.get((sp, f))}
        false = 100.0 * float(np.mean(score["clean"] > cut))
        if sp in eq.AMATEUR_SPLITS:
            print(f"  {sp:7s} clean flagged {false:.0f}%")
            continue
        cells = [f"{t.split('_')[1]} AUROC {auroc(list(score['clean']), list(score[t])):.3f} "
                 f"(vs none {auroc(list(score['props_none']), list(score[t])):.3f}) "
                 f"hit {100.0 * float(np.mean(score[t] > cut)):.0f}%" for t in TARGETS]
        print(f"  {sp:7s} " + "; ".join(cells)
              + f"; flagged: clean {false:.0f}%, none "
              f"{100.0 * float(np.mean(score['props_none'] > cut)):.0f}%, pair "
              f"{100.0 * float(np.mean(score['pair'] > cut)):.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
