"""Run a batch of uploads through the analysis, with progress, reusing cached results.

The page re-runs on every click; :func:`run_batch` remembers, per set of uploaded files and
settings, which cache key each image has, so a re-run only looks reports up. Anything the cache
dropped is analysed again from the uploaded bytes (kept by Streamlit for the session).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from analyzer.results import ImageReport
from analyzer.ui.state import (
    ResultCache,
    SearchHandle,
    Settings,
    analyze_entry,
    enrich_cached,
    failed,
)
from analyzer.ui.uploads import UploadEntry, iter_uploads, looks_like_zip

Progress = Callable[[float, str], None]


@dataclass
class BatchItem:
    name: str
    key: tuple | None            # cache key of an analysed image
    error_report: ImageReport | None = None  # for a file that could not be read
    source: int = 0              # index of the uploaded file it came from
    member: str | None = None    # zip member name


@dataclass
class Batch:
    items: list[BatchItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    analysed: int = 0            # how many were computed (not from the cache) on this run


def count_entries(name: str, data: bytes) -> int:
    """How many images an upload holds (1 for an image, the image members of a zip)."""
    if not data or not looks_like_zip(name, data):
        return 1
    try:
        from analyzer.io.archive import iter_zip_images

        return max(1, len(iter_zip_images(data)))
    except Exception:
        return 1


def run_batch(files: Sequence[tuple[str, bytes]], settings: Settings, cache: ResultCache,
              progress: Progress | None = None) -> Batch:
    """Run the quality checks on every image in the uploads (cache first); never raises.

    The search simulation (seconds per image) is not run here: the report cards come first,
    then :func:`enrich_items` fills in the search figures.
    """
    batch = Batch()
    total = sum(count_entries(n, d) for n, d in files) or 1
    done = 0
    seen: dict[str, int] = {}
    for idx, (name, data) in enumerate(files):
        for entry in iter_uploads([(name, data)], batch.notes):
            done += 1
            item = _one(entry, idx, settings, cache, batch, progress, done, total)
            batch.items.append(_unique_name(item, seen))
    if progress is not None:
        progress(1.0, f"Checked {total} photo{'s' if total != 1 else ''}")
    return batch


def _unique_name(item: BatchItem, seen: dict[str, int]) -> BatchItem:
    """Three uploads named "004.jpg" (from three folders) become "004.jpg", "004.jpg (2)" and
    "004.jpg (3)", so the photo picker, the audit table and the reports can tell them apart."""
    n = seen.get(item.name, 0) + 1
    seen[item.name] = n
    if n == 1:
        return item
    name = f"{item.name} ({n})"
    while name in seen:  # an upload really called "004.jpg (2)"
        n += 1
        name = f"{item.name} ({n})"
    seen[name] = 1
    err = None if item.error_report is None else replace(item.error_report, file=name)
    return replace(item, name=name, error_report=err)


def _one(entry: UploadEntry, idx: int, settings: Settings, cache: ResultCache, batch: Batch,
         progress: Progress | None, done: int, total: int) -> BatchItem:
    if entry.data is None:
        return BatchItem(entry.name, None, failed(entry.name, entry.error), idx, entry.member)
    key = settings.key(entry.content_hash or "", "")
    if cache.get(key, full=False) is None:
        if progress is not None:
            progress((done - 1) / total, f"Checking photo {done} of {total}: {entry.name}")
        batch.analysed += 1
    report = analyze_entry(entry.data, entry.name, settings, cache, full=False)
    if not report.ok:
        return BatchItem(entry.name, None, report, idx, entry.member)
    return BatchItem(entry.name, key, None, idx, entry.member)


def search_key(item: BatchItem, settings: Settings, search: SearchHandle) -> tuple | None:
    if item.key is None or not search.ok:
        return None
    return settings.key(item.key[0], search.catalog_id)


def light_report(item: BatchItem, cache: ResultCache, settings: Settings | None = None,
                 search: SearchHandle | None = None) -> ImageReport | None:
    """The light report: with the search figures when they were computed, else quality only."""
    if item.error_report is not None:
        return item.error_report
    if settings is not None and search is not None:
        sk = search_key(item, settings, search)
        r = cache.get(sk, full=False) if sk is not None else None
        if r is not None:
            return _named(r, item.name)
    r = cache.get(item.key, full=False)
    return None if r is None else _named(r, item.name)


def needs_search(item: BatchItem, settings: Settings, search: SearchHandle,
                 cache: ResultCache) -> bool:
    sk = search_key(item, settings, search)
    return sk is not None and cache.get(sk, full=False) is None


def full_report(item: BatchItem, files: Sequence[tuple[str, bytes]], settings: Settings,
                cache: ResultCache, search: SearchHandle | None = None) -> ImageReport:
    """The report with its image and maps (and search figures when computed), re-analysed from
    the upload if the cache dropped it."""
    return next(iter(full_reports([item], files, settings, cache, search)))


def _cached_full(item: BatchItem, settings: Settings, cache: ResultCache,
                 search: SearchHandle | None) -> ImageReport | None:
    if item.error_report is not None:
        return item.error_report
    if search is not None:
        sk = search_key(item, settings, search)
        r = cache.get(sk, full=True) if sk is not None else None
        if r is not None:
            return _named(r, item.name)
    r = cache.get(item.key, full=True)
    return None if r is None else _named(r, item.name)


def full_reports(items: Sequence[BatchItem], files: Sequence[tuple[str, bytes]],
                 settings: Settings, cache: ResultCache,
                 search: SearchHandle | None = None) -> Iterator[ImageReport]:
    """:func:`full_report` of each item, in order, lazily. Items the full-report cache dropped
    are re-analysed from their uploads, and each uploaded zip is read once for all of its
    members (not from its first member again for every one: quadratic on a 2,000-photo zip)."""
    lost = failed("", {"code": "INTERNAL_ERROR",
                       "message": "the upload is no longer available; upload it again"})
    readers: dict[int, Iterator[UploadEntry]] = {}
    for item in items:
        r = _cached_full(item, settings, cache, search)
        if r is None:
            r = _reanalyse(item, files, settings, cache, readers) or replace(lost, file=item.name)
        sk = search_key(item, settings, search) if search is not None and not r.search else None
        if search is not None and sk is not None and cache.get(sk, full=False) is not None:
            # the simulation ran (its light copy is kept) but its full report was dropped from
            # the LRU: run it again on the full report (the same seed, the same figures), not
            # show the quality report alone as if no simulation existed (a new user's try: after
            # ~30 photos, earlier ones came back with "No search simulation for this photo")
            r = _named(enrich_cached(r, settings, search, cache), item.name)
        yield r


def _reanalyse(item: BatchItem, files: Sequence[tuple[str, bytes]], settings: Settings,
               cache: ResultCache, readers: dict[int, Iterator[UploadEntry]]) -> ImageReport | None:
    """Analyse ``item`` again, reading its upload forward from where the last item of the same
    upload stopped (items come in upload order)."""
    if item.source not in readers:
        name, data = files[item.source]
        readers[item.source] = iter_uploads([(name, data)], [])
    for entry in readers[item.source]:
        if entry.member == item.member and entry.data is not None:
            return analyze_entry(entry.data, item.name, settings, cache)
    return None


def enrich_items(items: Sequence[BatchItem], files: Sequence[tuple[str, bytes]],
                 settings: Settings, search: SearchHandle, cache: ResultCache,
                 progress: Progress | None = None) -> int:
    """Run the search simulation for the items that lack it; returns how many were run."""
    todo = [i for i in items if needs_search(i, settings, search, cache)]
    for n, (item, report) in enumerate(zip(todo, full_reports(todo, files, settings, cache),
                                           strict=True), 1):
        if progress is not None:
            progress((n - 1) / len(todo), f"Simulating shopper searches ({n} of {len(todo)}): "
                                          f"{item.name}")
        enrich_cached(report, settings, search, cache)
    if progress is not None and todo:
        progress(1.0, "Search simulation done")
    return len(todo)


def _named(r: ImageReport, name: str) -> ImageReport:
    from analyzer.ui.state import renamed

    return renamed(r, name)


def batch_id(batch: Batch) -> str:
    """A short id of a batch's content (its cache keys), for per-batch session state."""
    import hashlib

    h = hashlib.sha256()
    for it in batch.items:
        h.update(repr(it.key if it.key is not None else (it.name, "failed")).encode())
    return h.hexdigest()[:16]
