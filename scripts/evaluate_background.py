"""Background flags with and without the attached-figure rule, per set (needs ../shared/data).

The rule (``analyzer.vision.figure.attached_figure``) takes a model's skin or the rest of an
outfit that continues the product off the frame out of the backdrop. It must clear false
``BACKGROUND_*`` flags on clean studio shots of apparel on a model and must not clear the flag on
a backdrop that is really off-white. Sets:

- ``luma_tune`` / ``luma_report``: clean luma studio views (every view of the products of each
  split of ``evaluate_fix.split_of``; thresholds were chosen looking at ``tune`` only);
- ``tint``, ``grey``, ``gradient``, ``vignette``, ``cast``: ``report`` views with the backdrop
  degraded as in ``evaluate_fix.degrade`` (must stay flagged);
- ``amateur``: clothing photos (floors, beds, hangers; ``evaluate_fix.amateur``);
- ``instore``: grocery shopper photos (the grocery set's ``dataset/train.txt``).

For each photo the background check runs twice on the same decoded image and mask: with the
rule and with it switched off. Prints, per set, the share flagged before / after, the photos
whose flag changed, and the median ``figure_fraction``.

    python scripts/evaluate_background.py --limit 60
    python scripts/evaluate_background.py --auroc --limit 100

``--auroc`` instead scores ``evaluate_quality``'s comparison sets (luma studio main images vs
amateur clothing photos, the same seed and limit) with the whole analysis, with and without the
rule, and prints the background and overall AUROC of each.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate_fix as ef  # noqa: E402

from analyzer.config import marketplace as get_marketplace  # noqa: E402
from analyzer.engine import analyze, analyze_loaded  # noqa: E402
from analyzer.io.loader import load_image  # noqa: E402
from analyzer.quality import background as bg  # noqa: E402
from analyzer.quality.context import ImageContext  # noqa: E402

FAMILIES = ("tint", "grey", "gradient", "vignette", "cast")
BG_FLAGS = ef.BG_FLAGS


def _none(lab: np.ndarray, region: np.ndarray, *a: object, **k: object) -> np.ndarray:
    return np.zeros(region.shape, bool)


@contextmanager
def figure_rule(on: bool) -> Iterator[None]:
    """The background check with the attached-figure rule on, or switched off (no figure)."""
    real = bg.attached_figure
    if not on:
        bg.attached_figure = _none
    try:
        yield
    finally:
        bg.attached_figure = real


def _flags(ctx: ImageContext, rule: bool) -> tuple[bool, float]:
    with figure_rule(rule):
        r = bg.check(ctx)
    return any(f.code.value in BG_FLAGS for f in r.flags), float(r.metrics["figure_fraction"])


def _scores(src: Path, rule: bool) -> tuple[float, float]:
    with figure_rule(rule):
        r = analyze_loaded(load_image(src, name=src.name), marketplace="amazon")
    return r.scores["background"], r.scores["overall"]


def auroc_table(limit: int) -> None:
    import evaluate_quality as eq

    sets = eq.build_sets({"luma", "clothing"}, limit, 0)
    got = {k: [(_scores(p, False), _scores(p, True)) for p in v] for k, v in sets.items()}
    print("| check | luma vs clothing | AUROC without the rule | with it |")
    print("|---|---|---|---|")
    for i, name in enumerate(("background", "overall")):
        row = [eq.auroc([g[w][i] for g in got["luma"]], [b[w][i] for b in got["clothing"]])
               for w in (0, 1)]
        print(f"| {name} | {len(got['luma'])}/{len(got['clothing'])} | {row[0]:.3f} | "
              f"{row[1]:.3f} |", flush=True)


def run_one(src: Path | bytes, name: str) -> tuple[bool, bool, float]:
    img = load_image(src, name=name)
    ctx = ImageContext(image=img, marketplace=get_marketplace("amazon"), use_model=True)
    before, _ = _flags(ctx, False)
    after, share = _flags(ctx, True)
    return before, after, share


def views(split: str, limit: int) -> list[Path]:
    paths = [p for _r, p in ((r, ef.DATA / "luma" / im) for r in ef.luma_rows()
                             if ef.split_of(r["product_key"]) == split
                             for im in r["images"].split("|"))]
    return sorted(random.Random(3).sample(paths, min(limit, len(paths))))


def instore(limit: int) -> list[Path]:
    root = ef.DATA / "grocery" / "dataset"
    lines = [ln.split(",")[0].strip() for ln in (root / "train.txt").read_text().splitlines()
             if ln.strip()]
    picked = random.Random(5).sample(lines, min(limit, len(lines)))
    return [root / p for p in picked]


def report(name: str, rows: list[tuple[str, bool, bool, float]]) -> None:
    n = len(rows)
    b = sum(r[1] for r in rows) / max(1, n)
    a = sum(r[2] for r in rows) / max(1, n)
    med = float(np.median([r[3] for r in rows])) if rows else 0.0
    changed = [f"{r[0]} ({'cleared' if r[1] and not r[2] else 'raised'})"
               for r in rows if r[1] != r[2]]
    print(f"| {name} | {n} | {b:.0%} | {a:.0%} | {med:.3f} | {', '.join(changed) or '-'} |",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=60, help="photos per set")
    ap.add_argument("--sets", default="luma_tune,luma_report," + ",".join(FAMILIES)
                    + ",amateur,instore")
    ap.add_argument("--auroc", action="store_true",
                    help="background and overall AUROC, luma vs clothing, without/with the rule")
    args = ap.parse_args(argv)
    if not (ef.DATA / "luma").is_dir():
        print(f"needs {ef.DATA}", file=sys.stderr)
        return 2
    if args.auroc:
        auroc_table(args.limit)
        return 0
    print("| set | n | flagged before | after | median figure share | changed |")
    print("|---|---|---|---|---|---|")
    for s in [x.strip() for x in args.sets.split(",") if x.strip()]:
        rows = []
        if s in ("luma_tune", "luma_report"):
            for p in views(s.split("_")[1], args.limit):
                rows.append((p.name, *run_one(p, p.name)))
        elif s in FAMILIES:
            for p in views("report", args.limit):
                clean = np.asarray(Image.open(p).convert("RGB"))
                rep = analyze(p, keep_image=True)
                a = cv2.resize(rep.mask.astype(np.float32) / 255.0,
                               (clean.shape[1], clean.shape[0]))
                bad = ef.degrade(clean, a, s, ef._rng(p, s))
                rows.append((p.name, *run_one(ef.jpeg(bad), p.name)))
        elif s == "amateur":
            for p in ef.amateur(args.limit):
                rows.append((p.name, *run_one(p, p.name)))
        elif s == "instore":
            for p in instore(args.limit):
                rows.append((p.name, *run_one(p, p.name)))
        else:
            print(f"unknown set {s}", file=sys.stderr)
            return 2
        report(s, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
