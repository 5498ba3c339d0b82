"""The audit's per-image work, as it runs in a worker (a process of the local pool, a Ray
worker, or the caller's own process): one item in, its analyze-JSON dict and thumbnail out.

Nothing here writes files: the driver (:mod:`analyzer.audit.runner`) owns ``results.jsonl``
and the thumbnails, so any pool can run this code, on any machine.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from analyzer.audit.sources import AuditItem, BytesLoader
from analyzer.engine import analyze_and_enrich
from analyzer.errors import ListingLensError


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs to analyse images the same way as every other worker."""

    marketplace: str | None
    use_model: bool = True
    catalog: str | None = None
    # BLAS/OpenMP/onnxruntime threads per worker (1: one worker per core; 0: leave as they are,
    # for work in the caller's own process)
    threads: int = 1
    fix: bool = False  # also make the fixed photo (audit --fix), from this analysis and mask
    cover_art: bool = False  # every photo is cover art, edge to edge (--cover-art)


@dataclass
class ItemResult:
    """One audited item: its analyze-JSON dict (plus ``product_id``, ``title``) and a small
    JPEG of the photo for the reports (None for an unreadable file)."""

    result: dict[str, Any]
    thumbnail: bytes | None = None
    fixed: Any = None  # the fix's FixOutcome (its JPEG, not yet written) with ``fix``


def error_result(item: AuditItem, err: ListingLensError) -> dict[str, Any]:
    """The analyze-JSON dict of an item that could not be read."""
    from analyzer.engine import error_report

    d = error_report(item.name, err).to_dict()
    d["product_id"] = item.product_id
    d["title"] = item.title
    return d


def audit_one(item: AuditItem, marketplace: str | None = None, *, use_model: bool = True,
              search: Any = None, thumbnail: bool = True, fix: bool = False,
              cover_art: bool = False) -> ItemResult:
    """Analyse one item through the engine's one path (:func:`analyzer.engine.analyze_and_enrich`).

    Never raises for a bad image: unreadable items come back with ``ok: false``. ``search`` is an
    open :class:`analyzer.search.integration.SearchContext` (or None). ``fix``: also make the
    fixed photo (:mod:`analyzer.fix`, from this analysis and its mask, in this worker);
    ``cover_art``: the photo is declared cover art (:func:`analyzer.engine.analyze_loaded`).
    """
    try:
        data = item.read()
    except ListingLensError as e:
        return ItemResult(error_result(item, e))
    a = analyze_and_enrich(data, marketplace=marketplace, name=item.name, use_model=use_model,
                           search=search, thumbnail=thumbnail, keep_image=fix, title=item.title,
                           cover_art=cover_art)
    fixed = None
    if fix and a.report.ok:
        from analyzer.fix.runner import fix_report

        fixed = fix_report(a.report, data, marketplace=marketplace, use_model=use_model)
    a.report.image = a.report.mask = None
    d = a.report.to_dict()
    if not d.get("content_hash"):
        # Failed reads still get their hash: the resume key, and an empty file is content too.
        d["content_hash"] = hashlib.sha256(data).hexdigest()
    d["product_id"] = item.product_id
    d["title"] = item.title
    return ItemResult(d, a.thumbnail, fixed)


# --- worker-process state: set up once, then one call per image ------------------------------

_WORKER: dict[str, Any] = {}


def setup_worker(cfg: WorkerConfig, fresh: bool = False) -> None:
    """Prepare this process for :func:`work` (thread limits, the catalog's search context).
    Idempotent for the same config, so models and the catalog load once per worker process;
    ``fresh`` opens the catalog again (a pool in the caller's own process, which may have
    rebuilt it since)."""
    if _WORKER.get("config") == cfg and not fresh:
        return
    if cfg.threads > 0:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(cfg.threads)
        os.environ.setdefault("LISTING_LENS_ORT_THREADS", str(cfg.threads))
        # The embedder sets torch's threads from this when it loads (configure_torch_threads),
        # which would undo set_num_threads below: 2 workers x 2 torch threads on 2 cores spin.
        os.environ.setdefault("LISTING_LENS_TORCH_THREADS", str(cfg.threads))
        import cv2

        cv2.setNumThreads(cfg.threads)
    search = None
    init_error = None
    if cfg.catalog:
        if cfg.threads > 0:
            import torch

            torch.set_num_threads(cfg.threads)
        from analyzer.search.integration import SearchContext

        try:
            search = SearchContext.open(cfg.catalog)
        except ListingLensError as e:
            init_error = e.to_dict()
    _WORKER.clear()
    _WORKER.update(config=cfg, search=search, init_error=init_error)


def _raise_init_error() -> None:
    err = _WORKER.get("init_error")
    if err:
        raise ListingLensError(err["code"], err["message"])


def warm() -> None:
    """Compute the catalog's rank baseline once (it is cached on disk for the other workers);
    raises the worker's start-up error (a catalog it could not open)."""
    _raise_init_error()
    if _WORKER.get("search") is not None:
        _WORKER["search"].warm()


def analyze_path(path: str, title: str = "") -> dict[str, Any]:
    """``listing-lens analyze`` of one file in a set-up worker: its analyze-JSON dict."""
    _raise_init_error()
    cfg: WorkerConfig = _WORKER["config"]
    return analyze_and_enrich(path, marketplace=cfg.marketplace, use_model=cfg.use_model,
                              search=_WORKER["search"], title=title,
                              cover_art=cfg.cover_art).report.to_dict()


def work(name: str, product_id: str, title: str, data: bytes) -> ItemResult:
    """Audit one image's bytes in a set-up worker (:func:`setup_worker`)."""
    cfg: WorkerConfig = _WORKER["config"]
    item = AuditItem(name, product_id, title, BytesLoader(data))
    return audit_one(item, cfg.marketplace, use_model=cfg.use_model, search=_WORKER["search"],
                     fix=cfg.fix, cover_art=cfg.cover_art)
