"""Run a store audit: every image of a source through the engine, resumably, in parallel.

Design (why it looks like this):

* The driver reads each item's bytes and hashes them (SHA-256, the analyze contract's
  ``content_hash``); an image whose hash is already in ``results.jsonl`` is not analysed again,
  so re-running the same command after a crash or Ctrl-C resumes where it stopped.
* Decoding, the checks and (with a catalog) the embedding and search simulation run in a pool
  of workers (:mod:`analyzer.audit.pools`: local processes or Ray tasks), each running
  :func:`analyzer.audit.worker.work`, which returns the result and its thumbnail and writes
  nothing. At most ``2 x workers`` images are in flight, so memory stays flat however large the
  store is.
* Each result is appended to ``results.jsonl`` (:class:`analyzer.audit.results_log.ResultsLog`)
  and flushed as soon as it arrives. At the end the log is rewritten, atomically, to exactly one
  line per input in input order, and ``report.csv`` / ``report.pdf`` are made from it.
* A failing image becomes a result with ``ok: false`` and its error; the audit goes on. A worker
  that dies (e.g. killed for memory) costs only its in-flight images, recorded as
  INTERNAL_ERROR and retried on the next run.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.audit.pools import PoolFactory, kill_pool, pool_factory
from analyzer.audit.results_log import (
    OrderEntry,
    ResultsLog,
    crash_result,
    iter_results,
    listing_key,
    store_thumbnail,
    thumbnail_path,
)
from analyzer.audit.sources import AuditSource, open_source
from analyzer.audit.worker import ItemResult, WorkerConfig, error_result, warm, work
from analyzer.errors import ErrorCode, ListingLensError
from analyzer.results import judged_as_cover_art

log = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
CSV_FILE = "report.csv"
PDF_FILE = "report.pdf"
SUMMARY_FILE = "audit.json"
THUMBS_DIR = "thumbs"
FIXED_DIR = "fixed"  # `audit --fix`: the fixed photos, mirroring the source's folders


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
    regraded: int = 0  # results in results.jsonl graded with other settings, graded again
    duplicates: int = 0
    # (file, the earlier file with the same bytes and title): each duplicate named with its twin
    duplicate_of: list[tuple[str, str]] = field(default_factory=list)
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
            "resumed": self.resumed, "regraded": self.regraded, "duplicates": self.duplicates,
            "duplicate_of": [list(p) for p in self.duplicate_of[:1000]],
            "failed": self.failed,
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


def run_audit(source: str | Path | AuditSource, out_dir: str | Path, *,
              marketplace: str | None = None, catalog: str | Path | None = None,
              workers: int | None = None, use_model: bool = True, progress: bool = True,
              reports: bool = True, store_name: str | None = None,
              pdf_detail_limit: int | None = None,
              on_progress: Callable[[int, int], None] | None = None,
              engine: str = "local", ray_address: str | None = None,
              pools: PoolFactory | None = None, fix: bool = False,
              cover_art: bool = False) -> AuditSummary:
    """Audit every image of ``source`` into ``out_dir`` (results.jsonl, report.csv, report.pdf).

    ``pools``: where the images are analysed (:mod:`analyzer.audit.pools`); when None, the kind
    named by ``engine`` (``local``: worker processes on this machine, ``workers`` of them,
    default the CPU count, 1 runs in this process; ``ray``: one Ray task per image on a local Ray
    or the cluster at ``ray_address``, ``workers`` defaulting to the cluster's CPUs). Same
    outputs, resume and error handling either way. ``on_progress(done, total)`` is called after
    each input (e.g. a dashboard progress bar). ``fix``: also write a fixed photo of each image
    under ``out_dir/fixed/`` (its before and after grades go into the results, the CSV and the
    PDF); an image audited earlier without ``fix`` is analysed again. ``cover_art``: every
    photo is cover art, edge to edge (:func:`analyzer.engine.analyze_loaded`). Returns an
    :class:`AuditSummary`; raises ListingLensError only for an unusable source, marketplace,
    catalog or engine.
    """
    from analyzer.config import marketplace as get_marketplace

    get_marketplace(marketplace)  # a typo fails before any work
    if fix and engine == "ray":
        raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                               "--fix runs with the local engine only; drop --engine ray")
    t0 = time.perf_counter()
    src = source if isinstance(source, AuditSource) else open_source(source)
    if len(src) == 0:  # a wrong folder must not read as a finished audit
        n = len(src.skipped)
        other = ("" if not n else " (1 file that is not an image)" if n == 1
                 else f" ({n} files that are not images)")
        raise ListingLensError(ErrorCode.FILE_NOT_FOUND,
                               f"no images found in {src.label}{other}; nothing to audit")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    thumb_dir = out / THUMBS_DIR
    catalog_s = str(catalog) if catalog else None
    if catalog_s:
        from analyzer.search.catalog import Catalog

        Catalog.open(catalog_s)  # CATALOG_NOT_FOUND / MISMATCH now, before any work
    if pools is None:
        pools = pool_factory(engine, WorkerConfig(marketplace, use_model, catalog_s, fix=fix,
                                                  cover_art=cover_art),
                             workers=workers, address=ray_address)
    graded_with = grading_settings(marketplace, use_model, catalog_s, cover_art)
    try:
        return _run(src, out, pools, marketplace=marketplace, catalog=catalog_s,
                    graded_with=graded_with,
                    progress=progress, reports=reports, store_name=store_name,
                    pdf_detail_limit=pdf_detail_limit, on_progress=on_progress,
                    engine=engine, t0=t0, thumb_dir=thumb_dir,
                    fix_dir=out / FIXED_DIR if fix else None)
    finally:
        pools.close()


def grading_settings(marketplace: str | None, use_model: bool, catalog: str | None,
                     cover_art: bool = False) -> str:
    """What a result depends on besides the photo: the marketplace's rules, the mask, the
    catalog and the cover-art declaration. Stored with each result (``graded_with``), so a
    re-run with other settings grades the photos again instead of resuming with another
    marketplace's verdicts. (The declaration adds ``|cover`` only when made, so results stored
    before it existed still resume.)"""
    from analyzer.config import marketplace as get_marketplace

    mask = "u2netp" if use_model else "classical"
    cover = "|cover" if cover_art else ""
    return f"{get_marketplace(marketplace).key}|{mask}|{catalog or ''}{cover}"


def _run(src: AuditSource, out: Path, pools: PoolFactory, *, marketplace: str | None,
         catalog: str | None, graded_with: str, progress: bool, reports: bool,
         store_name: str | None,
         pdf_detail_limit: int | None, on_progress: Callable[[int, int], None] | None,
         engine: str, t0: float, thumb_dir: Path, fix_dir: Path | None) -> AuditSummary:
    n_workers = pools.workers
    window = 2 * n_workers
    rlog = ResultsLog(out / RESULTS_FILE)
    summary = AuditSummary(out_dir=out, source=str(src.label), total=len(src),
                           skipped=list(src.skipped), workers=n_workers, engine=engine)
    order: list[OrderEntry] = []
    pending: dict[cf.Future, tuple[str, str]] = {}  # future -> (content hash, title)
    seen: set[str] = set()  # listing keys met in this run (a second one is a duplicate)
    seen_name: dict[str, str] = {}  # ... and the file each was first met as
    bar = _Progress(_progress(len(src), progress), on_progress, len(src))

    def collect(done: Iterable[cf.Future]) -> bool:
        broken = False
        for fut in done:
            h, title = pending.pop(fut)
            try:
                item: ItemResult = fut.result()
                r = item.result
            except cf.process.BrokenProcessPool:
                broken = True
                r = crash_result(h, title=title)
            except Exception as e:  # pickling or other pool failure: cost one image
                log.exception("worker failed")
                r = crash_result(h, f"{type(e).__name__}", title=title)
            else:
                if item.thumbnail is not None:
                    try:
                        store_thumbnail(thumb_dir, r.get("content_hash") or h, item.thumbnail)
                    except OSError as e:
                        r.setdefault("notes", []).append(f"thumbnail not saved ({e})")
                if item.fixed is not None and fix_dir is not None:
                    r["fix"] = write_fixed(item.fixed, fix_dir, r.get("file", ""))
            if not r.get("content_hash"):
                r["content_hash"] = h
            r["graded_with"] = graded_with
            rlog.append(r)
            summary.analysed += 1
            bar.update(1)
        return broken

    pool = pools()
    try:
        if catalog:
            # One worker computes the per-catalog baseline (cached on disk) before the others
            # need it, instead of every worker computing it at the same time; a catalog that
            # cannot be opened in a worker stops the audit here, before any image.
            if progress:
                print("loading the catalog (its search baseline is computed once and cached; "
                      "the first audit against a new catalog takes longer)", file=sys.stderr)
            pool.submit(warm).result()  # raises the worker's error (a catalog it cannot open)
        for item in src:
            try:
                data = item.read()
            except ListingLensError as e:
                r = error_result(item, e)
                order.append(OrderEntry(item.name, item.product_id, item.title, inline=r))
                bar.update(1)
                continue
            h = hashlib.sha256(data).hexdigest()
            # the photo with its title: the same photo under another title (one naming a set
            # changes the clutter verdict) is graded on its own, not taken as a duplicate
            key = listing_key(h, item.title)
            order.append(OrderEntry(item.name, item.product_id, item.title, key=key))
            if key in seen:
                summary.duplicates += 1
                summary.duplicate_of.append((item.name, seen_name[key]))
                bar.update(1)
                continue
            seen.add(key)
            seen_name[key] = item.name
            if key in rlog:
                prev = rlog.get(key) or {}
                if prev.get("graded_with") != graded_with:  # other settings: graded again
                    summary.regraded += 1
                elif not (fix_dir is not None and needs_fix(prev)):
                    summary.resumed += 1
                    bar.update(1)
                    continue
            while len(pending) >= window:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                if collect(done):
                    kill_pool(pool)
                    pool = pools()
                    _fail_pending(pending, rlog, summary, bar)
            fut = pool.submit(work, item.name, item.product_id, item.title, data)
            pending[fut] = (h, item.title)
            del data
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            if collect(done):
                kill_pool(pool)
                pool = pools()
                _fail_pending(pending, rlog, summary, bar)
        pool.shutdown(wait=True)
    except BaseException:
        kill_pool(pool)
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
        write_reports(summary, marketplace=marketplace, catalog=catalog,
                      store_name=store_name or src.label, pdf_detail_limit=pdf_detail_limit)
    summary.elapsed_s = time.perf_counter() - t0
    (out / SUMMARY_FILE).write_text(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False),
                                    encoding="utf-8")
    return summary


def fixed_path(fix_dir: str | Path, name: str) -> Path:
    """Where the fixed photo of source item ``name`` goes: its folders mirrored under
    ``fix_dir`` (only plain parts: sources already refuse unsafe names), ``NAME_fixed.jpg``."""
    from analyzer.fix.runner import output_name

    parts = [p for p in Path(name.replace("\\", "/")).parts[:-1]
             if p not in ("", ".", "..", "/") and not p.startswith("/")]
    return Path(fix_dir).joinpath(*parts, output_name(name))


def write_fixed(outcome: Any, fix_dir: Path, name: str) -> dict[str, Any]:
    """Write a worker's fixed photo under ``fix_dir`` (the audit's own folder: an earlier run's
    photo is replaced); its fix JSON (the ``fix`` command's contract) for the result."""
    from analyzer.fix.runner import write_outcome

    target = fixed_path(fix_dir, name)
    return write_outcome(outcome, target.parent, overwrite=True, name=target.name).to_dict()


def needs_fix(result: dict[str, Any] | None) -> bool:
    """An analysed image audited before without ``--fix`` (or whose fixed photo is gone)."""
    if not result or not result.get("ok"):
        return False
    fx = result.get("fix")
    return fx is None or (bool(fx.get("output")) and not Path(fx["output"]).exists())


def _fail_pending(pending: dict, rlog: ResultsLog, summary: AuditSummary, bar: Any) -> None:
    """After a broken pool: record what was still in flight as crashed (retried next run)."""
    for fut in list(pending):
        h, title = pending.pop(fut)
        rlog.append(crash_result(h, title=title))
        summary.analysed += 1
        bar.update(1)


def slim(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its per-check metrics: what the PDF needs, a fraction of the memory
    (of the metrics, only whether the photo was judged as declared cover art)."""
    out = {k: v for k, v in result.items() if k != "metrics"}
    out["cover_art"] = judged_as_cover_art(result)
    return out


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
