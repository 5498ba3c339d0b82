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


def anon_mb() -> float:
    """Anonymous resident memory (MB): what the process itself holds, without the pages of the
    memory-mapped embedding files (page cache the kernel can drop and share)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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
    from analyzer.search.catalog import DEMO_CATALOG, Catalog, build_catalog
    from analyzer.search.catalog_source import SourceItem

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


def bench_synthetic(n: int, n_queries: int, workdir: Path, crossover: bool,
                    vectors: Path | None = None, nlist: int | None = None,
                    nprobes: tuple[int, ...] = (8, 16, 32), reranks: tuple[int, ...] = (16, 40, 64),
                    threads: int = 2, load_ivf: Path | None = None) -> dict:
    import faiss
    import torch

    from analyzer.search.catalog import DEMO_CATALOG, Catalog
    from analyzer.search.index import ExactIndex, IVFIndex
    from analyzer.search.scoring import count_better

    faiss.omp_set_num_threads(threads)
    torch.set_num_threads(threads)
    out: dict = {"threads": threads}
    if vectors is not None:
        # Shards made by benchmarks/bench_scale.py (its own generator: Dirichlet mixtures of
        # three real embeddings plus noise), reused rather than generated again.
        xs = [np.load(p, mmap_mode="r") for p in sorted(vectors.glob("part-*.npy"))]
        q = np.asarray(np.load(vectors / "queries.npy")[:n_queries], np.float32)
        out.update(n=sum(len(a) for a in xs), dim=int(xs[0].shape[1]), vectors=str(vectors))
    else:
        base = Catalog.open(DEMO_CATALOG).embeddings
        out.update(n=n, dim=int(base.shape[1]))
        workdir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        xs = [synthetic(base, n, workdir / "synthetic.npy", seed=1)]
        out["generate_s"] = round(time.perf_counter() - t0, 1)
        q = np.asarray(synthetic(base, n_queries, workdir / "queries.npy", seed=2), np.float32)
    n = int(out["n"])
    print(json.dumps({"stage": "data", **out}), flush=True)
    out["rss_after_generate_mb"] = rss_mb()

    exact = ExactIndex(xs)
    (_, exact_ids), t = timed(lambda: exact.search(q, 10))
    out["exact_top10_ms_per_query_batched"] = round(t[0] / len(q) * 1000, 1)
    _, t = timed(lambda: exact.search(q[:1], 10), repeat=3)
    out["exact_top10_ms_single_query"] = round(float(np.median(t)) * 1000, 1)
    # Exact rank of one target: how many rows beat its similarity, one pass over all rows
    # (analyzer.search.scoring.count_better: float16 rows converted in small blocks).
    target = 12345 % len(xs[0])
    ts = np.array([float(np.asarray(xs[0][target], np.float32) @ q[0])])
    rank, t = timed(lambda: int(count_better(q[:1], xs, ts)[0]) + 1, repeat=3)
    out["exact_rank_ms"] = round(float(np.median(t)) * 1000, 1)
    out["exact_rank_of_target"] = rank
    _, t = timed(lambda: count_better(q[:32], xs, np.full(32, ts[0])))
    out["exact_rank_32_queries_ms"] = round(t[0] * 1000, 1)
    print(json.dumps({"stage": "exact", **out}), flush=True)

    t0 = time.perf_counter()
    anon0 = anon_mb()
    if load_ivf is not None and (load_ivf / IVFIndex.FILE).is_file():
        ivf = IVFIndex.load(load_ivf, xs)  # an index saved by an earlier run on these vectors
        out["ivf_loaded_from"] = str(load_ivf)
        index_dir = load_ivf
    else:
        ivf = IVFIndex.build(xs, nlist=nlist)
        out["ivf_build_s"] = round(time.perf_counter() - t0, 1)
        index_dir = workdir / "index"
        ivf.save(index_dir)
    out["ivf_nlist"] = int(ivf.ivf.nlist)
    out["ivf_index_mb"] = round((index_dir / IVFIndex.FILE).stat().st_size / 2**20, 1)
    out["rss_after_ivf_mb"] = rss_mb()
    out["ivf_anon_mb"] = round(anon_mb() - anon0, 1)
    print(json.dumps({"stage": "ivf", **out}), flush=True)
    sweep = {}
    for nprobe in nprobes:
        for rerank in reranks:
            ivf.nprobe, ivf.rerank = nprobe, rerank
            per_q, cpu = [], []
            ann = []
            for i in range(len(q)):
                t1, c1 = time.perf_counter(), time.process_time()
                _, ids = ivf.search(q[i:i + 1], 10)
                per_q.append(time.perf_counter() - t1)
                cpu.append(time.process_time() - c1)
                ann.append(ids[0])
            sweep[f"nprobe={nprobe},rerank={rerank}"] = {
                "recall@10": round(recall_at(np.asarray(ann), exact_ids), 4),
                "latency": ms(per_q), "cpu": ms(cpu)}
            print(json.dumps({f"nprobe={nprobe},rerank={rerank}": sweep[
                f"nprobe={nprobe},rerank={rerank}"]}), flush=True)
    out["ivf_sweep"] = sweep
    out["anon_after_queries_mb"] = round(anon_mb(), 1)
    if crossover:
        out["crossover"] = crossover_table(xs, q)
        wins = [m for m, c in out["crossover"].items()
                if c["ivf_cpu_ms"] < c["exact_cpu_ms"] and c["ivf_recall@10"] >= 0.95]
        out["ivf_faster_from"] = min(wins) if wins else None
    out["peak_rss_mb"] = rss_mb()[1]
    return out


def crossover_table(xs: list[np.ndarray], q: np.ndarray,
                    sizes: tuple[int, ...] = (2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
                    ) -> dict[int, dict[str, float]]:
    """Single-query top-10 latency of exact search vs the IVF index (default settings) on the
    first m rows, and the IVF's recall@10; the smallest m where the IVF index is faster at
    recall >= 0.95 is the evidence for ANN_MIN_ITEMS."""
    from analyzer.search.index import ExactIndex, IVFIndex

    cross: dict[int, dict[str, float]] = {}
    for m in sizes:
        if m > len(xs[0]):
            break
        sub = [xs[0][:m]]
        ex = ExactIndex(sub)
        iv = IVFIndex.build(sub)
        t_ex, t_iv, c_ex, c_iv, hits = [], [], [], [], []
        # Interleaved single queries, medians; CPU time too (process_time, one thread), which a
        # busy machine does not inflate the way it inflates wall time.
        for i in range(100):
            qi = q[i % len(q):i % len(q) + 1]
            c0 = time.process_time()
            (_, e_ids), te = timed(lambda ex=ex, qi=qi: ex.search(qi, 10))
            c1 = time.process_time()
            (_, a_ids), ta = timed(lambda iv=iv, qi=qi: iv.search(qi, 10))
            c2 = time.process_time()
            t_ex.append(te[0])
            t_iv.append(ta[0])
            c_ex.append(c1 - c0)
            c_iv.append(c2 - c1)
            hits.append(len(set(e_ids[0]) & set(a_ids[0])) / 10)
        cross[m] = {"exact_ms": round(float(np.median(t_ex[5:])) * 1000, 2),
                    "ivf_ms": round(float(np.median(t_iv[5:])) * 1000, 2),
                    "exact_cpu_ms": round(float(np.median(c_ex[5:])) * 1000, 2),
                    "ivf_cpu_ms": round(float(np.median(c_iv[5:])) * 1000, 2),
                    "ivf_recall@10": round(float(np.mean(hits)), 3)}
        print(json.dumps({"crossover": {m: cross[m]}}), flush=True)
    return cross


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
    ap.add_argument("--vectors", type=Path, default=None,
                    help="use the float16 shards of benchmarks/bench_scale.py in this folder "
                         "(part-*.npy + queries.npy) instead of generating")
    ap.add_argument("--nlist", type=int, default=None, help="IVF cells (default: the index's)")
    ap.add_argument("--nprobes", default="8,16,32")
    ap.add_argument("--reranks", default="16,40,64", help="re-rank depths, multiples of k")
    ap.add_argument("--threads", type=int, default=2, help="FAISS and torch threads")
    ap.add_argument("--load-ivf", type=Path, default=None,
                    help="load the IVF index saved in this folder instead of building it")
    ap.add_argument("--crossover-only", action="store_true",
                    help="only the exact-vs-IVF latency crossover (needs --vectors)")
    args = ap.parse_args()
    try:  # NumPy's BLAS too: its idle threads spin and would count as CPU time
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:  # pragma: no cover - comes with scikit-learn
        pass
    if args.crossover_only:
        if args.vectors is None:
            ap.error("--crossover-only needs --vectors")
        import faiss
        import torch

        faiss.omp_set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
        xs = [np.load(p, mmap_mode="r") for p in sorted(args.vectors.glob("part-*.npy"))]
        q = np.asarray(np.load(args.vectors / "queries.npy")[:args.queries], np.float32)
        print(json.dumps({"crossover": crossover_table(xs, q)}, indent=2), flush=True)
        return 0
    results: dict = {}
    if not args.skip_demo:
        results["demo"] = bench_demo(args.build_n, args.queries)
        print(json.dumps(results["demo"], indent=2), flush=True)
    if not args.skip_synthetic:
        try:
            results["synthetic"] = bench_synthetic(
                args.n, args.queries, args.workdir, not args.no_crossover, vectors=args.vectors,
                nlist=args.nlist, nprobes=tuple(int(v) for v in args.nprobes.split(",")),
                reranks=tuple(int(v) for v in args.reranks.split(",")), threads=args.threads,
                load_ivf=args.load_ivf)
        finally:
            if not args.keep and (args.vectors is None
                                  or args.workdir.resolve() not in args.vectors.resolve().parents):
                shutil.rmtree(args.workdir, ignore_errors=True)
        print(json.dumps(results["synthetic"], indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
