"""Measure the built-in embedder's recipes end to end (the real :class:`BuiltinEmbedder`, product
mask and crop included) on the tuning and never-seen splits of ``scripts/train_embedding_head.py``
(same seed, same split code): luma alternate view -> main image (products B: tuning, C:
never-seen) and grocery in-store photo -> iconic image (part of train.txt: tuning, val.txt:
never-seen).

``--stage parts`` runs the backbone once per image (whole image and product crop, at most 448 px
like the training cache) and caches every part (``g``, ``c``, ``col``, ``hsv``) under
``--cache``; ``--shard i/n`` splits that work between processes. ``--stage eval`` combines the
cached parts into each recipe with :func:`analyzer.embed.builtin.combine` (so the recipes are
the shipped ones) and prints top-1 / top-5 / MRR per split. ``--stage time`` measures CPU seconds
per image of each shipped recipe on ``--n-time`` photos (mask computed, as for a new upload).

    nice -n 10 .venv/bin/python scripts/compare_embed_recipes.py --stage parts --shard 0/2 &
    nice -n 10 .venv/bin/python scripts/compare_embed_recipes.py --stage parts --shard 1/2
    .venv/bin/python scripts/compare_embed_recipes.py --stage eval
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.embed.builtin import (  # noqa: E402
    HEAD_CONFIG,
    RMAC_CROP_CONFIG,
    BuiltinConfig,
    BuiltinEmbedder,
    combine,
)

_spec = importlib.util.spec_from_file_location("train_head", REPO / "scripts" /
                                               "train_embedding_head.py")
assert _spec is not None and _spec.loader is not None
th = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(th)

# Every part in one pass: whole image and crop (R-MAC), product colour, whole-image HSV.
ALL_PARTS = BuiltinConfig(pool="rmac", w_hsv=0.4)


def recipes() -> dict[str, BuiltinConfig]:
    """The recipes compared; the last group is tuned on the tuning columns only."""
    out = {
        "default before (crop + colour 0.2, R-MAC)": RMAC_CROP_CONFIG,
        "plain global (R-MAC)": BuiltinConfig(crop=False, color=False, pool="rmac"),
        "head (no HSV)": replace(HEAD_CONFIG, w_hsv=0.0),
        "builtin:head (head + HSV 0.4)": HEAD_CONFIG,
        "head + crop + HSV 0.4": replace(HEAD_CONFIG, crop=True),
        "head + crop + colour 0.2": BuiltinConfig(pool="rmac", head="ssl"),
        "head + crop + colour 0.2 + HSV 0.3": BuiltinConfig(pool="rmac", head="ssl", w_hsv=0.3),
    }
    for w in (0.2, 0.3, 0.5):
        out[f"head + HSV {w:g}"] = replace(HEAD_CONFIG, w_hsv=w)
    return out


def _load(p: Path) -> np.ndarray:
    from analyzer.io.loader import load_image

    return th._shrink(load_image(p).rgb)


def stage_parts(paths: list[Path], cache: Path, shard: tuple[int, int]) -> None:
    emb = BuiltinEmbedder("cpu", ALL_PARTS)
    out = cache / "parts"
    out.mkdir(parents=True, exist_ok=True)
    mine = [p for i, p in enumerate(paths) if i % shard[1] == shard[0]]
    todo = [p for p in mine if not (out / f"{th._key(p, 'parts')}.npz").is_file()]
    t0 = time.time()
    for i in range(0, len(todo), 8):
        ims, names = [], []
        for p in todo[i:i + 8]:
            try:
                ims.append(_load(p))
                names.append(p)
            except Exception as e:  # one unreadable photo must not stop the run
                print(f"skip {p}: {e}", file=sys.stderr)
        if not ims:
            continue
        parts = emb.parts(ims)
        for j, p in enumerate(names):
            np.savez(out / f"{th._key(p, 'parts')}.npz",
                     **{k: parts[k][j] for k in ("g", "c", "col", "hsv")})
        print(f"shard {shard[0]}: {i + len(names)}/{len(todo)} {time.time() - t0:.0f}s", flush=True)


def load_parts(paths: list[Path], cache: Path) -> dict[str, np.ndarray]:
    out: dict[str, list] = {k: [] for k in ("g", "c", "col", "hsv")}
    for p in paths:
        with np.load(cache / "parts" / f"{th._key(p, 'parts')}.npz") as z:
            for k in out:
                out[k].append(z[k].astype(np.float32))
    return {k: np.stack(v) for k, v in out.items()}


def describe(parts: dict[str, np.ndarray], cfg: BuiltinConfig) -> np.ndarray:
    return combine(parts["g"], parts["c"] if cfg.crop else None,
                   parts["col"] if cfg.color else None, cfg, hsv=parts["hsv"])


def stage_eval(sp: dict, cache: Path) -> dict:
    loaded = {n: (load_parts(q, cache), load_parts(g, cache), t)
              for n, (q, g, t) in th.tasks(sp).items()}
    res = {}
    print("| recipe | luma tune t1/t5/MRR | grocery tune t1/t5/MRR | luma never-seen t1/t5/MRR | "
          "grocery never-seen t1/t5/MRR |\n|---|---|---|---|---|")
    for label, cfg in recipes().items():
        r = {n: th.topk(describe(q, cfg), describe(g, cfg), t) for n, (q, g, t) in loaded.items()}
        res[label] = {"tag": cfg.tag(), **r}
        print(f"| {label} | {th.fmt(r['luma_tune'])} | {th.fmt(r['grocery_tune'])} | "
              f"{th.fmt(r['luma_test'])} | {th.fmt(r['grocery_test'])} |", flush=True)
    print("queries:", {n: len(t) for n, (_, _, t) in loaded.items()})
    (cache / "compare_results.json").write_text(json.dumps(res, indent=1))
    return res


def stage_time(paths: list[Path], n: int) -> None:
    """CPU seconds per image (process time, all threads) of each shipped recipe, mask computed."""
    ims = [_load(p) for p in paths[:n]]
    for label, cfg in (("default before", RMAC_CROP_CONFIG), ("builtin:head", HEAD_CONFIG)):
        emb = BuiltinEmbedder("cpu", cfg)
        emb.embed(ims[:2])   # warm-up
        t0, w0 = time.process_time(), time.perf_counter()
        for im in ims:
            emb.embed([im])
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        print(f"{label}: {1000 * cpu / len(ims):.0f} ms CPU / image, "
              f"{1000 * wall / len(ims):.0f} ms wall / image ({len(ims)} images)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", choices=("parts", "eval", "time"), required=True)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/i15b"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard", default="0/1")
    ap.add_argument("--n-time", type=int, default=40)
    args = ap.parse_args()
    if not (args.data / "luma").is_dir():
        sys.exit(f"no data at {args.data}")
    sp = th.splits(args.data, args.seed, 300, 150, 200)
    paths = list(dict.fromkeys(p for q, g, _ in th.tasks(sp).values() for p in q + g))
    if args.stage == "parts":
        i, n = (int(x) for x in args.shard.split("/"))
        print(f"{len(paths)} images", flush=True)
        stage_parts(paths, args.cache, (i, n))
    elif args.stage == "eval":
        stage_eval(sp, args.cache)
    else:
        # Shopper photos and studio shots alike: every 7th image of the evaluation list.
        stage_time(paths[::7], args.n_time)


if __name__ == "__main__":
    main()
