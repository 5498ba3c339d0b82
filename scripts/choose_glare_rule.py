"""Choose the glare rule's values (``glare_*`` in thresholds.yaml, ``analyzer/vision/glare.py``)
on the TUNING splits.

Every clean photo of the tune splits (luma men's apparel; every amateur tune sender's photo) and
the ``glare`` family's copies of them (``scripts/quality_families.py``: a hotspot blown to white
at its core, fading out around it) go through the exposure check's own steps once: its working
copy, product region (its holes filled, as the check reads glare) and white spots
(:func:`analyzer.vision.glare.spots`, once for each ring tried). For each combination of the
ring, the enclosed share, the surface's Delta E from white, the fade, the halo and the flag line,
a photo is flagged when its largest glare spot reaches the line. Kept: the most glare copies
found (the mean of the two tune splits) with no clean tune photo
flagged (``MAX_FALSE``: none of the 72 luma and 721 amateur ones); ties go to the higher line,
then the stricter halo, surface and fade (fewer false flags where the tune photos show none).
It also prints the trade-off: the most found at each share of the clean amateur photos
flagged. The report splits (studio held, the store's icons, the amateur held senders) are only
printed, at the values chosen.

Usage::

    .venv/bin/python scripts/choose_glare_rule.py
"""

from __future__ import annotations

import itertools
import os
import sys
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LISTING_LENS_ORT_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import evaluate_quality as eq  # noqa: E402
from choice import TradeOff, rates_line  # noqa: E402

from analyzer.config import check_thresholds  # noqa: E402
from analyzer.quality.exposure import product_region  # noqa: E402
from analyzer.vision import glare  # noqa: E402
from analyzer.vision.mask_ops import fill_holes  # noqa: E402
from analyzer.vision.shrink import every  # noqa: E402

# split -> (clean photos, glare copies)
TUNE = {"tune": (72, 40), "am_tune": (10_000, 80)}
REPORT = {"held": (127, 40), "store": (81, 40), "am_held": (10_000, 80)}
MAX_FALSE = 0.0  # % of the clean amateur tune photos a rule may flag
RINGS = (0.5, 1.0, 1.5, 2.0)
ENCLOSED = (0.8, 0.9, 0.95)
SURFACE = (15.0, 20.0, 25.0, 30.0, 35.0)
FADE = (0.2, 0.3, 0.4, 0.5)
LINES = (0.001, 0.0015, 0.002, 0.003, 0.005, 0.01)
HALO = (0.0, 0.1, 0.2, 0.3, 0.4)


def photo(path: Path) -> dict[float, list[glare.GlareSpot]]:
    """The photo's white spots (the exposure check's working copy and region), by ring."""
    ctx = eq.cached_context(path, eq._mask_hash(True))
    th = ctx.thresholds("exposure")
    mask = ctx.mask_bool_or_none
    lab, rgb = every(ctx.lab, 2), every(ctx.rgb, 2)  # as the check reads them
    region = product_region(None if mask is None else mask[::2, ::2], lab.shape[:2],
                            float(th["erode_frac"]))
    region = fill_holes(region)  # as the check reads glare
    return {r: glare.spots(lab, rgb, region, dict(th, glare_ring=r), all_features=True)
            for r in RINGS}


def collect(splits: dict[str, tuple[int, int]]) -> dict[tuple[str, str], list[dict]]:
    jobs: dict[tuple[str, str], list[Path]] = {}
    for sp, (n_clean, n_copies) in splits.items():
        jobs[(sp, "clean")] = eq.split_sources(sp, n_clean, 0)
        jobs[(sp, "glare")] = eq.family_set("glare", sp, eq.split_sources(sp, n_copies, 0), [])
    with Pool(2) as pool:  # both cores
        out = {k: pool.map(photo, v, chunksize=4) for k, v in jobs.items()}
    print(f"  {', '.join(splits)}: {sum(map(len, out.values()))} photos", flush=True)
    return out


def rates(data: dict, rule: dict) -> dict[tuple[str, str], float]:
    """% of each set flagged by ``rule`` (glare_ring, glare_enclosed, ..., glare_flag)."""
    ring = rule["glare_ring"]
    return {k: 100.0 * float(np.mean([glare.glare_share(p[ring], rule) >= rule["glare_flag"]
                                      for p in v])) for k, v in data.items()}


def main() -> int:
    th = check_thresholds("exposure")
    tune = collect(TUNE)
    best = None
    front = TradeOff()
    for ring, enc, surf, fade, halo, line in itertools.product(RINGS, ENCLOSED, SURFACE, FADE,
                                                               HALO, LINES):
        rule = dict(th, glare_ring=ring, glare_enclosed=enc, glare_surface_de=surf,
                    glare_fade=fade, glare_halo=halo, glare_flag=line)
        r = rates(tune, rule)
        if r[("tune", "clean")] > 0.0:
            continue
        found = (r[("tune", "glare")] + r[("am_tune", "glare")]) / 2.0
        front.add(r[("am_tune", "clean")], found, (ring, enc, surf, fade, halo, line))
        if r[("am_tune", "clean")] > MAX_FALSE:
            continue
        key = (found, line, halo, surf, -fade, enc, -ring)
        if best is None or key > best[0]:
            best = (key, rule, r)
    print("amateur tune clean flagged % -> most found (ring, enclosed, surface, fade, halo, line):")
    print("\n".join(front.lines()))
    if best is None:
        print("no rule keeps the clean tune photos under the false-flag limit")
        return 1
    _, rule, r = best
    keys = ("glare_ring", "glare_enclosed", "glare_surface_de", "glare_fade", "glare_halo",
            "glare_flag")
    print("chosen on tune: " + ", ".join(f"{k} {rule[k]}" for k in keys))
    print("tune:  ", rates_line(r, "%"))
    print("report:", rates_line(rates(collect(REPORT), rule), "%"))
    print("with the values in thresholds.yaml now:")
    print("tune:  ", rates_line(rates(tune, th), "%"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
