"""Search speed, memory and ANN recall: the demo catalog and a synthetic 1,000,000-item catalog.

Part 1, demo catalog (assets/demo_catalog): catalog build throughput (images/s, on a copy of
``--build-n`` of its images), query latency (embed a photo + product-level search) and
search-only latency.

Part 2, synthetic catalog of ``--n`` vectors with the built-in embedding's dimension, drawn around
the real demo-catalog embeddings: each row is a mix of two real embeddings (weight U(0, 0.35) on
the second) plus Gaussian noise, re-normalised, so the set has the clustered, anisotropic shape of
real product embeddings rather than that of uniform noise. Written in chunks to a float16 .npy
under /tmp (memory-mapped; never all in RAM). Measured: exact top-10 latency (blocked matrix
products over the float16 shards), exact-rank time (the rank of one target among all rows: one
matrix-vector product), the IVF-SQ8 index's build time, size, top-10 latency and recall@10
against exact search for several ``nprobe``, peak RSS of this process, and the exact-vs-ANN
crossover on subsets.

    .venv/bin/python benchmarks/bench_search.py                 # everything (~15 min on 2 cores)
    .venv/bin/python benchmarks/bench_search.py --skip-synthetic
    .venv/bin/python benchmarks/bench_search.py --n 200000 --skip-demo
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    cur = peak = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            cur = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cur, peak


def timed(fn, repeat: int = 1):  # type: ignore[no-untyped-def]
    """(result of the last call, list of per-call seconds)."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, times


def ms(ts: list[float]) -> str:
    a = np.asarray(ts) * 1000
    return f"median {np.median(a):.1f} ms, p90 {np.percentile(a, 90):.1f} ms"


# ---------------------------------------------------------------- part 1


def bench_demo(build_n: int, n_queries: int) -> dict:
    from analyzer.io.loader import load_image
    from analyzer.search.catalog import DEMO_CATALOG, Catalog, SourceItem, build_catalog

    cat = Catalog.open(DEMO_CATALOG)
    emb = cat.embedder()
    out: dict = {"demo_items": len(cat), "embedder": cat.embedder_id}
    rng = np.random.default_rng(0)
    pick = rng.choice(len(cat), size=min(build_n, len(cat)), replace=False)
    items = [SourceItem(path=cat.image_path(i), product_id=str(cat.meta.iloc[i]["product_id"]))
             for i in pick]
    tmp = Path(tempfile.mkdtemp(prefix="ll_bench_"))
    try:
        emb.embed([load_image(items[0].path).rgb])   # warm-up (model load, first-call costs)
        res, t = timed(lambda: build_catalog(None, tmp / "c", items=items, progress=False,
                                             embedder=cat.manifest.get("embedder_spec",
                                                                        "builtin")))
        out["build_images_per_s"] = res.items / t[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    qpick = rng.choice(len(cat), size=min(n_queries, len(cat)), replace=False)
    paths = [cat.image_path(i) for i in qpick]
    t_full = []
    t_search = []
    for p in paths:
        t0 = time.perf_counter()
        v = emb.embed([load_image(p).rgb])
        t1 = time.perf_counter()
        cat.search_products(v, 10)
        t2 = time.perf_counter()
        t_full.append(t2 - t0)
        t_search.append(t2 - t1)
    out["query_latency"] = ms(t_full)
    out["search_only_latency"] = ms(t_search)
    return out


# ---------------------------------------------------------------- part 2


def synthetic(base: np.ndarray, n: int, path: Path, seed: int, chunk: int = 50_000) -> np.ndarray:
    """``n`` synthetic unit vectors around ``base`` rows, as a float16 .npy memory map."""
    rng = np.random.default_rng(seed)
    d = base.shape[1]
    # Noise of norm ~0.35: nearest real neighbours then sit at cosine ~0.9, as near-duplicate
    # product photos do, while rows drawn around different bases stay apart.
    sigma = 0.35 / np.sqrt(d)
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, d))
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        i = rng.integers(0, len(base), m)
        j = rng.integers(0, len(base), m)
        w = rng.uniform(0, 0.35, (m, 1)).astype(np.float32)
        x = (1 - w) * base[i] + w * base[j] + sigma * rng.standard_normal((m, d), np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        arr[s:s + m] = x.astype(np.float16)
    arr.flush()
    del arr
    return np.load(path, mmap_mode="r")


def recall_at(ann: np.ndarray, exact: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(a[:k]) & set(e[:k])) / k
                          for a, e in zip(ann, exact, strict=True)]))


def bench_synthetic(n: int, n_queries: int, workdir: Path, crossover: bool) -> dict:
    import faiss

    from analyzer.search.catalog import DEMO_CATALOG, Catalog
    from analyzer.search.index import ExactIndex, IVFIndex

    faiss.omp_set_num_threads(2)
    base = Catalog.open(DEMO_CATALOG).embeddings
    out: dict = {"n": n, "dim": int(base.shape[1])}
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    x = synthetic(base, n, workdir / "synthetic.npy", seed=1)
    out["generate_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps({"stage": "generated", **out}), flush=True)
    q = np.asarray(synthetic(base, n_queries, workdir / "queries.npy", seed=2), np.float32)
    out["rss_after_generate_mb"] = rss_mb()

    exact = ExactIndex([x])
    (_, exact_ids), t = timed(lambda: exact.search(q, 10))
    out["exact_top10_ms_per_query"] = round(t[0] / len(q) * 1000, 1)
    # Exact rank of one target: one matrix-vector product over all rows, in blocks.
    target = 12345 % n

    def exact_rank() -> int:
        from analyzer.search.index import iter_blocks

        ts = float(x[target].astype(np.float32) @ q[0])
        better = 0
        for _, block in iter_blocks([x]):
            better += int((block @ q[0] > ts).sum())
        return better + 1

    _, t = timed(exact_rank, repeat=3)
    out["exact_rank_ms"] = round(float(np.median(t)) * 1000, 1)
    print(json.dumps({"stage": "exact", **out}), flush=True)

    t0 = time.perf_counter()
    ivf = IVFIndex.build([x])
    out["ivf_build_s"] = round(time.perf_counter() - t0, 1)
    out["ivf_nlist"] = int(ivf.ivf.nlist)
    ivf.save(workdir / "index")
    out["ivf_index_mb"] = round((workdir / "index" / IVFIndex.FILE).stat().st_size / 2**20, 1)
    out["rss_after_ivf_mb"] = rss_mb()
    print(json.dumps({"stage": "ivf", **out}), flush=True)
    sweep = {}
    for nprobe in (8, 16, 32):
        for rerank in (16, 40, 64):
            ivf.nprobe, ivf.rerank = nprobe, rerank
            per_q = []
            ann = []
            for i in range(len(q)):
                t1 = time.perf_counter()
                _, ids = ivf.search(q[i:i + 1], 10)
                per_q.append(time.perf_counter() - t1)
                ann.append(ids[0])
            sweep[f"nprobe={nprobe},rerank={rerank}"] = {
                "recall@10": round(recall_at(np.asarray(ann), exact_ids), 4),
                "latency": ms(per_q)}
            print(json.dumps({f"nprobe={nprobe},rerank={rerank}": sweep[
                f"nprobe={nprobe},rerank={rerank}"]}), flush=True)
    out["ivf_sweep"] = sweep
    if crossover:
        cross = {}
        for m in (5_000, 20_000, 50_000, 100_000):
            if m > n:
                break
            sub = [x[:m]]
            ex = ExactIndex(sub)
            _, t_ex = timed(lambda ex=ex: [ex.search(q[i:i + 1], 10) for i in range(20)])
            iv = IVFIndex.build(sub)
            _, t_iv = timed(lambda iv=iv: [iv.search(q[i:i + 1], 10) for i in range(20)])
            cross[m] = {"exact_ms": round(t_ex[0] / 20 * 1000, 2),
                        "ivf_ms": round(t_iv[0] / 20 * 1000, 2)}
        out["crossover"] = cross
    out["peak_rss_mb"] = rss_mb()[1]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--build-n", type=int, default=48)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/ll_bench_search"))
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--no-crossover", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the synthetic files")
    args = ap.parse_args()
    results: dict = {}
    if not args.skip_demo:
        results["demo"] = bench_demo(args.build_n, args.queries)
        print(json.dumps(results["demo"], indent=2), flush=True)
    if not args.skip_synthetic:
        try:
            results["synthetic"] = bench_synthetic(args.n, args.queries, args.workdir,
                                                   not args.no_crossover)
        finally:
            if not args.keep:
                shutil.rmtree(args.workdir, ignore_errors=True)
        print(json.dumps(results["synthetic"], indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
