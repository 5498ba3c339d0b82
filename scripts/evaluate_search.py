"""Measure what each idea in the built-in embedder buys, on real photos from ../shared/data.

Two retrieval tasks:

1. **luma multi-view**: the catalog is every product's main (first) image; each query is an
   alternate view of a product; the hit is that product's main image. Top-1, top-5, MRR.
2. **grocery shopper photos**: the catalog is the 81 iconic (white-background) class images; each
   query is an in-store phone photo (``dataset/train.txt``, a seeded subsample); the hit is the
   iconic image of its class. Top-1, top-5, MRR.

Methods (rows of the table): a colour-histogram baseline (the colour descriptor of the whole image,
no mask), the plain global embedding (whole image only), global + product crop (several crop
paddings, box vs cut-out), and global + crop + colour (several colour weights). Every descriptor
part is computed once per image and cached under ``--cache`` (default /tmp/listing_lens_eval), so
re-runs and new combinations cost seconds.

    .venv/bin/python scripts/evaluate_search.py --luma-limit 534 --grocery-limit 600
    .venv/bin/python scripts/evaluate_search.py --compute-only      # fill the cache only
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.embed.base import l2_normalize  # noqa: E402
from analyzer.embed.builtin import (  # noqa: E402
    DEFAULT_CONFIG,
    BuiltinConfig,
    backbone_features,
    combine,
    mask_prob,
    product_view,
)
from analyzer.embed.color import color_descriptor  # noqa: E402

CROP_VARIANTS = ((0.1, True), (0.1, False))


def crop_key(pad: float, cut: bool) -> str:
    return f"crop_{pad:g}_{'cut' if cut else 'box'}"


def cache_file(cache: Path, path: Path) -> Path:
    return cache / (hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:20] + ".npz")


def compute_parts(path: Path, cache: Path) -> dict[str, np.ndarray]:
    """Mask, global and crop features and colour descriptors of one image (cached)."""
    f = cache_file(cache, path)
    if f.is_file():
        with np.load(f) as z:
            return dict(z)
    from analyzer.io.loader import load_image

    rgb = load_image(path).rgb
    prob = mask_prob(rgb, None)
    views = [rgb] + [product_view(rgb, prob, p, c) for p, c in CROP_VARIANTS]
    feats = backbone_features(views, batch_size=len(views))
    out = {"global": feats[0], "color": color_descriptor(rgb, prob),
           "color_full": color_descriptor(rgb, None)}
    for (p, c), v in zip(CROP_VARIANTS, feats[1:], strict=True):
        out[crop_key(p, c)] = v
    small = cv2.resize(prob, (max(1, prob.shape[1] // 4), max(1, prob.shape[0] // 4)),
                       interpolation=cv2.INTER_AREA)
    out["prob_small"] = np.rint(small * 255).astype(np.uint8)
    tmp = f.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(f)
    return out


# ---------------------------------------------------------------- datasets


def luma_task(data: Path, limit: int, seed: int) -> tuple[list[Path], list[Path], list[int]]:
    """(catalog main images, query alternate views, target index of each query)."""
    with open(data / "luma" / "MANIFEST_products.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    mains, queries, targets = [], [], []
    for i, r in enumerate(rows):
        imgs = r["images"].split("|")
        mains.append(data / "luma" / imgs[0])
        for alt in imgs[1:]:
            queries.append(data / "luma" / alt)
            targets.append(i)
    order = list(range(len(queries)))
    random.Random(seed).shuffle(order)
    order = sorted(order[:limit])
    return mains, [queries[i] for i in order], [targets[i] for i in order]


def grocery_task(data: Path, limit: int, seed: int) -> tuple[list[Path], list[Path], list[int]]:
    root = data / "grocery" / "dataset"
    with open(root / "classes.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    iconic = {int(r[1]): root / r[4].lstrip("/") for r in rows}
    ids = sorted(iconic)
    pos = {c: i for i, c in enumerate(ids)}
    lines = [ln.split(",") for ln in (root / "train.txt").read_text().splitlines() if ln.strip()]
    random.Random(seed).shuffle(lines)
    lines = lines[:limit]
    return ([iconic[c] for c in ids], [root / ln[0].strip() for ln in lines],
            [pos[int(ln[1])] for ln in lines])


# ---------------------------------------------------------------- metrics


def retrieval_metrics(q: np.ndarray, cat: np.ndarray, targets: list[int]) -> dict[str, float]:
    sims = q @ cat.T
    t = np.asarray(targets)
    target_sim = sims[np.arange(len(t)), t]
    rank = (sims > target_sim[:, None]).sum(axis=1) + 1
    return {"top1": float((rank == 1).mean()), "top5": float((rank <= 5).mean()),
            "mrr": float((1.0 / rank).mean()), "n": len(t)}


def method_vectors(parts: list[dict], cfg: BuiltinConfig | None) -> np.ndarray:
    """The descriptors of one method; ``cfg`` None = the colour-histogram baseline."""
    if cfg is None:
        return l2_normalize(np.stack([p["color_full"] for p in parts]))
    g = np.stack([p["global"] for p in parts])
    c = np.stack([p[crop_key(cfg.crop_pad, cfg.cutout)] for p in parts]) if cfg.crop else None
    col = np.stack([p["color"] for p in parts]) if cfg.color else None
    return combine(g, c, col, cfg)


def methods() -> list[tuple[str, BuiltinConfig | None]]:
    out: list[tuple[str, BuiltinConfig | None]] = [
        ("colour histogram (baseline)", None),
        ("global only", BuiltinConfig(crop=False, color=False)),
    ]
    for pad, cut in CROP_VARIANTS:
        for wc in (0.5, 1.0, 2.0):
            cfg = BuiltinConfig(crop=True, color=False, crop_pad=pad, cutout=cut, w_crop=wc)
            out.append((f"global+crop (pad {pad:g}, {'cut-out' if cut else 'box'}, "
                        f"w {wc:g})", cfg))
    out.append(("global+colour 0.2", BuiltinConfig(crop=False, color=True)))
    for wcol in (0.1, 0.2, 0.3, 0.35, 0.45):
        cfg = replace(DEFAULT_CONFIG, w_color=wcol)
        out.append((f"global+crop+colour {wcol:g} (pad {cfg.crop_pad:g}, "
                    f"{'cut-out' if cfg.cutout else 'box'})", cfg))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/listing_lens_eval"))
    ap.add_argument("--luma-limit", type=int, default=534, help="alternate views used as queries")
    ap.add_argument("--grocery-limit", "--limit", type=int, default=600,
                    help="in-store photos used as queries")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compute-only", action="store_true")
    ap.add_argument("--cached-only", action="store_true",
                    help="evaluate only the queries already in the cache")
    ap.add_argument("--markdown", action="store_true", help="print a README-ready table")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    tasks = {"luma": luma_task(args.data, args.luma_limit, args.seed),
             "grocery": grocery_task(args.data, args.grocery_limit, args.seed)}
    # Catalog images first, then queries of both tasks interleaved, so a partial cache is usable.
    todo = [p for cat, _, _ in tasks.values() for p in cat]
    qs = [list(q) for _, q, _ in tasks.values()]
    for i in range(max(len(q) for q in qs)):
        todo += [q[i] for q in qs if i < len(q)]
    if not args.cached_only:
        t0 = time.time()
        missing = [p for p in todo if not cache_file(args.cache, p).is_file()]
        for j, p in enumerate(missing):
            try:
                compute_parts(p, args.cache)
            except Exception as e:  # one unreadable photo must not stop the evaluation
                print(f"skip {p}: {e}", file=sys.stderr)
            if j % 25 == 0:
                print(f"[{j}/{len(missing)}] {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    if args.compute_only:
        return 0

    results: dict[str, dict[str, dict]] = {}
    for name, (cat, qpaths, targets) in tasks.items():
        cat_parts = [compute_parts(p, args.cache) for p in cat]
        keep = [i for i, p in enumerate(qpaths) if cache_file(args.cache, p).is_file()]
        q_parts = [compute_parts(qpaths[i], args.cache) for i in keep]
        tg = [targets[i] for i in keep]
        if not keep:
            print(f"{name}: no cached queries yet", file=sys.stderr)
            continue
        for label, cfg in methods():
            m = retrieval_metrics(method_vectors(q_parts, cfg), method_vectors(cat_parts, cfg), tg)
            results.setdefault(label, {})[name] = m
    if not results or any(len(r) < len(tasks) for r in results.values()):
        return 1
    n_l = next(iter(results.values()))["luma"]["n"]
    n_g = next(iter(results.values()))["grocery"]["n"]
    head = ("| method | luma top-1 | luma top-5 | luma MRR | grocery top-1 | grocery top-5 | "
            "grocery MRR |\n|---|---|---|---|---|---|---|")
    print(f"luma: {n_l} alternate-view queries vs {len(tasks['luma'][0])} main images; "
          f"grocery: {n_g} in-store queries vs {len(tasks['grocery'][0])} iconic images")
    print(head)
    for label, r in results.items():
        lu, gr = r["luma"], r["grocery"]
        print(f"| {label} | {lu['top1']:.3f} | {lu['top5']:.3f} | {lu['mrr']:.3f} | "
              f"{gr['top1']:.3f} | {gr['top5']:.3f} | {gr['mrr']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
