"""Does a BLURRY flag name the blur the photo has?

``BLURRY`` stands on one of nine readings of the product's edges (``sharpness.BlurCause``):
the edges as a whole, one orientation clearly worse than the others (a smear: camera shake or
motion), the worst orientation with the others about as soft, a part of the product (a half or
a band), its surface inside the outline (a blurred photo cut out onto white), where the
outline and the surface disagree (a cut), the surface's worst orientation, named a smear or soft
as the whole view's is, or an outline soft all round around a surface too plain to tell a
feathered cut from a camera's blur (``soft_outline``; the ``feathered`` control, a sharp
photo's feathered cut, is counted for it), or one direction of the outline with no edge left
(``smeared_away``: a smear so long that the edges along it are no longer read, a smear). The
flag's message says which, and a seller acts on it: told "smeared in one direction (camera
shake)" about a photo that is out of focus or enlarged from a small original, a seller steadies
a camera that did not move. The flag rates are ``evaluate_quality.py``'s; this counts, for each
blur family of ``evaluate_quality.py --families`` (the same seeded copies, made there when
missing), which reading named the photos flagged ``BLURRY``.

An even blur (Gaussian, defocus, upscaled, enlarged) named a smear is a wrong cause; a motion
blur named a smear is the right one (one named "blurred" is not wrong, only less specific).

Usage::

    .venv/bin/python scripts/evaluate_blur_causes.py [--splits tune,held,store,am_tune,am_held]
        [--limit 40] [--json OUT]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

EVEN = ("gauss", "defocus", "upscale", "enlarged")
SMEAR = ("motion", "shake")
OTHER = ("half_defocus", "blur_noise", "blur_cutout", "blur_feathered", "feathered")
FAMILIES = EVEN + SMEAR + OTHER


def causes(split: str, family: str, limit: int, seed: int) -> collections.Counter:
    """How many of the family's copies on the split each reading named (None: not BLURRY)."""
    import evaluate_quality as ev

    from analyzer.quality import sharpness
    from analyzer.vision.edge_blur import EdgeBlurSettings

    src = ev.split_sources(split, limit, seed)
    paths = src if family == "clean" else ev.family_set(family, split, src, [])
    mask_hash = ev._mask_hash(True)
    min_edges = EdgeBlurSettings.load().min_edges
    out: collections.Counter = collections.Counter()
    for p in paths:
        ctx = ev.cached_context(Path(p), mask_hash)
        res = sharpness.check(ctx)
        if not any(f.code == "BLURRY" for f in res.flags):
            out[None] += 1
            continue
        cause = sharpness.blur_cause(res.metrics, ctx.thresholds(sharpness.NAME),
                                     res.metrics["n_edges"] >= min_edges)
        out[cause.value if cause else "other"] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", default="tune,held,store,am_tune,am_held")
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    from analyzer.quality.sharpness import BlurCause

    names = [c.value for c in BlurCause]
    table: dict[str, dict[str, dict[str, int]]] = {}
    print("| split | family | BLURRY | " + " | ".join(names) + " |")
    print("|---" * (3 + len(names)) + "|")
    for split in a.splits.split(","):
        for fam in ("clean",) + FAMILIES:
            c = causes(split, fam, a.limit, a.seed)
            n = sum(v for k, v in c.items() if k is not None)
            table.setdefault(split, {})[fam] = {str(k): v for k, v in c.items()}
            print(f"| {split} | {fam} | {n} of {sum(c.values())} | "
                  + " | ".join(str(c.get(k, 0)) for k in names) + " |", flush=True)
        rows = table[split]
        even_n = sum(sum(v for k, v in rows[f].items() if k != "None") for f in EVEN)
        smears = (BlurCause.ONE_DIRECTION.value, BlurCause.SURFACE_ONE_DIRECTION.value,
                  BlurCause.SMEARED_AWAY.value)
        even_wrong = sum(rows[f].get(k, 0) for f in EVEN for k in smears)
        smear_n = sum(sum(v for k, v in rows[f].items() if k != "None") for f in SMEAR)
        smear_named = sum(rows[f].get(k, 0) for f in SMEAR for k in smears)
        print(f"{split}: even blurs named a smear {even_wrong} of {even_n} flagged; "
              f"motion and shake named a smear {smear_named} of {smear_n} flagged")
    if a.json:
        a.json.write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
