"""Fit the text verifier's first stage (analyzer/data/text_prefilter.json) on the TUNING splits.

The verifier's features cost ~0.1-0.3 ms a candidate word, and a photo full of print, carpet or
packaging has a hundred candidates (issue 14's cost budget). The first stage is the same kind of
model (gradient-boosted trees, scikit-learn) over the cheap features only
(``text.CHEAP_FEATURES``: the glyphs' heights and baseline, the box, the ring of edges around
it, orientation coherence, the JPEG grid, the share on the product), fitted on the same words and
labels as the verifier (scripts/fit_text_verifier.py: clean tune photos and the same with added
text and watermarks, labelled by the pixels the defect changed). At run time a word gets the
full features and the verifier's margin only when its first-stage margin reaches
``prefilter_margin`` or it is among the photo's ``prefilter_keep_top`` highest (the best words set
the score's evidence below the flag); every other word is dropped.

The pair is chosen on the tune photos, first-stage margins out-of-fold (4 folds by photo, a photo
and its defect copies in one fold), the verifier's margins and the flagging margins as shipped:
the pair that verifies the fewest words while no tune photo's flag changes and the evidence
(clipped to the score's range, ``evidence_floor`` .. 0) moves on at most ``--max-moved`` % of
them. The report splits (held, store, amateur held) are only reported.

Usage::

    .venv/bin/python scripts/fit_text_prefilter.py --limit 80            # fit, export, report
    .venv/bin/python scripts/fit_text_prefilter.py --limit 80 --no-write # choose, report
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LISTING_LENS_ORT_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import fit_text_verifier as ftv  # noqa: E402

from analyzer.config import check_thresholds  # noqa: E402
from analyzer.quality.overlays import text as text_mod  # noqa: E402
from analyzer.quality.overlays.trees import export as export_trees  # noqa: E402

CUTS = np.arange(-4.0, 2.01, 0.5)
KEEP_TOP = (3, 5, 8)
FOLDS = 4


def _x(rows: list[dict]) -> np.ndarray:
    cols = text_mod.CHEAP_FEATURES
    return np.array([[r[k] for k in cols] for r in rows], np.float64).reshape(-1, len(cols))


def fit(tune: dict, keep, trees: int, depth: int, leaf: int):  # type: ignore[no-untyped-def]
    """The first stage on the tune words of the photos ``keep(i)`` accepts (the verifier's
    labels and class weights, the cheap features only)."""
    return ftv.fit_trees(tune, keep, _x, trees, depth, leaf)


def outcome(data: dict, first: dict, th: dict, cut: float, keep_top: int) -> dict:
    """Per set: (words, words verified, photos, flags changed, evidence moved) with the first
    stage at (``cut``, ``keep_top``) against verifying every word."""
    pf = text_mod.Prefilter(cut, keep_top)
    floor = float(th["evidence_floor"])
    out = {}
    for k, imgs in data.items():
        n = done = photos = flips = moved = 0
        for rs, m1 in zip(imgs, first[k], strict=True):
            if not rs:
                continue
            need = text_mod.required_margin(np.array([r["inside"] for r in rs]), th)
            gap = text_mod.verifier_margin(rs) - need
            kept = text_mod.prefilter_keep(m1, pf)
            full, screened = float(gap.max()), float(gap[kept].max())
            n, done, photos = n + len(rs), done + len(kept), photos + 1
            flips += (full >= 0) != (screened >= 0)
            moved += abs(np.clip(full, floor, 0) - np.clip(screened, floor, 0)) > 0.01
        out[k] = (n, done, photos, flips, moved)
    return out


def totals(res: dict) -> tuple[float, int, float]:
    """(% of words verified, flags changed, % of photos whose evidence moved)."""
    n, done, photos, flips, moved = (sum(v[i] for v in res.values()) for i in range(5))
    return 100 * done / max(n, 1), flips, 100 * moved / max(photos, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=80, help="photos per report split")
    ap.add_argument("--tune-limit", type=int, default=0, help="photos per tuning split, 0 = all")
    ap.add_argument("--tune-splits", default="tune,am_tune",
                    help="splits fitted on, as the verifier's (a studio split also shrunk: "
                         "tune@200)")
    ap.add_argument("--report-splits", default="held,store,am_held",
                    help="splits only reported (held@200 too)")
    ap.add_argument("--no-write", action="store_true", help="keep the shipped first stage")
    ap.add_argument("--trees", type=int, default=150)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--leaf", type=int, default=60)
    ap.add_argument("--max-moved", type=float, default=0.5,
                    help="%% of tune photos whose evidence may move")
    args = ap.parse_args()
    th = check_thresholds("overlays")
    tune = ftv.collect([t for t in args.tune_splits.split(",") if t], args.tune_limit, th)
    first: dict = {k: [None] * len(v) for k, v in tune.items()}
    for f in range(FOLDS):
        clf = fit(tune, lambda i, f=f: i % FOLDS != f, args.trees, args.depth, args.leaf)
        for k, imgs in tune.items():
            for i, rs in enumerate(imgs):
                if i % FOLDS == f:
                    first[k][i] = clf.decision_function(_x(rs)) if rs else np.zeros(0)
    print("tune (first stage out-of-fold): cut, keep_top -> % words verified, flags changed, "
          "% photos whose evidence moved")
    best = None
    for cut in CUTS:
        for top in KEEP_TOP:
            share, flips, moved = totals(outcome(tune, first, th, float(cut), top))
            print(f"  {cut:5.1f} {top}: {share:5.1f}%  {flips}  {moved:4.1f}%")
            if flips == 0 and moved <= args.max_moved and (best is None or share < best[0]):
                best = (share, float(cut), top)
    if best is None:
        raise SystemExit("no cut keeps every tune flag: keep the first stage off")
    _, cut, top = best
    print(f"chosen on tune: prefilter_margin {cut:.1f}, prefilter_keep_top {top}")
    clf = fit(tune, lambda i: True, args.trees, args.depth, args.leaf)
    if not args.no_write:
        export_trees(clf, text_mod.CHEAP_FEATURES,
                     "text finder first stage: gradient-boosted trees (scikit-learn "
                     "GradientBoostingClassifier, log-loss) over analyzer/quality/overlays/"
                     "text.py CHEAP_FEATURES; fitted by scripts/fit_text_prefilter.py on the "
                     "tuning splits only", text_mod.PREFILTER)
        some = [r for imgs in tune.values() for rs in imgs for r in rs][:50]
        assert np.allclose(text_mod.verifier_margin(some, text_mod.PREFILTER),
                           clf.decision_function(_x(some)))
        print(f"exported {text_mod.PREFILTER}")
    report = ftv.collect([t for t in args.report_splits.split(",") if t], args.limit, th)
    rep_first = {k: [clf.decision_function(_x(rs)) if rs else np.zeros(0) for rs in imgs]
                 for k, imgs in report.items()}
    res = outcome(report, rep_first, th, cut, top)
    print("\nreport splits: words, % verified, photos, flags changed, evidence moved")
    for k, (n, done, photos, flips, moved) in res.items():
        print(f"  {k[0]:8s} {k[1]:13s} {n:6d} {100 * done / max(n, 1):5.1f}%  {photos:3d}  "
              f"{flips}  {moved}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
