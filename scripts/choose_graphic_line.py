"""Choose the line of the drawing measure (``graphic_flat_min`` in thresholds.yaml;
``overlays.graphic.flat_share``) on the TUNING splits.

Every clean tune photo (luma men's apparel and all amateur tune senders' photos), the same
photos JPEG-compressed (``jpeg``, ``jpeg_file``: a heavily compressed photo has flat 8 x 8 blocks
and must not read as a drawing) and redrawn as flat colour (``drawing``:
scripts/quality_families.py) are measured once. The line kept: the highest of the share of the
drawings found among the lines that flag no tune photo, clean or compressed (the lowest such
line: calling a photo a drawing tells its seller something false, while a posterised copy the
line misses still has a photo's other flags). Youden's J, tried first, kept 0.20, the grid's
lowest, where 7.5-10% of the compressed studio copies read as drawings. The report splits
(studio held, store icons, amateur held senders) are only printed.

Usage::

    .venv/bin/python scripts/choose_graphic_line.py
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

from analyzer.config import check_thresholds, marketplace  # noqa: E402
from analyzer.io.loader import load_image  # noqa: E402
from analyzer.quality.context import ImageContext  # noqa: E402
from analyzer.quality.overlays.graphic import flat_share  # noqa: E402

TH = check_thresholds("overlays")
# split -> (clean photos, copies per family)
TUNE = {"tune": (72, 40), "am_tune": (10_000, 80)}
REPORT = {"held": (127, 40), "store": (81, 40), "am_held": (10_000, 80)}
NEGATIVE = ("clean", "jpeg", "jpeg_file")
LINES = tuple(round(0.20 + 0.05 * i, 2) for i in range(15))


def measure(path: Path) -> float:
    ctx = ImageContext(image=load_image(path), marketplace=marketplace("amazon"))
    return flat_share(ctx.rgb, ctx.mask_bool_or_none, TH)


def collect(splits: dict) -> dict[tuple[str, str], np.ndarray]:
    jobs: dict[tuple[str, str], list[Path]] = {}
    for sp, (n_clean, n_fam) in splits.items():
        jobs[(sp, "clean")] = eq.split_sources(sp, n_clean, 0)
        src = eq.split_sources(sp, n_fam, 0)
        for fam in ("jpeg", "jpeg_file", "drawing"):
            jobs[(sp, fam)] = eq.family_set(fam, sp, src, [])
    with Pool(2) as pool:  # both cores
        return {k: np.array(pool.map(measure, v, chunksize=8)) for k, v in jobs.items()}


def rates(data: dict[tuple[str, str], np.ndarray], line: float) -> dict[tuple[str, str], float]:
    return {k: 100.0 * float(np.mean(v >= line)) for k, v in data.items()}


def main() -> int:
    tune = collect(TUNE)
    neg = np.concatenate([v for (sp, fam), v in tune.items() if fam in NEGATIVE])
    pos = np.concatenate([v for (sp, fam), v in tune.items() if fam == "drawing"])
    best = None
    for line in LINES:
        found, false = 100.0 * np.mean(pos >= line), 100.0 * np.mean(neg >= line)
        print(f"  line {line:.2f}: drawings found {found:5.1f}%, photos flagged {false:4.2f}%")
        if best is None and false == 0.0:
            best = line
    assert best is not None, "every line flags a tune photo"
    print(f"chosen on tune: graphic_flat_min {best}")
    print("tune:  ", rates_line(rates(tune, best)))
    print("report:", rates_line(rates(collect(REPORT), best)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
