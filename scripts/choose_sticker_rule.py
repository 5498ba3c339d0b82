"""Choose the letterless-sticker rule's lines (``sticker_*`` in thresholds.yaml,
``analyzer/quality/overlays/stickers.py``) on the TUNING splits.

Every clean photo of the tune splits (luma men's apparel; every amateur tune sender's photo),
Gaussian-blurred copies of them (a blur smooths a surface, so a rule must not read a soft photo
as flat colour) and the ``sticker`` family's copies (``scripts/quality_families.py``: a smiley,
a heart, a star or a disc pasted over the product) go through the overlays check's own steps
once: its working copies, colour edges and plate holes, and the graphics its other finders
report (a plate that is a badge, a code, a printed cover's or an inset's is theirs:
``overlays.own_stickers``). Each candidate plate's area, chroma and spread (the Delta E within
which a share of its inside lies, for each share tried) are kept; for each combination of the
area floor, the share, the Delta E and the chroma, a photo is flagged when one of its plates
passes. A sticker copy counts as found when the overlays check flags it with or without the
rule (a smiley whose eyes read as letters is a badge already); a clean photo or blurred copy
counts as flagged only when the rule adds the flag. Kept: the most sticker copies found (the
mean of the two tune splits) with no clean tune photo and no blurred copy flagged by the rule
(``MAX_FALSE``); ties go to the stricter rule (higher
chroma and area floor, then the lower Delta E, then the higher share). It also prints the
trade-off (the most found at each share of the clean amateur photos flagged). The report splits
(studio held, the store's icons, the amateur held senders) are only printed, at the values
chosen.

Usage::

    .venv/bin/python scripts/choose_sticker_rule.py
"""

from __future__ import annotations

import itertools
import os
import sys
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LISTING_LENS_ORT_THREADS", "1")

from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import evaluate_quality as eq  # noqa: E402
from choice import TradeOff, rates_line  # noqa: E402

from analyzer.codes import FlagCode  # noqa: E402
from analyzer.config import check_thresholds  # noqa: E402
from analyzer.quality.overlays import (  # noqa: E402
    _GRAPHICS,
    check,
    face_mask,
    graphics,
    own_stickers,
)
from analyzer.quality.overlays.badges import colour_edges, plate_holes  # noqa: E402
from analyzer.quality.overlays.stickers import plates  # noqa: E402

# split -> (clean photos, blurred copies, sticker copies)
TUNE = {"tune": (72, 72, 40), "am_tune": (10_000, 80, 80)}
REPORT = {"held": (127, 40, 40), "store": (81, 40, 40), "am_held": (10_000, 80, 80)}
MAX_FALSE = 0.0  # % of the clean tune photos (and of their blurred copies) a rule may flag
AREAS = (0.001, 0.0015, 0.002, 0.003, 0.004)
SHARES = (0.8, 0.85, 0.9, 0.95)
DES = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
CHROMAS = (10.0, 15.0, 20.0, 25.0, 30.0)


# the flags evaluate_quality counts as finding an overlay family
OVER_CODES = (FlagCode.TEXT_OR_WATERMARK, FlagCode.BORDER, FlagCode.INSET_IMAGE)


def photo(path: Path) -> tuple[bool, dict[float, list[tuple[float, float, float]]]]:
    """(whether the overlays check flags the photo without the sticker finder, (area, chroma,
    spread) of its candidate plates by share), as the check reads them (its working copies and
    the graphics its other finders report)."""
    ctx = eq.cached_context(path, eq._mask_hash(True))
    g = graphics(ctx)
    ctx.cache[_GRAPHICS] = replace(g, stickers=[])
    base = any(f.code in OVER_CODES for f in check(ctx).flags)
    th = dict(ctx.thresholds("overlays"), sticker_min_area=min(AREAS))
    edges = colour_edges(g.lab, th)
    holes = plate_holes(edges, th)
    face = face_mask(ctx)
    out = {}
    for share in SHARES:
        ps = plates(g.lab, edges, holes, dict(th, sticker_flat_share=share), g.product)
        kept = set(own_stickers([p.box for p in ps], [*g.badges, *g.codes], face, g.inset,
                                g.scale))
        out[share] = [(p.area, p.chroma, p.spread) for p in ps if p.box in kept]
    return base, out


def collect(splits: dict[str, tuple[int, int, int]]) -> dict[tuple[str, str], list[dict]]:
    jobs: dict[tuple[str, str], list[Path]] = {}
    for sp, (n_clean, n_blur, n_copies) in splits.items():
        jobs[(sp, "clean")] = eq.split_sources(sp, n_clean, 0)
        jobs[(sp, "gauss")] = eq.family_set("gauss", sp, eq.split_sources(sp, n_blur, 0), [])
        jobs[(sp, "sticker")] = eq.family_set("sticker", sp, eq.split_sources(sp, n_copies, 0),
                                              [])
    with Pool(2) as pool:  # both cores
        out = {k: pool.map(photo, v, chunksize=4) for k, v in jobs.items()}
    print(f"  {', '.join(splits)}: {sum(map(len, out.values()))} photos", flush=True)
    return out


def rates(data: dict, rule: tuple[float, float, float, float]) -> dict[tuple[str, str], float]:
    """% of each set flagged with ``rule`` (area floor, share, Delta E, chroma): the sticker
    copies flagged at all, the clean photos and blurred copies flagged by the rule alone."""
    a, share, de, c = rule

    def fires(p: dict) -> bool:
        return any(pa >= a and pc >= c and ps <= de for pa, pc, ps in p[share])

    return {(sp, kind): 100.0 * float(np.mean([
        (base or fires(p)) if kind == "sticker" else (not base and fires(p))
        for base, p in v])) for (sp, kind), v in data.items()}


def main() -> int:
    th = check_thresholds("overlays")
    tune = collect(TUNE)
    best = None
    front = TradeOff()
    for rule in itertools.product(AREAS, SHARES, DES, CHROMAS):
        r = rates(tune, rule)
        if r[("tune", "clean")] > 0.0:
            continue
        found = (r[("tune", "sticker")] + r[("am_tune", "sticker")]) / 2.0
        front.add(r[("am_tune", "clean")], found, rule)
        if max(r[("am_tune", "clean")], r[("tune", "gauss")], r[("am_tune", "gauss")]) > (
                MAX_FALSE):
            continue
        a, share, de, c = rule
        key = (found, c, a, -de, share)
        if best is None or key > best[0]:
            best = (key, rule, r)
    print("amateur tune clean flagged % -> most found (area, share, Delta E, chroma):")
    print("\n".join(front.lines()))
    if best is None:
        print("no rule keeps the clean tune photos under the false-flag limit")
        return 1
    _, rule, r = best
    print("chosen on tune: sticker_min_area {}, sticker_flat_share {}, sticker_flat_de {}, "
          "sticker_min_chroma {}".format(*rule))
    print("tune:  ", rates_line(r, "%"))
    print("report:", rates_line(rates(collect(REPORT), rule), "%"))
    now = (float(th["sticker_min_area"]), float(th["sticker_flat_share"]),
           float(th["sticker_flat_de"]), float(th["sticker_min_chroma"]))
    if now[1] in SHARES:
        print("with the values in thresholds.yaml now:", now)
        print("tune:  ", rates_line(rates(tune, now), "%"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
