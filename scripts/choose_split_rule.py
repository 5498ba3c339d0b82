"""Choose the before/after split finder's rule (thresholds.yaml ``checks.overlays``:
``split_step_de``, ``split_min_on``, ``split_min_across``, ``split_min_off``,
``split_min_seam``) on the tuning photos, and report it on photos the choice never saw
(analyzer/quality/overlays/split.py).

- Chosen on: the clean photos of tune (luma men's apparel, studio; all 72) and of the amateur
  tune senders (80); tune's copies of the families with a straight line or a seam of their own
  (a soft half out of focus, a frame, a hairline frame, an inset picture, dimension lines, a
  banner's padding) and of props, pairs, reflections, badges, too bright and too dark photos;
  the amateur tune senders' too bright, too dark and cut-out copies; and both splits'
  before/after copies (``quality_families.split``) and two pictures joined (``collage``).
- Rule: the most before/after and joined copies of tune and the amateur tune senders found
  (the mean of the four shares) with none of those other photos flagged; ties: the stricter
  rule (a higher step, more of the line with steps).
- Reported on: held (luma products of other categories), store (the grocery icons, 198 px)
  and the amateur held senders, clean and with either defect, and the same other families'
  copies of held and store (where else it fires).

The line's reach into the frame's edges (``split_min_ends``, ``split_end_frac``) is fixed, not
chosen: a seam between two pictures runs from one edge of the frame to the other (it was set
after the first rule, chosen without it, flagged carton corners on the store's icons and on a
new user's enlarged icons; tune has no cartons, and a choice free to set it took 0, which
found one amateur tune copy more). Every line of a photo whose steps cover at least
``MIN_ACROSS`` of it is kept with its shares (``split.shares``), for each step value of the
grid, so the grid replays the rule without running the mask again. So are the grain factor
(``split_noise_k``), the banner strip's width (``split_band``, ``split_band_across``) and the
panel's share (``split_min_panel``): set after the rule chosen without them flagged noisy
icons, price banners across phone photos and a floor board's seam, all seen on held-out copies
or the amateur tune senders.

Usage::

    .venv/bin/python scripts/choose_split_rule.py
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("LISTING_LENS_ORT_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import evaluate_quality as eq  # noqa: E402
import numpy as np  # noqa: E402
import quality_families as qf  # noqa: E402
from PIL import Image  # noqa: E402

from analyzer.config import check_thresholds  # noqa: E402
from analyzer.quality.overlays import text_zone, working_mask  # noqa: E402
from analyzer.quality.overlays.split import shares, splits, working_copies  # noqa: E402

GRID = {"split_step_de": (4.0, 5.0, 6.0, 8.0),
        "split_min_on": (0.6, 0.7, 0.8, 0.9),
        "split_min_across": (0.7, 0.8, 0.85, 0.9, 0.95),
        "split_min_off": (0.4, 0.6, 0.8),
        "split_min_seam": (0.8, 0.9, 0.95, 1.01)}
# a stricter value: a higher step, more steps on the product, down the line and off it
STRICT = {"split_step_de": 1, "split_min_on": 1, "split_min_across": 1, "split_min_off": 1,
          "split_min_seam": 1}
MIN_ACROSS = min(GRID["split_min_across"])
LINED = ("half_defocus", "frame", "thin_frame", "inset", "dimension", "banner")
OTHERS = (*LINED, "props_beside", "props_around", "pair", "reflection", "badge", "overexposed",
          "lowlight")
AM_OTHERS = ("overexposed", "lowlight", "cutout")


def read(path: Path, th: dict, mask_hash: str) -> list[dict[str, np.ndarray]] | None:
    """For each step value, the lines (both orientations) with steps on ``MIN_ACROSS`` of
    their length, as :func:`split.shares` gives them; None on a printed face (not searched)."""
    ctx = eq.cached_context(path, mask_hash)
    if ctx.mask_result.face:
        return None
    _, plain, lab, _ = text_zone(ctx, th)
    product = working_mask(ctx, plain)
    if not product.any():
        return [{} for _ in GRID["split_step_de"]]
    lab, product = working_copies(lab, product, th)
    out = []
    for de in GRID["split_step_de"]:
        keep: dict[str, list] = {}
        for vertical in (True, False):
            # every share read for every line (the frame test too, which the finder reads only
            # when some line could pass the shipped rule)
            low = {k: v for k, v in zip(GRID, (de, 0.0, 0.0, 0.0, 0.0), strict=True)}
            s = shares(lab, product, th | low, vertical)
            # the fixed parts of the rule: off the frame's edge, not framed, not a band's edge,
            # a joining line's panels
            eligible = splits(s, th | low | {"split_min_ends": 0.0})
            cols = np.nonzero(eligible & (s["across"] >= MIN_ACROSS))[0]
            for k, v in s.items():
                keep.setdefault(k, []).append(v[cols])
        out.append({k: np.concatenate(v) for k, v in keep.items()})
    return out


def flagged(lines: list[dict[str, np.ndarray]] | None, th: dict) -> bool:
    if lines is None:
        return False
    s = lines[GRID["split_step_de"].index(th["split_step_de"])]
    if not s or not len(s["across"]):
        return False
    return bool(splits(s, th, margin=False).any())


FAMILIES = ("split", "collage")  # what the finder must find


def collect(th: dict, mask_hash: str) -> tuple[dict[str, list], dict[str, dict[str, list]],
                                                dict[str, list]]:
    """Each split's clean photos, its copies of FAMILIES (family -> split -> copies) and its
    copies of the other families, read."""
    clean: dict[str, list] = {}
    found: dict[str, dict[str, list]] = {f: {} for f in FAMILIES}
    others: dict[str, list] = {}
    for name, n in (("tune", 80), ("am_tune", 80), ("held", 40), ("store", 40),
                    ("am_held", 80)):
        src = eq.split_sources(name, n, 0)
        clean[name] = [read(p, th, mask_hash) for p in src]
        for f in FAMILIES:
            found[f][name] = [read(p, th, mask_hash) for p in eq.family_set(f, name, src, [])]
        fams = OTHERS if name in eq.FAMILY_SPLITS else AM_OTHERS if name == "am_tune" else ()
        src40 = eq.split_sources(name, 40, 0)
        props = [(p, qf.cutout(Image.open(p))) for p in src40[:24]] if fams else []
        others[name] = [read(p, th, mask_hash) for f in fams
                        for p in eq.family_set(f, name, src40, props)]
        print(f"  {name}: {len(clean[name])} clean, "
              + ", ".join(f"{len(found[f][name])} {f}" for f in FAMILIES)
              + f", {len(others[name])} other copies", flush=True)
    return clean, found, others


def choose(clean: dict[str, list], found: dict[str, dict[str, list]], others: dict[str, list],
           th: dict) -> None:
    """Print the chosen rule, the shipped one and both on every split."""
    def pct(sets: list, rule: dict) -> float:
        return 100 * sum(flagged(c, th | rule) for c in sets) / max(1, len(sets))

    keys = list(GRID)
    best = None
    for values in itertools.product(*GRID.values()):
        rule = dict(zip(keys, values, strict=True))
        if any(pct(sets[s], rule) > 0 for sets in (clean, others) for s in ("tune", "am_tune")):
            continue
        share = float(np.mean([pct(found[f][s], rule) for f in FAMILIES
                               for s in ("tune", "am_tune")]))
        cand = (share, tuple(STRICT[k] * v for k, v in rule.items()), rule)
        if best is None or cand[:2] > best[:2]:
            best = cand
    assert best is not None, "no rule keeps the tuning photos unflagged"
    shipped = {k: th[k] for k in keys}
    print("chosen:", best[2])
    print("shipped:", shipped)
    for label, rule in (("chosen", best[2]), ("shipped", shipped)):
        print(f"{label}: found % ({' / '.join(FAMILIES)}) | clean flagged % | other copies "
              f"flagged %")
        for s in clean:
            print(f"  {s}: " + " / ".join(f"{pct(found[f][s], rule):.1f}" for f in FAMILIES)
                  + f" | {pct(clean[s], rule):.1f} | "
                  + (f"{pct(others[s], rule):.1f}" if others[s] else "-"))


def main() -> int:
    th = dict(check_thresholds("overlays"))
    choose(*collect(th, eq._mask_hash(True)), th)
    return 0


if __name__ == "__main__":
    sys.exit(main())
