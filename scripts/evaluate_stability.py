"""Do verdicts hold under edits that do not change the photo's quality?

A seller mirrors a photo, re-saves it, shrinks it for an upload form or trims its margins; none
of that makes a clean photo worse, and a grade that moves with it is a grade a seller cannot
trust. For each clean photo of a split, the full ``analyze()`` (u2netp, Amazon) of the file as
it is, and of four edited copies (seeded by the file name):

- ``mirror``: flipped left to right;
- ``resave``: decoded and saved again as JPEG at quality 88-95;
- ``shrink``: shrunk to 75-92% (Lanczos);
- ``crop``: 0-6% trimmed off each side (it may cut into a product that fills the frame).

Each copy is saved as JPEG (95, ``resave`` at its own quality). Counted per split and edit: the
flags gained or lost, leaving out those the edit may rightly change (the size rules for
``shrink`` and ``crop``, the framing rules for ``crop``), and the photos whose grade moved while
none of those rules' flags did (a crop still moves the framing score: its grade column is an
upper bound).

Usage::

    .venv/bin/python scripts/evaluate_stability.py [--splits held,store,am_held] [--limit 40]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import evaluate_quality as E  # noqa: E402

from analyzer.engine import analyze  # noqa: E402

SIZE_RULES = {"LOW_RESOLUTION", "NO_ZOOM"}
FRAMING_RULES = {"PRODUCT_CUT_OFF", "PRODUCT_TOO_SMALL", "OFF_CENTER"}


def _crop(im: Image.Image, rng: random.Random) -> Image.Image:
    w, h = im.size
    left, top, right, bottom = (rng.uniform(0.0, 0.06) for _ in range(4))
    return im.crop((round(left * w), round(top * h), round(w * (1 - right)),
                    round(h * (1 - bottom))))


def _shrink(im: Image.Image, rng: random.Random) -> Image.Image:
    s = rng.uniform(0.75, 0.92)
    return im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))),
                     Image.Resampling.LANCZOS)


# edit -> (the copy, the flags it may rightly change)
EDITS: dict[str, tuple[Callable[[Image.Image, random.Random], Image.Image], set[str]]] = {
    "mirror": (lambda im, rng: ImageOps.mirror(im), set()),
    "resave": (lambda im, rng: im, set()),
    "shrink": (_shrink, SIZE_RULES),
    "crop": (_crop, SIZE_RULES | FRAMING_RULES),
}


def _jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def run(splits: list[str], limit: int, seed: int) -> dict[str, dict[str, dict]]:
    """Per split and edit: n, grade moves, flags gained and lost (codes counted)."""
    out: dict[str, dict[str, dict]] = {}
    for split in splits:
        rows: dict[str, dict] = {e: {"n": 0, "grade_moved": 0, "changed": 0,
                                     "gained": collections.Counter(),
                                     "lost": collections.Counter()} for e in EDITS}
        for p in E.split_sources(split, limit, seed):
            base = analyze(p.read_bytes(), name=p.name)
            if not base.ok:
                continue
            im = Image.open(p).convert("RGB")
            rng = E._rng_for(p, f"{seed}:stability")
            for edit, (fn, allowed) in EDITS.items():
                q = rng.randint(88, 95) if edit == "resave" else 95
                r = analyze(_jpeg(fn(im, rng), q), name=p.name)
                if not r.ok:
                    continue
                b0 = {f.code.value for f in base.flags}
                a0 = {f.code.value for f in r.flags}
                b, a = b0 - allowed, a0 - allowed
                row = rows[edit]
                row["n"] += 1
                row["grade_moved"] += r.grade != base.grade and (a0 & allowed) == (b0 & allowed)
                row["changed"] += a != b
                row["gained"].update(a - b)
                row["lost"].update(b - a)
        out[split] = rows
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", default="held,store,am_held")
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    res = run(args.splits.split(","), args.limit, args.seed)
    print("| split | edit | photos | grade moved | flags changed | gained | lost |")
    print("|---|---|---|---|---|---|---|")
    for split, rows in res.items():
        for edit, r in rows.items():
            n = max(1, r["n"])
            print(f"| {split} | {edit} | {r['n']} | {r['grade_moved'] / n:.0%} | "
                  f"{r['changed'] / n:.0%} | {dict(r['gained'].most_common(4))} | "
                  f"{dict(r['lost'].most_common(4))} |")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=dict))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
