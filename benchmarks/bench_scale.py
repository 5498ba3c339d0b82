"""Scale benchmarks (printed figures, not tests).

``--index``: the on-disk IVF-PQ index (FAISS vs LanceDB) at 1M / 5M vectors drawn around real
catalog embeddings. Vectors are mixtures of three real embeddings of the demo catalog (Dirichlet
weights 4:1:1, i.e. mostly one product with traits of two others) plus isotropic Gaussian noise
of norm ``--noise``, L2-normalised; they are written as float16 ``.npy`` shards of 250k rows, so
neither the generator nor the index ever holds N x D float32 in memory. Queries are 1,000 fresh
draws from the same process. Reported: build time, disk size, resident memory of a fresh query
process (RSS after the queries, and its peak), single-query top-10 latency p50/p95 and recall@10
against exact search.

``--build``: catalog build throughput, local engine vs Ray engine (1 and 2 workers), on the same
real images (luma + grocery + clothing).

    python benchmarks/bench_scale.py --index --sizes 1000000 --engines faiss,lance
    python benchmarks/bench_scale.py --index --sizes 5000000 --engines faiss
    python benchmarks/bench_scale.py --build --images 2000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARD_ROWS = 250_000


def machine() -> str:
    import psutil

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, load avg "
            f"{os.getloadavg()[0]:.1f}")


def base_embeddings() -> np.ndarray:
    from analyzer.search.catalog import Catalog

    cat = Catalog.open(REPO / "assets" / "demo_catalog")
    return np.concatenate([np.asarray(s, dtype=np.float32) for s in cat.shards])


def draw(base: np.ndarray, n: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """n vectors around the real ones: Dirichlet(4,1,1) mixtures of 3 + Gaussian noise."""
    idx = rng.integers(0, len(base), size=(n, 3))
    w = rng.dirichlet([4.0, 1.0, 1.0], size=n).astype(np.float32)
    # w0 b0 + w1 b1 + w2 b2 (the same numbers as einsum("nk,nkd->nd"), 3x faster here)
    x = w[:, 0:1] * base[idx[:, 0]]
    x += w[:, 1:2] * base[idx[:, 1]]
    x += w[:, 2:3] * base[idx[:, 2]]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    g = rng.standard_normal(x.shape, dtype=np.float32)
    x += noise * g / np.sqrt(x.shape[1], dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def to_half(x: np.ndarray) -> np.ndarray:
    """float32 -> float16 (torch's vectorised cast; NumPy's is several times slower here)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return x.astype(np.float16)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).half().numpy()


def make_vectors(out: Path, n: int, noise: float, seed: int = 1) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    done = out / "DONE"
    shards = [out / f"part-{i:05d}.npy" for i in range((n + SHARD_ROWS - 1) // SHARD_ROWS)]
    if done.exists():
        return shards
    base = base_embeddings()
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for i, p in enumerate(shards):
        rows = min(SHARD_ROWS, n - i * SHARD_ROWS)
        arr = np.lib.format.open_memmap(p, mode="w+", dtype=np.float16,
                                        shape=(rows, base.shape[1]))
        for s in range(0, rows, 50_000):
            e = min(rows, s + 50_000)
            arr[s:e] = to_half(draw(base, e - s, rng, noise))
        arr.flush()
        del arr
        print(f"  generated {min(n, (i + 1) * SHARD_ROWS)}/{n} ({time.perf_counter() - t0:.0f}s)",
              flush=True)
    rng_q = np.random.default_rng(seed + 1000)
    np.save(out / "queries.npy", draw(base, 1000, rng_q, noise))
    done.write_text("ok")
    return shards


def ground_truth(folder: Path, k: int = 10) -> np.ndarray:
    gt_path = folder / f"gt{k}.npy"
    if gt_path.exists():
        return np.load(gt_path)
    from analyzer.search.index import ExactIndex

    q = np.load(folder / "queries.npy")
    shards = [np.load(p, mmap_mode="r") for p in sorted(folder.glob("part-*.npy"))]
    t0 = time.perf_counter()
    _, ids = ExactIndex(shards).search(q, k)
    print(f"  exact top-{k} for {len(q)} queries in {time.perf_counter() - t0:.0f}s", flush=True)
    np.save(gt_path, ids)
    return ids


def worker(args: argparse.Namespace) -> None:
    """Runs in a fresh process so that its memory figures are its own."""
    import psutil

    from analyzer.search.ondisk import ShardedVectors, build_index, dir_size, open_index

    folder = Path(args.vectors)
    vecs = ShardedVectors(sorted(folder.glob("part-*.npy")))
    root = Path(args.index_dir)
    out: dict = {}
    if args.worker == "build":
        sampler = AnonPeak()
        t0 = time.perf_counter()
        overrides = {k: v for k, v in (("nlist", args.nlist), ("train_size", args.train_size))
                     if v is not None}
        build_index(root, vecs, engine=args.engine, params=overrides or None,
                    log=lambda m: print("   ", m, flush=True) if "encoded" not in m
                    or m.split("/")[0].endswith("00000") else None)
        out["build_s"] = time.perf_counter() - t0
        out["disk_bytes"] = dir_size(root)
        # Kept beside the index so that a --reuse run can report it.
        meta = json.loads((root / "index.json").read_text())
        meta["bench_build_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        meta["bench_build_peak_anon_mb"] = out["peak_anon_mb"] = sampler.stop()
        (root / "index.json").write_text(json.dumps(meta, indent=2))
    else:
        import faiss
        import torch
        from threadpoolctl import threadpool_limits

        # Single queries: extra OpenMP threads only spin on a shared 2-core machine.
        faiss.omp_set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
        q = np.load(folder / "queries.npy")
        gt = np.load(folder / "gt10.npy")
        idx = open_index(root, vecs)
        rss0 = psutil.Process().memory_info().rss
        lat, cpu = [], []
        found = np.empty_like(gt)
        for i in range(len(q)):
            t, c = time.perf_counter(), time.process_time()
            _, ids = idx.search(q[i:i + 1], 10, nprobe=args.nprobe, rerank=args.rerank)
            lat.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)  # all threads; a busy machine inflates `lat`
            found[i] = ids[0]
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, gt,
                                                                           strict=True)]))
        out.update(p50_ms=1000 * float(np.percentile(lat, 50)),
                   p95_ms=1000 * float(np.percentile(lat, 95)), recall10=recall,
                   cpu_p50_ms=1000 * float(np.percentile(cpu, 50)),
                   cpu_p95_ms=1000 * float(np.percentile(cpu, 95)),
                   nprobe=idx.params.nprobe,
                   rerank=int(args.rerank or idx.params.candidates(idx.ntotal)),
                   spec=idx.meta.get("spec", ""),
                   rss_open_mb=rss0 / 2**20, anon_mb=anon_mb(), threads=args.threads,
                   rss_mb=psutil.Process().memory_info().rss / 2**20)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out), flush=True)


def anon_mb() -> float:
    """Anonymous resident memory (MB): what the process holds itself. RSS also counts the pages
    of the memory-mapped index and embedding files it touched, which are page cache (shared,
    dropped by the kernel under pressure); at 1,000 queries x 500 re-ranked rows that is most of
    the 2.6 GB of float16 vectors."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class AnonPeak:
    """Peak anonymous memory of this process, sampled every 0.2 s in a thread: the kernel keeps
    only the peak RSS, which also counts the touched pages of memory-mapped vector files."""

    def __init__(self) -> None:
        import threading

        self.peak = anon_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, anon_mb())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, anon_mb())


def run_worker(*argv: str) -> dict:
    cmd = [sys.executable, __file__, *argv]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    res = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
        else:
            print(line, flush=True)
    if res is None:
        raise RuntimeError(f"worker failed: {' '.join(argv)} (rc {proc.returncode})")
    return res


def reused_build(idx_dir: Path) -> dict:
    """Build figures of an index built by an earlier run (its index.json and build log)."""
    from analyzer.search.ondisk import dir_size

    meta = json.loads((idx_dir / "index.json").read_text())
    peak = meta.get("bench_build_peak_mb", float("nan"))
    print(f"   reusing {idx_dir} (built {meta.get('built')})", flush=True)
    return {"build_s": float(meta["build_seconds"]), "disk_bytes": dir_size(idx_dir),
            "peak_rss_mb": peak,
            "peak_anon_mb": meta.get("bench_build_peak_anon_mb", float("nan"))}


def bench_index(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        folder = Path(args.workdir) / f"vec_{n}"
        print(f"== {n:,} vectors -> {folder}", flush=True)
        make_vectors(folder, n, args.noise)
        ground_truth(folder)
        for eng in args.engines.split(","):
            idx_dir = Path(args.workdir) / f"idx_{eng}_{n}"
            if args.reuse and (idx_dir / "index.json").is_file():
                b = reused_build(idx_dir)
            else:
                b_args = [a for k, v in (("--nlist", args.nlist),
                                         ("--train-size", args.train_size))
                          if v is not None for a in (k, str(v))]
                b = run_worker("--worker", "build", "--engine", eng, "--vectors", str(folder),
                               "--index-dir", str(idx_dir), *b_args)
            q_args = [a for k, v in (("--nprobe", args.nprobe), ("--rerank", args.rerank),
                                     ("--threads", args.threads))
                      if v is not None for a in (k, str(v))]
            s = run_worker("--worker", "query", "--engine", eng, "--vectors", str(folder),
                           "--index-dir", str(idx_dir), *q_args)
            row = {"n": n, "engine": eng, "build_s": b["build_s"], "build_peak_mb":
                   b["peak_rss_mb"], "build_anon_mb": b.get("peak_anon_mb", float("nan")),
                   "disk_mb": b["disk_bytes"] / 2**20, **s}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| vectors | engine | nprobe / re-rank | build (s) | index on disk (MB) | "
          "build peak RSS / anonymous (MB) | query RSS (MB) | of which anonymous (MB) | "
          "p50 (ms) | p95 (ms) | CPU p50 (ms) | recall@10 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['engine']} | {r['nprobe']} / {r['rerank']} | "
              f"{r['build_s']:.0f} | {r['disk_mb']:.0f} | {r['build_peak_mb']:.0f} / "
              f"{r['build_anon_mb']:.0f} | "
              f"{r['rss_mb']:.0f} | {r['anon_mb']:.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
              f"{r['cpu_p50_ms']:.1f} | {r['recall10']:.3f} |")
    print("(vectors themselves: float16 shards, not counted in 'index on disk')")


def real_images(n: int) -> list[Path]:
    data = REPO.parent / "shared" / "data"
    pools = [sorted((data / "luma").rglob("*.jpg")),
             sorted((data / "grocery" / "dataset").rglob("*.jpg")),
             sorted((data / "clothing" / "images").glob("*.jpg"))]
    out: list[Path] = []
    i = 0
    while len(out) < n and any(i < len(p) for p in pools):
        for p in pools:
            if i < len(p) and len(out) < n:
                out.append(p[i])
        i += 1
    return out


def bench_build(args: argparse.Namespace) -> None:
    import shutil
    import tempfile

    from analyzer.search.catalog import build_catalog

    print(f"machine: {machine()}")
    imgs = real_images(args.images)
    work = Path(tempfile.mkdtemp(prefix="ll-bench-build-"))
    src = work / "src"
    src.mkdir()
    for i, p in enumerate(imgs):
        os.symlink(p, src / f"{i:05d}{p.suffix.lower()}")
    print(f"{len(imgs)} real images (luma + grocery + clothing)")
    results = []
    t0 = time.perf_counter()
    r = build_catalog(src, work / "local", progress=False)
    dt = time.perf_counter() - t0
    results.append(("local", 1, r.items, dt))
    print(f"local: {r.items} items in {dt:.0f}s = {r.items / dt:.2f} img/s", flush=True)
    from analyzer.scale.ray_build import build_catalog_ray

    for workers in [int(w) for w in args.workers.split(",")]:
        t0 = time.perf_counter()
        r = build_catalog_ray(src, work / f"ray{workers}", workers=workers,
                              num_cpus=max(2, workers))
        dt = time.perf_counter() - t0
        results.append(("ray", workers, r.items, dt))
        print(f"ray x{workers}: {r.items} items in {dt:.0f}s = {r.items / dt:.2f} img/s",
              flush=True)
    base = results[0][2] / results[0][3]
    print("\n| engine | workers | images | seconds | images/s | vs local |")
    print("|---|---|---|---|---|---|")
    for eng, w, n, dt in results:
        print(f"| {eng} | {w} | {n} | {dt:.0f} | {n / dt:.2f} | {n / dt / base:.2f}x |")
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", action="store_true")
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--sizes", default="1000000,5000000")
    ap.add_argument("--engines", default="faiss,lance")
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--workdir", default="/tmp/ll_scale")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--reuse", action="store_true",
                    help="query an index already built in --workdir instead of rebuilding it")
    ap.add_argument("--worker", choices=("build", "query"))
    ap.add_argument("--engine", default="faiss")
    ap.add_argument("--vectors")
    ap.add_argument("--index-dir")
    ap.add_argument("--nlist", type=int, default=None,
                    help="build-time IVF cells (default: ~4 sqrt(n), see ondisk.default_params)")
    ap.add_argument("--train-size", type=int, default=None,
                    help="build-time training sample (default: 40 per cell, at least 50k)")
    ap.add_argument("--threads", type=int, default=1, help="query threads (FAISS, torch, BLAS)")
    ap.add_argument("--nprobe", type=int, default=None, help="query-time cells visited")
    ap.add_argument("--rerank", type=int, default=None, help="query-time exact re-rank depth")
    args = ap.parse_args()
    if args.worker:
        worker(args)
    elif args.index:
        bench_index(args)
    elif args.build:
        bench_build(args)
    else:
        ap.print_help()


if __name__ == "__main__":
    main()
