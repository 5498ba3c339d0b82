"""Latency of the rank simulation: ``SearchContext.enrich`` on the demo catalog, models warm.

Prints, for a few luma images (wall-clock and process CPU seconds; the CPU figure is steadier on a
shared machine, and the load average is printed beside it): the whole enrich() and its parts
(product mask, shopper-photo simulation and what-if images, one embedding batch, ranking +
differentiation), plus the exact-rank step alone (one (q x N) matrix product and the per-product
max) timed over many repetitions, and the one-off cost of the per-catalog baseline when it is not
cached yet. ``--batch-sizes 4,8,32`` repeats the enrich() timing for each embedding batch size.

Usage::

    .venv/bin/python benchmarks/bench_rank.py [--catalog assets/demo_catalog] [--images 5]
                                              [--repeat 2] [--batch-sizes 8]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _images(n: int) -> list[Path]:
    luma = REPO.parent / "shared" / "data" / "luma"
    if luma.is_dir():
        with open(luma / "MANIFEST_products.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        # every 37th product: a spread of categories; these are in the demo catalog, which is
        # fine for timing (the duplicate check runs either way)
        return [luma / r["images"].split("|")[0] for r in rows[::37][:n]]
    from analyzer.search.catalog import DEMO_CATALOG

    return sorted((DEMO_CATALOG / "images").rglob("*.jpg"))[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default=None)
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--batch-sizes", default="",
                    help="comma-separated embedding batch sizes to compare (default: the "
                         "configured search.embed_batch_size)")
    args = ap.parse_args()

    import numpy as np

    from analyzer.engine import analyze
    from analyzer.search.catalog import DEMO_CATALOG
    from analyzer.search.integration import SearchContext
    from analyzer.search.rank import virtual_ranks

    root = Path(args.catalog) if args.catalog else DEMO_CATALOG
    t0 = time.perf_counter()
    ctx = SearchContext.open(root, device="cpu")
    print(f"catalog {root}: {len(ctx.catalog)} images, {ctx.n_products} products, "
          f"dim {ctx.E.shape[1]}; open + embedder load {time.perf_counter() - t0:.2f} s")
    cached = any((d / ctx._baseline_cache_name()).is_file()
                 for d in (root / "cache", Path.home() / ".cache" / "listing-lens"))
    t0, c0 = time.perf_counter(), time.process_time()
    ctx.warm()
    print(f"per-catalog baselines ({'from cache' if cached else 'computed now'}): "
          f"{time.perf_counter() - t0:.2f} s wall, {time.process_time() - c0:.2f} s CPU")
    cfg = ctx.cfg
    print(f"config: {cfg.n_queries} shopper photos + up to {cfg.n_peer_queries} peer queries, "
          f"k={list(cfg.k)}, torch threads={os.environ.get('LISTING_LENS_TORCH_THREADS', '2')}")

    reports = [analyze(p, keep_image=True) for p in _images(args.images)]
    reports = [r for r in reports if r.ok]
    ctx.enrich(reports[0])  # warm-up: first batch through the backbone
    sizes = [int(x) for x in args.batch_sizes.split(",") if x.strip()] or [cfg.embed_batch_size]
    stages = ("mask", "simulation", "embedding", "ranking")
    for bs in sizes:
        ctx.cfg = replace(cfg, embed_batch_size=bs)
        rows = []
        load0 = os.getloadavg()[0]
        for rep in reports:
            for _ in range(args.repeat):
                rep.flags = [f for f in rep.flags if f.check not in ("search", "differentiation")]
                t0, c0 = time.perf_counter(), time.process_time()
                res = ctx.enrich(rep)
                wi = res.search["what_if"]
                rows.append({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                             **res.timings,
                             **{f"cpu_{k}": v for k, v in res.cpu_timings.items()},
                             "n_embedded": 1 + cfg.n_queries + (
                                 0 if not wi else 1 + (len(wi["fixes"]) > 1) * len(wi["fixes"]))})

        def med(key: str, rows: list = rows) -> float:
            return statistics.median(r.get(key, float("nan")) for r in rows)

        print(f"\nenrich() over {len(reports)} images x {args.repeat} (median), embedding batch "
              f"size {bs}, load average {load0:.1f} -> {os.getloadavg()[0]:.1f}:")
        print(f"  total        {med('wall'):7.3f} s wall   {med('cpu'):7.3f} s CPU")
        for k in stages:
            print(f"  {k:<12} {med(k):7.3f} s wall   {med('cpu_' + k):7.3f} s CPU")
        print(f"  images embedded per call: "
              f"{statistics.median(r['n_embedded'] for r in rows):.0f}")
    ctx.cfg = cfg

    # Exact ranks alone: queries x catalog product, per-product max, count.
    rng = np.random.default_rng(0)
    q = rng.normal(size=(cfg.n_queries + cfg.n_peer_queries, ctx.E.shape[1])).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    listing = ctx.E[0]
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        virtual_ranks(q @ ctx.E.T, q @ listing, ctx.groups)
    dt = (time.perf_counter() - t0) / n
    print(f"\nexact ranks of {len(q)} queries against {len(ctx.catalog)} images "
          f"({ctx.n_products} products): {dt * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
