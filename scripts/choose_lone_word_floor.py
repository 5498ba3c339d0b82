"""Choose the text finder's floor for a lone word (``lone_word_min_h_frac`` in
thresholds.yaml; ``text.accepted``) on the TUNING splits.

Every tune photo (all amateur tune senders' photos and luma men's apparel, clean) and the same
photos with added text, watermarks and a shop's small print (``am_text``, ``am_watermark``,
``cut_text``; ``text``, ``text_corner``, ``watermark``: scripts/quality_families.py) goes
through the overlays check's own steps once: the candidate words the text finder keeps, each
word's margin over the margin it needs and its glyphs' median height, and whether the check's
other finders (the watermark finder, badges and tags) flag the photo anyway. For each floor
the photo is flagged as the check flags it (``text.accepted`` decides the words). The floor
kept: the highest of the mean share of the defect copies found minus the share of the clean
amateur tune photos flagged (Youden's J; ties: the lowest floor). The families of a recipe the
tuning never saw (``am_text_unseen``, ``text_unseen``) and the report splits (amateur held
senders, studio held, store icons) are only printed.

Usage::

    .venv/bin/python scripts/choose_lone_word_floor.py
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
import fit_text_verifier as ftv  # noqa: E402
from choice import rates_line  # noqa: E402

from analyzer.config import check_thresholds  # noqa: E402
from analyzer.quality.overlays import graphics  # noqa: E402
from analyzer.quality.overlays import text as text_mod  # noqa: E402
from analyzer.quality.overlays.watermark import find_watermark  # noqa: E402

# split -> (clean photos, defect families, copies per family)
TUNE = {"am_tune": (10_000, ("am_text", "am_watermark", "cut_text"), 80),
        "tune": (72, ("text", "text_corner", "watermark"), 40)}
REPORT = {"am_held": (10_000, ("am_text", "am_text_unseen", "am_watermark", "cut_text"), 80),
          "held": (127, ("text", "text_unseen", "text_corner", "watermark"), 40),
          "store": (81, ("text", "text_corner", "watermark"), 40)}
CLEAN = "am_tune"  # the clean split whose false flags count against a floor
FLOORS = tuple(round(0.010 + 0.0005 * i, 4) for i in range(21))


def photo(path: Path) -> dict:
    """The overlays check's text inputs of one photo and whether its other finders flag it."""
    ctx = ftv.image_context(path, eq._mask_hash(True))
    th = ctx.thresholds("overlays")
    g = graphics(ctx)
    s, words, feats, (H, W) = text_mod.candidates(
        ctx.rgb, g.zone, th, ctx.image.scale == 1.0, ctx.gray_u8, g.lab,
        text_mod.Prefilter.from_thresholds(th))
    other = bool(g.badges) or find_watermark(ctx.gray_u8, th).found
    if not words:
        return {"boxes": [], "gap": np.zeros(0), "h": np.zeros(0), "H": H, "other": other}
    heights = np.array([f["h"] for f in feats])
    need = text_mod.required_margin(
        np.array([f["inside"] for f in feats]), th,
        text_mod.in_margin([w.box for w in words], (H, W), g.plain, th, heights))
    return {"boxes": [w.box for w in words], "gap": text_mod.verifier_margin(feats) - need,
            "h": heights, "H": H, "other": other}


def collect(splits: dict) -> dict[tuple[str, str], list[dict]]:
    jobs: dict[tuple[str, str], list[Path]] = {}
    for sp, (n_clean, fams, n_fam) in splits.items():
        jobs[(sp, "clean")] = eq.split_sources(sp, n_clean, 0)
        src = eq.split_sources(sp, n_fam, 0)
        for fam in fams:
            jobs[(sp, fam)] = eq.family_set(fam, sp, src, [])
    with Pool(2) as pool:  # both cores: ~1,200 photos a split group
        out = {k: pool.map(photo, v, chunksize=8) for k, v in jobs.items()}
    print(f"  {', '.join(splits)}: {sum(map(len, out.values()))} photos", flush=True)
    return out


def flagged(p: dict, th: dict) -> bool:
    return p["other"] or bool(text_mod.accepted(p["boxes"], p["gap"], p["h"], p["H"], th))


def rates(data: dict, th: dict) -> dict[tuple[str, str], float]:
    return {k: 100.0 * float(np.mean([flagged(p, th) for p in v])) for k, v in data.items()}


def main() -> int:
    th = check_thresholds("overlays")
    tune = collect(TUNE)
    best = None
    for floor in FLOORS:
        r = rates(tune, dict(th, lone_word_min_h_frac=floor))
        found = float(np.mean([v for (sp, fam), v in r.items() if fam != "clean"]))
        j = found - r[(CLEAN, "clean")]
        print(f"  floor {floor:.4f}: found {found:5.2f}%, clean {r[(CLEAN, 'clean')]:4.2f}%, "
              f"J {j:5.2f}")
        if best is None or j > best[0] + 1e-9:
            best = (j, floor)
    assert best is not None
    floor = best[1]
    off = dict(th, lone_word_min_h_frac=0.0)
    on = dict(th, lone_word_min_h_frac=floor)
    print(f"chosen on tune: lone_word_min_h_frac {floor}")
    print("tune, without:", rates_line(rates(tune, off)))
    print("tune, with:   ", rates_line(rates(tune, on)))
    report = collect(REPORT)
    print("report, without:", rates_line(rates(report, off)))
    print("report, with:   ", rates_line(rates(report, on)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
