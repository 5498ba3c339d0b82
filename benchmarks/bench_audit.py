"""Benchmark the store audit: images/s with and without a catalog, peak memory, and the time the
embedding model alone needs for the same images.

    .venv/bin/python benchmarks/bench_audit.py --n 1000 --workers 2
    .venv/bin/python benchmarks/bench_audit.py --n 100 --no-catalog        # quick look

Inputs: ``n`` photos from ../shared/data, a mix of luma studio shots (40%), clothing amateur
photos (35%) and grocery phone/catalog photos (25%). If a pool runs out, photos are reused with a
slight re-encode (JPEG quality 90 - k) so every input has its own content hash (the audit skips
repeated content, which would flatter the figures).

Figures printed (and written to ``--json``):

* audit wall time and images/s without and with the catalog (``--catalog``, default the
  shipped demo catalog), reports (CSV + PDF) timed separately;
* peak RSS of the whole process tree (parent + workers, sampled every 0.25 s with psutil) and
  the RSS in each quarter of the run, to show whether memory stays flat as the audit proceeds;
* the embedding model alone: ``get_embedder("builtin").embed`` on the same listing images,
  batched (32), in this process with ``--workers`` torch threads; with a catalog, also the
  embedding of what the search simulation embeds per listing (listing + what-if variants +
  ``n_queries`` simulated shopper photos), measured on a sample and scaled to ``n``;
* the ratio audit time / embedding-alone time (the aim is <= 1.2).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import shutil
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


def pools() -> dict[str, list[Path]]:
    luma = SHARED / "luma"
    with open(luma / "MANIFEST_products.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    luma_imgs = [luma / im for r in rows for im in r["images"].split("|")]
    clothing = sorted((SHARED / "clothing" / "images").glob("*.jpg"))
    g = SHARED / "grocery" / "dataset"
    grocery = sorted((g / "iconic-images-and-descriptions").rglob("*.jpg"))
    grocery += sorted((g / "train").rglob("*.jpg"))
    return {"luma": luma_imgs, "clothing": clothing, "grocery": grocery}


def make_inputs(n: int, dest: Path, seed: int = 0) -> list[Path]:
    """``n`` photos copied to ``dest`` (re-encoded when a pool has to be reused)."""
    from PIL import Image

    rng = random.Random(seed)
    mix = {"luma": 0.40, "clothing": 0.35, "grocery": 0.25}
    p = pools()
    dest.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for name, share in mix.items():
        k = round(n * share) if name != "grocery" else n - len(out)
        pool = list(p[name])
        rng.shuffle(pool)
        for i in range(k):
            src = pool[i % len(pool)]
            reuse = i // len(pool)
            target = dest / f"{name}-{i:05d}{src.suffix.lower()}"
            if reuse == 0:
                shutil.copy(src, target)
            else:
                im = Image.open(src).convert("RGB")
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=max(50, 90 - reuse))
                target = target.with_suffix(".jpg")
                target.write_bytes(buf.getvalue())
            out.append(target)
    return out


class RssSampler:
    """Peak and timeline of the RSS of this process and all its children."""

    def __init__(self, every: float = 0.25) -> None:
        import psutil

        self.proc = psutil.Process()
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            with contextlib.suppress(Exception):
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        t0 = time.perf_counter()
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - t0, self._rss()))
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()

    @property
    def peak_mb(self) -> float:
        return max((s for _, s in self.samples), default=0) / 1e6

    def quarters_mb(self) -> list[float]:
        if not self.samples:
            return []
        end = self.samples[-1][0] or 1.0
        q = [0, 0, 0, 0]
        for t, s in self.samples:
            i = min(3, int(4 * t / end))
            q[i] = max(q[i], s)
        return [round(x / 1e6, 1) for x in q]


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (contention-proof:
    on a shared machine wall time mostly measures the neighbours)."""
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def run_one(src: Path, out: Path, workers: int, catalog: str | None) -> dict:
    from analyzer.audit.runner import run_audit, write_reports

    shutil.rmtree(out, ignore_errors=True)
    with RssSampler() as mem:
        t0 = time.perf_counter()
        c0 = cpu_seconds()
        s = run_audit(src, out, workers=workers, catalog=catalog, progress=True, reports=False)
        t_audit = time.perf_counter() - t0
        cpu_audit = cpu_seconds() - c0
        t0 = time.perf_counter()
        write_reports(s, catalog=catalog, store_name="benchmark")
        t_reports = time.perf_counter() - t0
    return {"images": s.total, "failed": s.failed, "audit_s": round(t_audit, 1),
            "images_per_s": round(s.total / t_audit, 3), "reports_s": round(t_reports, 1),
            "audit_cpu_s": round(cpu_audit, 1),
            "cpu_s_per_image": round(cpu_audit / max(s.total, 1), 3),
            "peak_rss_mb": round(mem.peak_mb, 1), "rss_by_quarter_mb": mem.quarters_mb()}


def embed_alone(paths: list[Path], threads: int) -> dict:
    """The builtin embedder on the same listing images (loaded at working size), batched."""
    import torch

    from analyzer.embed import get_embedder
    from analyzer.io.loader import load_image

    torch.set_num_threads(threads)
    emb = get_embedder("builtin", device="cpu")
    t_load = 0.0
    t_emb = 0.0
    cpu_emb = 0.0
    batch: list = []
    for i, p in enumerate(paths):
        t0 = time.perf_counter()
        with contextlib.suppress(Exception):
            batch.append(load_image(p).rgb)
        t_load += time.perf_counter() - t0
        if len(batch) == 32 or (i == len(paths) - 1 and batch):
            t0 = time.perf_counter()
            c0 = cpu_seconds()
            emb.embed(batch, None, batch_size=32)
            t_emb += time.perf_counter() - t0
            cpu_emb += cpu_seconds() - c0
            batch = []
    return {"embed_s": round(t_emb, 1), "decode_s": round(t_load, 1),
            "embed_cpu_s": round(cpu_emb, 1),
            "cpu_s_per_image": round(cpu_emb / max(len(paths), 1), 3)}


def embed_search_queries(paths: list[Path], catalog: str, threads: int, sample: int) -> dict:
    """What the search simulation embeds per listing, on a sample, scaled to len(paths)."""
    import torch

    from analyzer.io.loader import load_image
    from analyzer.search.integration import SearchContext
    from analyzer.search.shopper_sim import simulate_shopper_photos
    from analyzer.search.what_if import apply_fixes, plan_fixes
    from analyzer.vision.mask import product_mask

    torch.set_num_threads(threads)
    ctx = SearchContext.open(catalog, device="cpu")
    cfg = ctx.cfg
    rng = random.Random(1)
    chosen = rng.sample(paths, min(sample, len(paths)))
    t_emb = 0.0
    cpu_emb = 0.0
    n_imgs = 0
    for p in chosen:
        try:
            rgb = load_image(p).rgb
        except Exception:
            continue
        mask = product_mask(rgb).prob
        photos = simulate_shopper_photos(rgb, mask, cfg.n_queries, seed=0,
                                         backgrounds=ctx.backgrounds, cfg=cfg.sim)
        fixes = plan_fixes(rgb, mask, set(), cfg)
        imgs, masks = [rgb], [mask]
        if fixes:
            v = apply_fixes(rgb, mask, fixes, cfg.what_if_fill)
            imgs.append(v[0])
            masks.append(v[1])
            if len(fixes) > 1:
                for f in fixes:
                    v = apply_fixes(rgb, mask, [f], cfg.what_if_fill)
                    imgs.append(v[0])
                    masks.append(v[1])
        imgs += [ph.rgb for ph in photos]
        masks += [ph.mask for ph in photos]
        t0 = time.perf_counter()
        c0 = cpu_seconds()
        ctx.embedder.embed(imgs, masks)
        t_emb += time.perf_counter() - t0
        cpu_emb += cpu_seconds() - c0
        n_imgs += len(imgs)
    scale = len(paths) / max(len(chosen), 1)
    return {"sample": len(chosen), "images_per_listing": round(n_imgs / max(len(chosen), 1), 1),
            "embed_s_scaled": round(t_emb * scale, 1),
            "embed_cpu_s_scaled": round(cpu_emb * scale, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--catalog", default=None, help="default: assets/demo_catalog")
    ap.add_argument("--no-catalog", action="store_true", help="skip the catalog run")
    ap.add_argument("--catalog-only", action="store_true", help="only the catalog run")
    ap.add_argument("--catalog-n", type=int, default=None,
                    help="images for the catalog run (default: --n)")
    ap.add_argument("--query-sample", type=int, default=20)
    ap.add_argument("--work", default="/tmp/listing-lens-bench-audit")
    ap.add_argument("--json", default=None, help="write the figures here")
    args = ap.parse_args()

    if not (SHARED / "luma").is_dir():
        print("../shared/data is missing", file=sys.stderr)
        return 1
    work = Path(args.work)
    src = work / f"src-{args.n}"
    if not src.is_dir() or len(list(src.iterdir())) != args.n:
        shutil.rmtree(src, ignore_errors=True)
        make_inputs(args.n, src)
    paths = sorted(src.iterdir())
    import psutil

    fig: dict = {"n": args.n, "workers": args.workers, "cpus": os.cpu_count(),
                 "load_avg_start": [round(x, 1) for x in os.getloadavg()],
                 "ram_gb": round(psutil.virtual_memory().total / 1e9, 1)}

    if not args.catalog_only:
        print(f"audit of {args.n} photos, no catalog, {args.workers} workers", file=sys.stderr)
        fig["no_catalog"] = run_one(src, work / "out-plain", args.workers, None)
        print(json.dumps(fig["no_catalog"]), file=sys.stderr)

        print("embedding model alone on the same images", file=sys.stderr)
        fig["embed_alone"] = embed_alone(paths, args.workers)
        fig["ratio_audit_to_embed"] = round(fig["no_catalog"]["audit_s"]
                                            / max(fig["embed_alone"]["embed_s"], 1e-9), 2)
        fig["cpu_ratio_audit_to_embed"] = round(fig["no_catalog"]["audit_cpu_s"]
                                                / max(fig["embed_alone"]["embed_cpu_s"], 1e-9), 2)

    if not args.no_catalog:
        from analyzer.search.catalog import DEMO_CATALOG

        catalog = args.catalog or str(DEMO_CATALOG)
        cn = args.catalog_n or args.n
        csrc = src
        if cn != args.n:
            csrc = work / f"src-cat-{cn}"
            shutil.rmtree(csrc, ignore_errors=True)
            csrc.mkdir(parents=True)
            for p in paths[:: max(1, len(paths) // cn)][:cn]:
                shutil.copy(p, csrc / p.name)
        cpaths = sorted(csrc.iterdir())
        # The per-catalog rank baseline is computed once per catalog and cached on disk; warm
        # it first (in a child process, so it does not count in this process's memory).
        import subprocess

        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c",
                        "import sys; from analyzer.search.integration import SearchContext; "
                        "SearchContext.open(sys.argv[1]).warm()", catalog], check=True, cwd=REPO)
        fig["catalog_warm_s"] = round(time.perf_counter() - t0, 1)
        print(f"audit of {len(cpaths)} photos with catalog {catalog}", file=sys.stderr)
        fig["catalog"] = {"path": catalog,
                          **run_one(csrc, work / "out-catalog", args.workers, catalog)}
        print(json.dumps(fig["catalog"]), file=sys.stderr)
        fig["catalog"]["embed_alone_listing_images"] = embed_alone(cpaths, args.workers)
        fig["catalog"]["embed_search_queries"] = embed_search_queries(
            cpaths, catalog, args.workers, args.query_sample)
        q = fig["catalog"]["embed_search_queries"]["embed_s_scaled"]
        fig["catalog"]["ratio_audit_to_embed_queries"] = round(
            fig["catalog"]["audit_s"] / max(q, 1e-9), 2)
        fig["catalog"]["cpu_ratio_audit_to_embed_queries"] = round(
            fig["catalog"]["audit_cpu_s"]
            / max(fig["catalog"]["embed_search_queries"]["embed_cpu_s_scaled"], 1e-9), 2)
    fig["load_avg_end"] = [round(x, 1) for x in os.getloadavg()]
    text = json.dumps(fig, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
