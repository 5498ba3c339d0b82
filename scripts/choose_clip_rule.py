"""Choose the exposure check's blown-highlight rule (thresholds.yaml ``checks.exposure``:
``channel_clip_pale``, ``clip_luma_share``, ``clip_hi_flag``) on tuning photos, and report it on
photos the choice never saw.

A coloured pixel with a channel clipped counts as blown when two channels are clipped, when it is
pale (every channel at least ``channel_clip_pale``) or when the clipped channel carries at least
``clip_luma_share`` of its luminance (analyzer/quality/exposure.py). The defect is the
``overexposed`` family (scripts/quality_families.py: 1-2.5 stops too bright, clipped).

- Chosen on: the clean photos and overexposed copies of tune, held and store (the 40 each that
  ``evaluate_quality.py --families`` draws) and of the amateur tune senders (40). Held and store
  are among them because their clean photos are where the old count failed (its false flags
  were read there), so they are no longer unseen for this rule.
- Rule: the most overexposed copies found (mean over those four splits) with at most
  ``MAX_FALSE`` % of each one's clean photos flagged; ties: fewer clean photos flagged, then the
  higher pale level and luminance share (fewer pixels counted).
- Reported on: up to 80 other photos of held, store and each amateur group (not in the 40,
  drawn with seed 7; the store has 41 more icons), and the amateur held senders' 40.

Usage::

    .venv/bin/python scripts/choose_clip_rule.py
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LISTING_LENS_ORT_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import evaluate_quality as eq  # noqa: E402

from analyzer.config import check_thresholds  # noqa: E402
from analyzer.quality.exposure import colour_clipping, product_region  # noqa: E402

CHOOSE = ("tune", "held", "store", "am_tune")
REPORT = ("held-rest", "store-rest", "am_tune-rest", "am_held-rest", "am_held")
PALE = (0, 170, 190, 205, 220)  # 0: every clipped coloured pixel counts (the rule before)
SHARE = (0.5, 0.6, 0.7, 1.01)  # 1.01: the luminance test off
FLAG = (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10)
MAX_FALSE = 2.5
OLD = (0, 1.01, 0.08)


def photos(split: str) -> list[Path]:
    """A split's clean photos: the evaluator's 40, or (``NAME-rest``) up to 80 others."""
    if not split.endswith("-rest"):
        return eq.split_sources(split, 40, 0)
    base = split[: -len("-rest")]
    seen = {p.name for p in eq.split_sources(base, 40, 0)}
    rest = [p for p in eq.split_sources(base, 0, 0) if p.name not in seen]
    return sorted(random.Random(7).sample(rest, min(80, len(rest))))


def shares(path: Path, th: dict, mask_hash: str) -> dict[tuple[int, float], float]:
    """Blown share of the product for every (pale, share) of the grid (the evaluator's cached
    u2netp mask when there is one; it is cached here otherwise)."""
    ctx = eq.cached_context(path, mask_hash)
    mask = ctx.mask_bool_or_none
    region = product_region(mask, ctx.gray.shape, float(th["erode_frac"]))
    sub = np.ascontiguousarray(ctx.rgb[::2, ::2])
    reg = np.ascontiguousarray(region[::2, ::2])
    n = max(1, np.count_nonzero(reg))
    return {(p, s): colour_clipping(sub, reg, th | {"channel_clip_pale": p,
                                                     "clip_luma_share": s})[0] / n
            for p in PALE for s in SHARE}


def main() -> int:
    th = check_thresholds("exposure")
    mask_hash = eq._mask_hash(True)
    data = {}
    for split in CHOOSE + REPORT:
        clean = photos(split)
        over = eq.family_set("overexposed", split.removesuffix("-rest"), clean, [])
        data[split] = ([shares(p, th, mask_hash) for p in clean],
                       [shares(p, th, mask_hash) for p in over])
        print(f"  {split}: {len(clean)} clean + {len(over)} overexposed", flush=True)

    def rates(split: str, pale: int, share: float, flag: float) -> tuple[float, float]:
        clean, over = data[split]
        return (100 * np.mean([o[pale, share] >= flag for o in over]),
                100 * np.mean([c[pale, share] >= flag for c in clean]))

    grid = []
    for pale in PALE:
        for share in SHARE:
            for flag in FLAG:
                r = [rates(s, pale, share, flag) for s in CHOOSE]
                if all(f <= MAX_FALSE for _, f in r):
                    grid.append((-np.mean([h for h, _ in r]), sum(f for _, f in r), -pale,
                                 -share, pale, share, flag))
    best = min(grid)[4:]

    def row(name: str, rule: tuple) -> str:
        cells = [f"{s} {h:.0f} / {f:.1f}" for s in CHOOSE + REPORT
                 for h, f in [rates(s, *rule)]]
        return f"{name} {rule}: " + " | ".join(cells)

    print("found % / clean flagged % (chosen on: " + ", ".join(CHOOSE) + ")")
    print(row("chosen", best))
    print(row("before", OLD))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
