"""Choose the exposure check's white-backdrop line for a cast too strong to leave anything near
neutral (``cast_backdrop_min_level`` in thresholds.yaml, ``exposure.white_backdrop``) on the
TUNING splits.

Every clean photo of tune (luma men's apparel, 72) and of the amateur tune senders (721) and
the ``cast`` family's copies of them (``scripts/quality_families.py``: white balance off under a
bulb or shade, 40 + 80) go through the exposure check; where too few bright pixels are near
neutral, the median of the brightest channel of the frame's outer band's pixels is kept. For
each line the check is replayed: ``COLOR_CAST`` as it fires now, or, for a photo with too few
neutral pixels and a band at or over the line, when the bright pixels' median tint reaches
``cast_flag``. Kept: the line that finds the most copies (the lowest of equals) with no
clean tune photo flagged that is not flagged now. The report splits (luma held, the store's
icons, the amateur held senders) are printed at it.

Usage::

    .venv/bin/python scripts/choose_cast_backdrop.py
"""

from __future__ import annotations

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
from choice import rates_line  # noqa: E402

from analyzer.codes import FlagCode  # noqa: E402
from analyzer.config import check_thresholds  # noqa: E402
from analyzer.quality import exposure  # noqa: E402
from analyzer.quality.registry import checks  # noqa: E402
from analyzer.vision.shrink import every  # noqa: E402

TUNE = {"tune": (72, 40), "am_tune": (10_000, 80)}
REPORT = {"held": (127, 40), "store": (81, 40), "am_held": (10_000, 80)}
LINES = tuple(range(150, 256, 5))


def photo(path: str) -> tuple[bool, float, float]:
    """(``COLOR_CAST`` with no backdrop read, the band's :func:`exposure.backdrop_level` where
    too few bright pixels are near neutral (-1 elsewhere), the bright pixels' median tint's
    chroma there)."""
    ctx = eq.cached_context(Path(path), eq._mask_hash(True))
    th = ctx.thresholds("exposure")
    r = checks()["exposure"](ctx)
    # with no backdrop read such a photo's cast read 0, so a flag it raises is the read's
    flagged = (any(f.code == FlagCode.COLOR_CAST for f in r.flags)
               and not r.metrics["cast_from_backdrop"])
    if r.metrics["neutral_fraction"] >= float(th["min_neutral_fraction"]):
        return flagged, -1.0, 0.0
    lab, rgb = every(ctx.lab, 2), every(ctx.rgb, 2)  # the check's grid
    # the read at every line: the tint exposure.measure reads off any backdrop
    m = exposure.measure(lab, np.ones(lab.shape[:2], bool), dict(th, cast_backdrop_min_level=0),
                         rgb)
    return flagged, exposure.backdrop_level(rgb, th), float(m["cast"])


def collect(splits: dict[str, tuple[int, int]]) -> dict[tuple[str, str], list]:
    jobs: dict[tuple[str, str], list[Path]] = {}
    for sp, (n_clean, n_cast) in splits.items():
        jobs[(sp, "clean")] = eq.split_sources(sp, n_clean, 0)
        jobs[(sp, "cast")] = eq.family_set("cast", sp, eq.split_sources(sp, n_cast, 0), [])
    with Pool(2) as pool:  # both cores
        return {k: pool.map(photo, [str(p) for p in v], chunksize=8) for k, v in jobs.items()}


def rates(data: dict, line: float, cast_flag: float) -> dict[tuple[str, str], float]:
    return {k: 100.0 * float(np.mean([f or (band_l >= line and tint >= cast_flag)
                                      for f, band_l, tint in v])) for k, v in data.items()}


def main() -> int:
    cast_flag = float(check_thresholds("exposure")["cast_flag"])
    tune = collect(TUNE)
    now = rates(tune, float("inf"), cast_flag)
    best = None
    for line in LINES:
        r = rates(tune, line, cast_flag)
        if any(r[(sp, "clean")] > now[(sp, "clean")] for sp in TUNE):
            continue
        found = float(np.mean([r[(sp, "cast")] for sp in TUNE]))
        if best is None or found > best[0]:
            best = (found, line, r)
    if best is None:
        print("no line keeps the clean tune photos as they are")
        return 1
    _, line, r = best
    print(f"chosen on tune: cast_backdrop_min_level {line}")
    print("tune, without the read:", rates_line(now, "%"))
    print("tune, with it:         ", rates_line(r, "%"))
    report = collect(REPORT)
    print("report, without:", rates_line(rates(report, float("inf"), cast_flag), "%"))
    print("report, with:   ", rates_line(rates(report, line, cast_flag), "%"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
