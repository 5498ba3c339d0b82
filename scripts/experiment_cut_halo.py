"""Tried and not kept: finding a sloppy background removal's halo (README, "The eleventh new
user's try").

A seller's background-removal app that cuts wide leaves a band of the old floor, bed or wall
around the product on pure white (``scripts/quality_families.py`` ``halo``). u2netp takes the
band for product, so the background check sees a pure white backdrop. This script measures,
on the ``halo`` copies against the same photos cut cleanly (``cutout``) or with a feathered edge
(``feathered``), and every clean photo of each split:

- the shipped background check: the share flagged ``BACKGROUND_NOT_WHITE`` / ``_OFF_WHITE`` and
  the AUROC of its score, halo against a clean cut;
- **the edge's depth profile**: on the not-white region that touches the mask (the cut, holes
  filled, at 512 px), the mean colour gradient along the inward normal at each depth from its
  outline; a band of constant width puts a second edge at its width all round, so the measure is
  the largest rise of the profile over its minimum nearer the outline, from ``depth`` px in;
- **colours absent inside**: the share of the pixels 4-8 px inside the cut's outline whose
  colour (Lab, 10-unit bins, a bin either way) is not among the colours deeper in than 8% of
  the short side (a floor's colour is not the garment's).

Each measure's line is the lowest with no tuning photo (clean, clean cut or feathered) over it,
and the report splits (the amateur held senders, luma held, the store's icons) are printed at
that line.

Usage::

    .venv/bin/python scripts/experiment_cut_halo.py
"""

from __future__ import annotations

import os
import sys
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import maximum_filter  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import evaluate_quality as eq  # noqa: E402

from analyzer.codes import FlagCode  # noqa: E402
from analyzer.quality.context import ImageContext  # noqa: E402
from analyzer.quality.registry import checks  # noqa: E402

TUNE = {"am_tune": 200, "tune": 72}
REPORT = {"am_held": 200, "held": 127, "store": 81}
COPIES = 80
BG_CODES = (FlagCode.BACKGROUND_NOT_WHITE, FlagCode.BACKGROUND_OFF_WHITE)


def _cut(ctx: ImageContext, side: int = 512) -> tuple[np.ndarray, np.ndarray] | None:
    """(Lab float32, distance from the cut's outline) at ``side`` px, or None when the photo is
    not a cut-out on white (the ring just outside the not-white region under 90% white)."""
    m = ctx.mask_bool_or_none
    if m is None or not m.any():
        return None
    h, w = m.shape
    s = min(1.0, side / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    rgb = cv2.resize(ctx.rgb, size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    mm = cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    white = rgb.min(axis=2) >= 245
    _, cc = cv2.connectedComponents((~white).astype(np.uint8), connectivity=8)
    keep = np.unique(cc[mm & ~white])
    reg = np.isin(cc, keep[keep > 0]).astype(np.uint8)
    cnts, _ = cv2.findContours(reg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    reg = np.zeros_like(reg)
    cv2.drawContours(reg, cnts, -1, 1, -1)
    ring = cv2.dilate(reg, np.ones((5, 5), np.uint8)).astype(bool) & ~reg.astype(bool)
    if ring.sum() < 20 or white[ring].mean() < 0.9:
        return None
    return lab, cv2.distanceTransform(reg, cv2.DIST_L2, 5)


def depth_rise(lab: np.ndarray, dist: np.ndarray, depth: int = 7) -> float:
    gy, gx = np.gradient(dist)
    nrm = np.hypot(gx, gy) + 1e-6
    lx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3) / 8
    ly = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3) / 8
    gn = np.sqrt((((lx * gx[..., None] + ly * gy[..., None]) / nrm[..., None]) ** 2).sum(2))
    top = max(8, round(0.06 * min(lab.shape[:2])))
    d = np.floor(dist).astype(int)
    sel = (d >= 1) & (d <= top)
    prof = (np.bincount(d[sel], gn[sel], minlength=top + 1)[1:]
            / np.maximum(np.bincount(d[sel], minlength=top + 1)[1:], 1))
    return max([0.0] + [float(prof[k] - prof[:k].min()) for k in range(depth - 1, len(prof))])


def absent_share(lab: np.ndarray, dist: np.ndarray) -> float:
    q = np.stack([np.clip(lab[..., 0] / 10, 0, 9), np.clip((lab[..., 1] + 100) / 10, 0, 19),
                  np.clip((lab[..., 2] + 100) / 10, 0, 19)], -1).astype(int)
    code = q[..., 0] * 400 + q[..., 1] * 20 + q[..., 2]
    deep = dist > 0.08 * min(lab.shape[:2])
    ring = (dist >= 4) & (dist < 8)
    if deep.sum() < 100 or ring.sum() < 20:
        return 0.0
    hist = np.bincount(code[deep], minlength=4000) / deep.sum()
    present = maximum_filter(hist.reshape(10, 20, 20), size=3).ravel() > 0.002
    return float((~present[code[ring]]).mean())


def photo(path: str) -> dict:
    ctx = eq.cached_context(Path(path), eq._mask_hash(True))
    r = checks()["background"](ctx)
    out = {"score": r.score, "flag": any(f.code in BG_CODES for f in r.flags),
           "rise": 0.0, "absent": 0.0}
    cut = _cut(ctx)
    if cut is not None:
        out["rise"], out["absent"] = depth_rise(*cut), absent_share(*cut)
    return out


def collect(splits: dict[str, int]) -> dict[tuple[str, str], list[dict]]:
    jobs: dict[tuple[str, str], list[Path]] = {}
    for sp, n in splits.items():
        jobs[(sp, "clean")] = eq.split_sources(sp, n, 0)
        if sp.startswith("am_"):
            base = eq.split_sources(sp, COPIES, 0)
            for fam in ("halo", "cutout", "feathered"):
                jobs[(sp, fam)] = eq.family_set(fam, sp, base, [])
    with Pool(2) as pool:
        return {k: pool.map(photo, [str(p) for p in v], chunksize=4) for k, v in jobs.items()}


def main() -> int:
    tune, report = collect(TUNE), collect(REPORT)
    for name, data in (("tune", tune), ("report", report)):
        for sp in {k[0] for k in data if k[1] == "halo"}:
            h, c = data[(sp, "halo")], data[(sp, "cutout")]
            fh, fc = (100 * np.mean([r["flag"] for r in v]) for v in (h, c))
            auc = eq.auroc([r["score"] for r in c], [r["score"] for r in h])
            print(f"{name} {sp}: background check flags {fh:.1f}% of halo copies, {fc:.1f}% of "
                  f"clean cuts; score AUROC {auc:.3f}")
    for key in ("rise", "absent"):
        line = max(r[key] for k, v in tune.items() if k[1] != "halo" for r in v)
        print(f"{key}: line {line:.3f} (the highest tuning negative)")
        for data in (tune, report):
            print("   ", ", ".join(f"{sp}/{kind} {sum(r[key] > line for r in v)}/{len(v)}"
                                   for (sp, kind), v in data.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
