"""Run a store audit: every image of a source through the engine, resumably, in parallel.

Design (why it looks like this):

* The parent reads each item's bytes and hashes them (SHA-256, the analyze contract's
  ``content_hash``); an image whose hash is already in ``results.jsonl`` is not analysed again,
  so re-running the same command after a crash or Ctrl-C resumes where it stopped.
* Decoding, the checks and (with a catalog) the embedding and search simulation run in worker
  processes (``ProcessPoolExecutor``, spawn start so no thread pool of torch/onnxruntime is ever
  forked). At most ``2 x workers`` images are in flight, so memory stays flat however large the
  store is.
* Each result is appended to ``results.jsonl`` and flushed as soon as it arrives (append-only
  log). At the end the log is rewritten, atomically, to exactly one line per input in input
  order, and ``report.csv`` / ``report.pdf`` are made from it.
* A failing image becomes a result with ``ok: false`` and its error; the audit goes on. A worker
  that dies (e.g. killed for memory) costs only its in-flight images, recorded as
  INTERNAL_ERROR and retried on the next run.

:func:`audit_one` (one item -> one analyze-JSON dict) and :class:`ResultsLog` (the resumable
writer) are separate so that other engines (e.g. Ray) can reuse them.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import io
import json
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.audit.sources import AuditItem, AuditSource, BytesLoader, open_source
from analyzer.errors import ErrorCode, ListingLensError

log = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
CSV_FILE = "report.csv"
PDF_FILE = "report.pdf"
SUMMARY_FILE = "audit.json"
THUMBS_DIR = "thumbs"
FIXED_DIR = "fixed"  # `audit --fix`: the fixed photos, mirroring the source's folders
THUMB_LONG_SIDE = 256
# Failures that may not happen again (a crashed worker, a bug): retried when the audit re-runs.
RETRY_CODES = frozenset({ErrorCode.INTERNAL_ERROR.value})


# --------------------------------------------------------------------------------------------
# One item


def thumbnail_path(thumb_dir: str | Path, content_hash: str) -> Path:
    return Path(thumb_dir) / f"{content_hash[:64]}.jpg"


def _valid_hash(content_hash: str) -> bool:
    return bool(content_hash) and all(c in "0123456789abcdef" for c in content_hash)


def save_thumbnail(rgb: Any, thumb_dir: str | Path, content_hash: str) -> Path | None:
    """A small JPEG of the working image, for the PDF (named by hash: no user text in paths)."""
    from PIL import Image

    if not _valid_hash(content_hash):
        return None
    out = thumbnail_path(thumb_dir, content_hash)
    if out.exists():
        return out
    im = Image.fromarray(rgb)
    im.thumbnail((THUMB_LONG_SIDE, THUMB_LONG_SIDE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=82, optimize=True)
    return store_thumbnail(thumb_dir, content_hash, buf.getvalue())


def store_thumbnail(thumb_dir: str | Path, content_hash: str, data: bytes) -> Path | None:
    """Write encoded thumbnail bytes under their hash (atomic; an existing file is kept). The
    temporary name carries the process and thread, so concurrent writers never share it."""
    if not _valid_hash(content_hash):
        return None
    out = thumbnail_path(thumb_dir, content_hash)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out


def error_result(item: AuditItem, err: ListingLensError) -> dict[str, Any]:
    """The analyze-JSON dict of an item that could not be read."""
    from analyzer.engine import error_report

    d = error_report(item.name, err).to_dict()
    d["product_id"] = item.product_id
    d["title"] = item.title
    return d


def audit_one(item: AuditItem, marketplace: str | None = None, *, use_model: bool = True,
              search: Any = None, thumb_dir: str | Path | None = None,
              fix_dir: str | Path | None = None) -> dict[str, Any]:
    """Analyse one item and return its analyze-JSON dict plus ``product_id`` and ``title``.

    Never raises for a bad image: unreadable items come back with ``ok: false``. ``search`` is an
    open :class:`analyzer.search.integration.SearchContext` (or None); ``thumb_dir`` where to
    save a small thumbnail named by content hash (or None); ``fix_dir``: also fix the photo
    (:mod:`analyzer.fix`, reusing this analysis and its mask), write it there and add the fix's
    JSON (the ``fix`` command's contract) under ``"fix"``.
    """
    from analyzer.engine import analyze

    data: bytes | None = None
    try:
        data = item.read()
    except ListingLensError as e:
        return error_result(item, e)
    else:
        keep = search is not None or thumb_dir is not None or fix_dir is not None
        report = analyze(data, marketplace=marketplace, name=item.name, use_model=use_model,
                         keep_image=keep)
        if report.ok and search is not None:
            try:
                search.enrich(report, marketplace=marketplace)
            except ListingLensError as e:
                report.notes.append(f"search simulation skipped: {e.message}")
            except Exception as e:  # the quality audit must survive a search-layer bug
                log.exception("search enrichment failed for %s", item.name)
                report.notes.append(f"search simulation failed ({type(e).__name__})")
        if report.ok and thumb_dir is not None and report.image is not None:
            try:
                save_thumbnail(report.image.rgb, thumb_dir, report.content_hash)
            except OSError as e:
                report.notes.append(f"thumbnail not saved ({e})")
        fix = _fix(report, data, item.name, marketplace, use_model, fix_dir) \
            if fix_dir is not None and report.ok else None
        report.image = None
        d = report.to_dict()
        if fix is not None:
            d["fix"] = fix
    if not d.get("content_hash") and data is not None:
        # Failed reads still get their hash: the resume key, and an empty file is content too.
        d["content_hash"] = hashlib.sha256(data).hexdigest()
    d["product_id"] = item.product_id
    d["title"] = item.title
    return d


def fixed_path(fix_dir: str | Path, name: str) -> Path:
    """Where the fixed photo of source item ``name`` goes: its folders mirrored under
    ``fix_dir`` (only plain parts: sources already refuse unsafe names), ``NAME_fixed.jpg``."""
    from analyzer.fix.runner import output_name

    parts = [p for p in Path(name.replace("\\", "/")).parts[:-1]
             if p not in ("", ".", "..", "/") and not p.startswith("/")]
    return Path(fix_dir).joinpath(*parts, output_name(name))


def _fix(report: Any, data: bytes, name: str, marketplace: str | None, use_model: bool,
         fix_dir: str | Path) -> dict[str, Any]:
    from analyzer.fix.runner import fix_report, write_outcome

    outcome = fix_report(report, data, marketplace=marketplace, use_model=use_model)
    target = fixed_path(fix_dir, name)
    # The folder is the audit's own: an earlier run's fixed photo is replaced.
    write_outcome(outcome, target.parent, overwrite=True, name=target.name)
    return outcome.to_dict()


# --------------------------------------------------------------------------------------------
# The resumable results file


def result_key(result: dict[str, Any]) -> str | None:
    """The resume key of a result: its content hash, unless it should be retried."""
    h = result.get("content_hash") or ""
    err = result.get("error") or {}
    if not h or err.get("code") in RETRY_CODES:
        return None
    return h


class ResultsLog:
    """``results.jsonl`` as an append-only, per-line-flushed log indexed by content hash.

    Opening it repairs a half-written last line (a crash mid-write) and indexes every finished
    result, keeping only the byte offset of each (memory stays small for big stores).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._offsets: dict[str, int] = {}  # finished results: resume key -> byte offset
        self._latest: dict[str, int] = {}   # any result with a hash (incl. retryable failures)
        self._repair_and_index()
        self._fh = open(self.path, "ab")  # noqa: SIM115 - kept open for the whole audit

    def _repair_and_index(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "r+b") as f:
            data_end = f.seek(0, io.SEEK_END)
            if data_end == 0:
                return
            f.seek(max(0, data_end - 1))
            if f.read(1) != b"\n":
                # Cut a partial last line: it would corrupt the next line appended after it.
                f.seek(0)
                content = f.read()
                last_nl = content.rfind(b"\n")
                f.truncate(last_nl + 1 if last_nl >= 0 else 0)
            f.seek(0)
            pos = 0
            for line in f:
                try:
                    r = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    pos += len(line)
                    continue
                if isinstance(r, dict):
                    self._index(r, pos)
                pos += len(line)

    def _index(self, r: dict[str, Any], pos: int) -> None:
        h = r.get("content_hash") or ""
        if h:
            self._latest[h] = pos
        key = result_key(r)
        if key:
            self._offsets[key] = pos

    def __contains__(self, key: str) -> bool:
        return key in self._offsets

    def __len__(self) -> int:
        return len(self._offsets)

    def append(self, result: dict[str, Any]) -> None:
        line = (json.dumps(result, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        pos = self._fh.seek(0, io.SEEK_END)
        self._fh.write(line)
        self._fh.flush()
        self._index(result, pos)

    def get(self, key: str) -> dict[str, Any] | None:
        pos = self._latest.get(key)
        if pos is None:
            return None
        with open(self.path, "rb") as f:
            f.seek(pos)
            return json.loads(f.readline())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def compact(self, order: Iterable[OrderEntry]) -> int:
        """Rewrite the file as one line per input, in input order (atomic replace)."""
        self._fh.flush()
        tmp = self.path.with_suffix(".jsonl.tmp")
        n = 0
        self._offsets, latest = {}, self._latest
        self._latest = {}
        with open(self.path, "rb") as src, open(tmp, "wb") as dst:
            for e in order:
                r = e.inline
                if r is None and e.key is not None:
                    pos = latest.get(e.key)
                    if pos is not None:
                        src.seek(pos)
                        r = json.loads(src.readline())
                if r is None:  # never expected: keep one row per input whatever happens
                    r = _crash_result(e.key or "", "the result was lost")
                r = {**r, "file": e.name, "product_id": e.product_id, "title": e.title}
                self._index(r, dst.tell())
                dst.write((json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                           + "\n").encode())
                n += 1
        self.close()
        os.replace(tmp, self.path)
        self._fh = open(self.path, "ab")  # noqa: SIM115
        return n


def _needs_fix(result: dict[str, Any] | None) -> bool:
    """An analysed image audited before without ``--fix`` (or whose fixed photo is gone)."""
    if not result or not result.get("ok"):
        return False
    fx = result.get("fix")
    return fx is None or (bool(fx.get("output")) and not Path(fx["output"]).exists())


@dataclass
class OrderEntry:
    """One input in input order: where its result is (``key``) or the result itself."""

    name: str
    product_id: str
    title: str
    key: str | None = None
    inline: dict[str, Any] | None = None


def iter_results(path: str | Path) -> Iterator[dict[str, Any]]:
    """The results of a finished audit (``results.jsonl``), one dict per input."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


# --------------------------------------------------------------------------------------------
# Worker processes

_WORKER: dict[str, Any] = {}


def _init_worker(marketplace: str | None, use_model: bool, catalog: str | None,
                 thumb_dir: str | None, threads: int, fix_dir: str | None = None) -> None:
    # Ctrl-C is handled by the parent, which stops the pool; workers must not die mid-line.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_worker(marketplace, use_model, catalog, thumb_dir, threads, fix_dir)


def setup_worker(marketplace: str | None, use_model: bool, catalog: str | None,
                 thumb_dir: str | None, threads: int, fix_dir: str | None = None) -> None:
    """Prepare this process to run :func:`_work` (thread limits, the catalog's search context);
    used by the process pool's initializer and by the Ray engine's workers."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("LISTING_LENS_ORT_THREADS", str(threads))
    try:
        import cv2

        cv2.setNumThreads(threads)
    except Exception:  # pragma: no cover - cv2 is a dependency
        pass
    search = None
    init_error = None
    if catalog:
        import torch

        torch.set_num_threads(threads)
        from analyzer.search.integration import SearchContext

        try:
            search = SearchContext.open(catalog)
        except ListingLensError as e:
            init_error = e.to_dict()
    _WORKER.update(marketplace=marketplace, use_model=use_model, search=search,
                   thumb_dir=thumb_dir, init_error=init_error, fix_dir=fix_dir)


def _warm() -> dict[str, str] | None:
    """Compute the catalog's rank baseline once (it is cached on disk for the other workers);
    returns the worker's start-up error, if any, as {code, message}."""
    if _WORKER.get("init_error"):
        return _WORKER["init_error"]
    if _WORKER.get("search") is not None:
        _WORKER["search"].warm()
    return None


def _work(name: str, product_id: str, title: str, data: bytes) -> dict[str, Any]:
    item = AuditItem(name, product_id, title, BytesLoader(data))
    return audit_one(item, _WORKER["marketplace"], use_model=_WORKER["use_model"],
                     search=_WORKER["search"], thumb_dir=_WORKER["thumb_dir"],
                     fix_dir=_WORKER.get("fix_dir"))


class _SerialPool:
    """The pool interface, run in this process (workers=1: no start-up cost, easy debugging)."""

    def __init__(self, marketplace: str | None, use_model: bool, catalog: str | None,
                 thumb_dir: str | None, fix_dir: str | None = None) -> None:
        search = None
        if catalog:
            from analyzer.search.integration import SearchContext

            search = SearchContext.open(catalog)
        self._kw = dict(use_model=use_model, search=search, thumb_dir=thumb_dir,
                        fix_dir=fix_dir)
        self._mkt = marketplace

    def submit(self, fn: Callable, name: str, product_id: str, title: str,
               data: bytes) -> cf.Future:
        fut: cf.Future = cf.Future()
        item = AuditItem(name, product_id, title, BytesLoader(data))
        fut.set_result(audit_one(item, self._mkt, **self._kw))
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


# --------------------------------------------------------------------------------------------
# The audit


@dataclass
class AuditSummary:
    """What an audit did. ``analysed`` counts the analyses run by this call (0 on a re-run of a
    finished audit); ``resumed`` the inputs whose result was already in results.jsonl."""

    out_dir: Path
    source: str
    total: int = 0
    analysed: int = 0
    resumed: int = 0
    duplicates: int = 0
    failed: int = 0
    failed_files: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    results_path: Path | None = None
    csv_path: Path | None = None
    pdf_path: Path | None = None
    workers: int = 1
    engine: str = "local"

    @property
    def exit_code(self) -> int:
        """0 when every image was audited, 2 when some failed."""
        return 2 if self.failed else 0

    @property
    def rate(self) -> float:
        return self.analysed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "total": self.total, "analysed": self.analysed,
            "resumed": self.resumed, "duplicates": self.duplicates, "failed": self.failed,
            "failed_files": self.failed_files[:1000], "skipped": self.skipped[:1000],
            "elapsed_s": round(self.elapsed_s, 2), "images_per_s": round(self.rate, 3),
            "workers": self.workers, "engine": self.engine,
            "results": str(self.results_path) if self.results_path else None,
            "csv": str(self.csv_path) if self.csv_path else None,
            "pdf": str(self.pdf_path) if self.pdf_path else None,
        }


class _Progress:
    """The tqdm bar plus an optional callback, updated together."""

    def __init__(self, bar: Any, callback: Callable[[int, int], None] | None,
                 total: int) -> None:
        self.bar, self.callback, self.total, self.n = bar, callback, total, 0

    def update(self, k: int = 1) -> None:
        self.n += k
        self.bar.update(k)
        if self.callback is not None:
            self.callback(self.n, self.total)

    def close(self) -> None:
        self.bar.close()


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="img", desc="audit", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def _kill_pool(pool: Any) -> None:
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):  # already gone
            p.terminate()


def n_workers_requested(workers: int | None) -> int:
    return max(1, int(workers or os.cpu_count() or 1))


def run_audit(source: str | Path | AuditSource, out_dir: str | Path, *,
              marketplace: str | None = None, catalog: str | Path | None = None,
              workers: int | None = None, use_model: bool = True, progress: bool = True,
              reports: bool = True, store_name: str | None = None,
              pdf_detail_limit: int | None = None,
              on_progress: Callable[[int, int], None] | None = None,
              engine: str = "local", ray_address: str | None = None,
              fix: bool = False) -> AuditSummary:
    """Audit every image of ``source`` into ``out_dir`` (results.jsonl, report.csv, report.pdf).

    ``workers``: worker processes (default: CPU count; 1 runs in this process).
    ``engine``: ``local`` (worker processes on this machine) or ``ray`` (one Ray task per image,
    on a local Ray or the cluster at ``ray_address``; ``workers`` then defaults to the cluster's
    CPUs); same outputs, resume and error handling (analyzer/scale/ray_audit.py).
    ``on_progress(done, total)`` is called after each input (e.g. a dashboard progress bar).
    ``fix``: also write a fixed photo of each image under ``out_dir/fixed/`` (its before and
    after grades go into the results, the CSV and the PDF); an image audited earlier without
    ``fix`` is analysed again. Not with the ray engine.
    Returns an :class:`AuditSummary`; raises ListingLensError only for an unusable source,
    marketplace or catalog.
    """
    from analyzer.config import marketplace as get_marketplace

    get_marketplace(marketplace)  # a typo fails before any work
    if engine not in ("local", "ray"):
        raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                               f"unknown audit engine '{engine}'; choose local or ray")
    if fix and engine == "ray":
        raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                               "--fix runs with the local engine only; drop --engine ray")
    t0 = time.perf_counter()
    src = source if isinstance(source, AuditSource) else open_source(source)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    thumb_dir = out / THUMBS_DIR
    fix_dir = str(out / FIXED_DIR) if fix else None
    catalog_s = str(catalog) if catalog else None
    if catalog_s:
        from analyzer.search.catalog import Catalog

        Catalog.open(catalog_s)  # CATALOG_NOT_FOUND / MISMATCH now, before any work
    ray_pool = None
    if engine == "ray":
        from analyzer.scale.ray_audit import RayPool

        ray_pool = RayPool(marketplace, use_model, catalog_s, thumb_dir, address=ray_address,
                           workers=workers)
        n_workers = ray_pool.workers
    else:
        n_workers = n_workers_requested(workers)
    window = 2 * n_workers

    rlog = ResultsLog(out / RESULTS_FILE)
    summary = AuditSummary(out_dir=out, source=str(src.label), total=len(src),
                           skipped=list(src.skipped), workers=n_workers, engine=engine)
    order: list[OrderEntry] = []
    pending: dict[cf.Future, str] = {}  # future -> content hash
    in_flight_hashes: set[str] = set()
    seen: set[str] = set()  # hashes met in this run (a second one is a duplicate listing)
    bar = _Progress(_progress(len(src), progress), on_progress, len(src))

    def make_pool() -> Any:
        if ray_pool is not None:
            return ray_pool  # Ray replaces lost workers itself: the pool never breaks
        if n_workers == 1:
            return _SerialPool(marketplace, use_model, catalog_s, str(thumb_dir), fix_dir)
        return cf.ProcessPoolExecutor(
            max_workers=n_workers, mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(marketplace, use_model, catalog_s, str(thumb_dir), 1, fix_dir))

    def collect(done: Iterable[cf.Future]) -> bool:
        broken = False
        for fut in done:
            h = pending.pop(fut)
            in_flight_hashes.discard(h)
            try:
                r = fut.result()
            except cf.process.BrokenProcessPool:
                broken = True
                r = _crash_result(h)
            except Exception as e:  # pickling or other pool failure: cost one image
                log.exception("worker failed")
                r = _crash_result(h, f"{type(e).__name__}")
            if not r.get("content_hash"):
                r["content_hash"] = h
            rlog.append(r)
            summary.analysed += 1
            bar.update(1)
        return broken

    pool = make_pool()
    try:
        if catalog_s and (n_workers > 1 or ray_pool is not None):
            # One worker computes the per-catalog baseline (cached on disk) before the others
            # need it, instead of every worker computing it at the same time.
            if progress:
                print("loading the catalog (its search baseline is computed once and cached; "
                      "the first audit against a new catalog takes longer)", file=sys.stderr)
            err = pool.submit(_warm).result()
            if err:
                raise ListingLensError(err["code"], err["message"])
        for item in src:
            try:
                data = item.read()
            except ListingLensError as e:
                r = error_result(item, e)
                order.append(OrderEntry(item.name, item.product_id, item.title, inline=r))
                bar.update(1)
                continue
            h = hashlib.sha256(data).hexdigest()
            order.append(OrderEntry(item.name, item.product_id, item.title, key=h))
            if h in seen:
                summary.duplicates += 1
                bar.update(1)
                continue
            seen.add(h)
            if h in rlog and not (fix_dir and _needs_fix(rlog.get(h))):
                summary.resumed += 1
                bar.update(1)
                continue
            while len(pending) >= window:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                if collect(done):
                    _kill_pool(pool)
                    pool = make_pool()
                    _fail_pending(pending, in_flight_hashes, rlog, summary, bar)
            in_flight_hashes.add(h)
            fut = pool.submit(_work, item.name, item.product_id, item.title, data)
            pending[fut] = h
            del data
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            if collect(done):
                _kill_pool(pool)
                pool = make_pool()
                _fail_pending(pending, in_flight_hashes, rlog, summary, bar)
        pool.shutdown(wait=True)
    except BaseException:
        _kill_pool(pool)
        rlog.close()
        bar.close()
        raise
    bar.close()

    # Every input now has a result in the log (or inline): rewrite in input order.
    rlog.compact(order)
    rlog.close()
    summary.results_path = out / RESULTS_FILE
    for r in iter_results(summary.results_path):
        if not r.get("ok"):
            summary.failed += 1
            err = r.get("error") or {}
            summary.failed_files.append({"file": r.get("file", ""), "code": err.get("code", ""),
                                         "message": err.get("message", "")})
    summary.elapsed_s = time.perf_counter() - t0
    if reports:
        write_reports(summary, marketplace=marketplace, catalog=catalog_s,
                      store_name=store_name or src.label, pdf_detail_limit=pdf_detail_limit)
    summary.elapsed_s = time.perf_counter() - t0
    (out / SUMMARY_FILE).write_text(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False),
                                    encoding="utf-8")
    return summary


def _crash_result(h: str, what: str = "the worker process stopped") -> dict[str, Any]:
    return {"file": "", "ok": False, "content_hash": h,
            "error": {"code": ErrorCode.INTERNAL_ERROR.value,
                      "message": f"{what} while analysing this image (out of memory?); "
                                 "re-run the audit to retry it"},
            "width": 0, "height": 0, "format": "", "scores": {}, "grade": "", "metrics": {},
            "flags": [], "notes": []}


def _fail_pending(pending: dict, in_flight: set, rlog: ResultsLog, summary: AuditSummary,
                  bar: Any) -> None:
    """After a broken pool: record what was still in flight as crashed (retried next run)."""
    for fut in list(pending):
        h = pending.pop(fut)
        in_flight.discard(h)
        rlog.append(_crash_result(h))
        summary.analysed += 1
        bar.update(1)


def slim(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its per-check metrics: what the PDF needs, a fraction of the memory."""
    return {k: v for k, v in result.items() if k != "metrics"}


def write_reports(summary: AuditSummary, *, marketplace: str | None = None,
                  catalog: str | None = None, store_name: str | None = None,
                  pdf_detail_limit: int | None = None) -> None:
    """report.csv (streamed) and report.pdf from the finished results.jsonl."""
    from analyzer.report.csv import write_csv
    from analyzer.report.pdf import build_pdf

    out = summary.out_dir
    res_path = out / RESULTS_FILE
    summary.csv_path = write_csv(iter_results(res_path), out / CSV_FILE)
    thumb_dir = out / THUMBS_DIR

    def thumbs(r: dict[str, Any]) -> Path | None:
        h = r.get("content_hash") or ""
        p = thumbnail_path(thumb_dir, h) if h else None
        return p if p is not None and p.is_file() else None

    kw: dict[str, Any] = {}
    if pdf_detail_limit is not None:
        kw["detail_limit"] = pdf_detail_limit
    build_pdf([slim(r) for r in iter_results(res_path)], out / PDF_FILE,
              store_name=store_name or out.name, marketplace=marketplace, thumbnails=thumbs,
              catalog=catalog, skipped=summary.skipped, **kw)
    summary.pdf_path = out / PDF_FILE
