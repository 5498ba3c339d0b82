"""Catalog build on Ray Data: the local build's pipeline, spread over a cluster.

Pipeline (one Ray Data dataset, streamed)::

    items (path, product_id, title, category, chunk, pos)
      -> map(_decode)                    tasks: read, decode, check (analyzer.io.loader.load_image)
      -> map_batches(EmbedActor, ...)    stateful actors: one model load per worker, num_gpus
                                         when the worker has one; also thumbnail and pHash
      -> driver: rows grouped by chunk   each finished chunk is appended as catalog shards with
                                         the catalog store's own writer (write_shards)

The output is the local engine's format (analyzer/search/catalog.py): same manifest, Parquet
metadata, float16 embedding shards, thumbnails; everything downstream is unchanged. The items
come from the same reader (analyzer/search/catalog_source.py), and every write goes through the
store's public steps (new_manifest, thumbnail, phash, image_ref, write_shards, commit_manifest,
write_json_atomic), so the two builds cannot drift apart.

Exactly once: rows are keyed by (chunk, position); a chunk is written once, when all its rows
have arrived, and a retried task's duplicate rows are dropped by key. A killed worker's tasks
are retried by Ray (``max_restarts`` / ``max_task_retries`` / ``max_retries``), so nothing is
lost either. Resume: ``_ray_build.json`` (written atomically after every chunk) records the
chunks already written and the manifest so far; a restarted build skips them. The manifest is
written last, as in the local build, so a half-built catalog never opens as a complete one.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.errors import ErrorCode, ListingLensError

PROGRESS = "_ray_build.json"
DEFAULT_CHUNK = 256


@dataclass(frozen=True)
class RayBuildSettings:
    """How the Ray build embeds and reports (the keywords of :func:`build_catalog_ray`)."""

    embedder: str = "builtin"
    device: str = "auto"
    batch_size: int = 16
    workers: int | None = None          # embedding actors; None: the CPUs available
    num_gpus_per_worker: float | None = None  # None: 1 when the cluster has a GPU per actor
    dtype: str = "float16"
    progress: bool = True
    on_chunk: Callable[[int, int], None] | None = None  # (chunks done, chunks in all)
    max_chunks: int | None = None       # stop after this many chunks (resumable)


@dataclass
class _BuildJob:
    """One build's place and progress: the catalog folder, its manifest so far and the resume
    state (``_ray_build.json``), the chunks already written and each chunk's row count."""

    root: Path
    manifest: dict
    state: dict
    done: set[int]
    sizes: dict[int, int]
    n_chunks: int


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    """Ray map task: load and check one image; failures travel as an error code, not a crash."""
    from analyzer.io.loader import load_image

    row = dict(row)
    try:
        img = load_image(row["path"], name=row["path"])
        row.update(rgb=img.rgb, content_hash=img.content_hash, width=int(img.width),
                   height=int(img.height), error_code="", error_message="")
    except ListingLensError as e:
        row.update(rgb=np.zeros((1, 1, 3), np.uint8), content_hash="", width=0, height=0,
                   error_code=e.code.value, error_message=e.message)
    except Exception as e:  # one bad file must never stop the build
        row.update(rgb=np.zeros((1, 1, 3), np.uint8), content_hash="", width=0, height=0,
                   error_code=ErrorCode.INTERNAL_ERROR.value,
                   error_message=f"internal error while reading this image ({type(e).__name__})")
    return row


class EmbedActor:
    """Ray Data callable class: the embedder is loaded once per actor (worker process)."""

    def __init__(self, embedder: str = "builtin", device: str = "auto",
                 batch_size: int = 16) -> None:
        import torch

        from analyzer.embed import get_embedder

        torch.set_num_threads(1)  # one actor per CPU: no oversubscription
        self.emb = get_embedder(embedder, device)
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from analyzer.search.catalog import phash, thumbnail

        n = len(batch["path"])
        ok = np.array([not c for c in batch["error_code"]], dtype=bool)
        vecs = np.zeros((n, int(self.emb.dim)), np.float32)
        thumbs = np.empty(n, dtype=object)
        hashes = np.empty(n, dtype=object)
        thumbs[:] = b""
        hashes[:] = ""
        idx = np.flatnonzero(ok)
        if len(idx):
            rgbs = [np.asarray(batch["rgb"][i], dtype=np.uint8) for i in idx]
            vecs[idx] = self.emb.embed(rgbs, batch_size=self.batch_size)
            for i, rgb in zip(idx, rgbs, strict=True):
                buf = io.BytesIO()
                thumbnail(rgb, buf)  # PIL saves to a file object as well as to a path
                thumbs[i] = buf.getvalue()
                hashes[i] = phash(rgb)
        out = {k: v for k, v in batch.items() if k != "rgb"}
        out.update(vector=vecs, thumb_jpeg=thumbs, phash=hashes, pid=np.full(n, os.getpid()))
        return out


def _items_table(items: list[Any], chunk: int) -> list[dict[str, Any]]:
    return [{"path": str(it.path), "product_id": str(it.product_id), "title": str(it.title),
             "category": str(it.category), "chunk": i // chunk, "pos": i % chunk}
            for i, it in enumerate(items)]


def _load_progress(root: Path) -> dict[str, Any] | None:
    p = root / PROGRESS
    if not p.is_file():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


def build_catalog_ray(source: str | Path, out: str | Path, embedder: str = "builtin",
                      address: str | None = None, *, workers: int | None = None,
                      batch_size: int = 16, chunk: int = DEFAULT_CHUNK, device: str = "auto",
                      dtype: str = "float16", num_cpus: int | None = None,
                      num_gpus_per_worker: float | None = None, progress: bool = True,
                      on_chunk: Callable[[int, int], None] | None = None,
                      max_chunks: int | None = None) -> Any:
    """Build (or resume building) a catalog at ``out`` with Ray; returns the catalog's
    ``BuildResult``.

    ``address``: a running cluster (``ray start --head`` prints it; "auto" finds the local one);
    None starts a local Ray for this call unless one is already initialised. ``workers``: embedding
    actors (default: CPUs available). ``chunk``: images per resume unit. ``on_chunk(done, total)``
    is called after each chunk is written; ``max_chunks`` stops after that many chunks (for tests
    and for splitting a build over several sessions).
    """
    import ray

    from analyzer.embed import get_embedder
    from analyzer.search.catalog import MANIFEST, BuildResult, commit_manifest, new_manifest
    from analyzer.search.catalog_source import read_source

    settings = RayBuildSettings(embedder=embedder, device=device, batch_size=batch_size,
                                workers=workers, num_gpus_per_worker=num_gpus_per_worker,
                                dtype=dtype, progress=progress, on_chunk=on_chunk,
                                max_chunks=max_chunks)

    root = Path(out).expanduser()
    if (root / MANIFEST).exists() and not (root / PROGRESS).exists():
        raise ListingLensError(ErrorCode.CATALOG_MISMATCH,
                               f"{root} already holds a finished catalog; use `listing-lens "
                               "catalog add` to add images")
    items = read_source(source)
    if not items:
        raise ListingLensError(ErrorCode.FILE_NOT_FOUND, f"no images found in {source}")
    emb_id, dim = _embedder_identity(get_embedder, embedder)
    state = _load_progress(root)
    if state is not None and (state["source_count"] != len(items) or state["chunk"] != chunk
                              or state["manifest"]["embedder_id"] != emb_id):
        raise ListingLensError(ErrorCode.CATALOG_MISMATCH,
                               f"{root} holds an unfinished build of a different source or "
                               "embedder; delete the folder to start over")
    if state is None:
        state = {"source_count": len(items), "chunk": chunk, "done": [], "skipped": [],
                 "manifest": new_manifest(emb_id, embedder, dim, dtype)}
    root.mkdir(parents=True, exist_ok=True)
    (root / "thumbs").mkdir(exist_ok=True)
    n_chunks = (len(items) + chunk - 1) // chunk
    job = _BuildJob(root=root, manifest=state["manifest"], state=state, done=set(state["done"]),
                    sizes={c: min(chunk, len(items) - c * chunk) for c in range(n_chunks)},
                    n_chunks=n_chunks)
    manifest = job.manifest
    rows = [r for r in _items_table(items, chunk) if r["chunk"] not in job.done]

    started_here = False
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address=address, num_cpus=num_cpus if address is None else None,
                 include_dashboard=False, ignore_reinit_error=True, log_to_driver=False,
                 object_store_memory=512 * 1024**2 if address is None else None)
        started_here = True
    try:
        if rows:
            _run(ray, rows, job, settings)
    finally:
        if started_here:
            ray.shutdown()
    if len(job.done) < n_chunks:  # stopped early (max_chunks): resumable
        return BuildResult(catalog=root, items=int(manifest["count"]),
                           skipped=list(state["skipped"]))
    commit_manifest(root, manifest, progress)
    (root / PROGRESS).unlink(missing_ok=True)
    return BuildResult(catalog=root, items=int(manifest["count"]), skipped=list(state["skipped"]))


def _embedder_identity(get_embedder: Callable[..., Any], spec: str) -> tuple[str, int]:
    """Embedder id and dim, read on the driver (cheap: the model weights load lazily or once)."""
    emb = get_embedder(spec, "cpu")
    return str(emb.id), int(emb.dim)


def _run(ray: Any, rows: list[dict], job: _BuildJob, settings: RayBuildSettings) -> None:
    """Stream ``rows`` through decode and embed, writing each chunk as soon as it is whole."""
    batch_size = settings.batch_size
    workers = settings.workers
    num_gpus_per_worker = settings.num_gpus_per_worker
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = settings.progress
    ctx.preserve_order = False
    total_cpus = float(ray.cluster_resources().get("CPU", 1))
    if workers is None:
        workers = max(1, int(total_cpus))
    # The decode tasks need 0.5 CPU beside the actors: with one actor per CPU, Ray would give
    # every CPU to the actors and never schedule a decode task (the build stalls at 0 rows).
    actor_cpus = 1.0 if workers + 0.5 <= total_cpus else max(0.1, (total_cpus - 0.5) / workers)
    if num_gpus_per_worker is None:
        num_gpus_per_worker = 1.0 if ray.cluster_resources().get("GPU", 0) >= workers else 0.0
    ds = ray.data.from_items(rows, override_num_blocks=max(1, len(rows) // batch_size))
    # Retries are Ray Data's defaults (passing them as extra arguments is deprecated in Ray
    # 2.60): a task is retried without limit (max_retries=-1), and a killed actor is restarted
    # and its in-flight batches re-run (max_restarts=-1, max_task_retries=-1); exactly once is
    # then enforced by the (chunk, pos) keys below. tests/test_ray_build.py kills a worker.
    ds = ds.map(_decode, num_cpus=0.5)
    ds = ds.map_batches(
        EmbedActor, fn_constructor_kwargs={"embedder": settings.embedder, "device":
                                           "cuda" if num_gpus_per_worker else settings.device,
                                           "batch_size": batch_size},
        batch_size=batch_size, batch_format="numpy", num_cpus=actor_cpus,
        # A fixed pool (``concurrency=`` is deprecated since Ray 2.51 and warned on every build).
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_gpus=num_gpus_per_worker or None)
    pending: dict[int, dict[int, dict]] = {}
    written = 0
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for i in range(len(batch["path"])):
            c, pos = int(batch["chunk"][i]), int(batch["pos"][i])
            if c in job.done:
                continue  # a retried task re-delivered rows of a chunk already written
            pending.setdefault(c, {})[pos] = {k: batch[k][i] for k in batch}
            if len(pending[c]) == job.sizes[c]:
                _write_chunk(job, c, pending.pop(c), settings.dtype)
                job.done.add(c)
                written += 1
                if settings.on_chunk:
                    settings.on_chunk(len(job.done), job.n_chunks)
                if settings.max_chunks is not None and written >= settings.max_chunks:
                    return
    if pending:
        raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                               f"Ray returned incomplete chunks {sorted(pending)}; run the build "
                               "again to resume")


def _write_chunk(job: _BuildJob, c: int, got: dict[int, dict], dtype: str) -> None:
    """Append one finished chunk (rows in source order) and record it in the progress file."""
    from analyzer.search.catalog import META_COLUMNS, image_ref, write_json_atomic, write_shards

    root, manifest, state = job.root, job.manifest, job.state
    first = int(manifest["count"])
    meta_rows, vecs = [], []
    for pos in sorted(got):
        r = got[pos]
        if r["error_code"]:
            state["skipped"].append({"file": str(r["path"]), "code": str(r["error_code"]),
                                     "message": str(r["error_message"])})
            continue
        item_id = first + len(meta_rows)
        thumb = Path("thumbs") / f"{item_id:08d}.jpg"
        (root / thumb).write_bytes(bytes(r["thumb_jpeg"]))
        meta_rows.append({"item_id": item_id, "product_id": str(r["product_id"]),
                          "image": image_ref(Path(str(r["path"])), root),
                          "title": str(r["title"]), "category": str(r["category"]),
                          "thumb": thumb.as_posix(), "phash": str(r["phash"]),
                          "content_hash": str(r["content_hash"]), "width": int(r["width"]),
                          "height": int(r["height"])})
        vecs.append(np.asarray(r["vector"], np.float32))
    if meta_rows:
        write_shards(root, manifest, pd.DataFrame(meta_rows, columns=list(META_COLUMNS)),
                     np.stack(vecs), dtype)
    state["done"] = sorted(set(state["done"]) | {c})
    state["manifest"] = manifest
    write_json_atomic(root / PROGRESS, state)


def main_progress(done: int, total: int) -> None:  # pragma: no cover - CLI feedback
    print(f"chunks written: {done}/{total}", file=sys.stderr)
