"""The dashboard's batch pipeline on synthetic photos (no ../shared needed): names that repeat,
zips read once, a store where every file is bad."""

from __future__ import annotations

import io

from corpus import _zip_bytes, product_photo

from analyzer.results import ImageReport
from analyzer.ui import pipeline
from analyzer.ui.state import ResultCache, Settings
from analyzer.ui.tables import audit_frame

SETTINGS = Settings(marketplace="amazon", use_model=False, catalog=None)


def _jpeg(seed: int, size: tuple[int, int] = (320, 320)) -> bytes:
    buf = io.BytesIO()
    product_photo(size, seed=seed).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_uploads_with_the_same_name_get_distinct_names() -> None:
    files = [("004.jpg", _jpeg(1)), ("004.jpg", _jpeg(2)), ("004.jpg", _jpeg(3)),
             ("004.jpg (2).jpg", _jpeg(4)), ("004.jpg", b"not an image")]
    b = pipeline.run_batch(files, SETTINGS, ResultCache())
    names = [i.name for i in b.items]
    assert names == ["004.jpg", "004.jpg (2)", "004.jpg (3)", "004.jpg (2).jpg", "004.jpg (4)"]
    assert b.items[-1].error_report is not None and b.items[-1].error_report.file == "004.jpg (4)"
    # the reports (picker, audit table) carry the distinct names too
    cache = ResultCache()
    b = pipeline.run_batch(files, SETTINGS, cache)
    assert [pipeline.light_report(i, cache).file for i in b.items] == names
    assert pipeline.full_report(b.items[2], files, SETTINGS, cache).file == "004.jpg (3)"


def test_full_reports_read_a_zip_once_for_all_its_evicted_members(monkeypatch) -> None:
    n = 6
    data = _zip_bytes({f"store/{k:03d}.jpg": _jpeg(k, (200, 200)) for k in range(n)})
    cache = ResultCache(max_full=1)  # every report but the last is evicted from the full LRU
    files = [("store.zip", data)]
    b = pipeline.run_batch(files, SETTINGS, cache)
    assert len(b.items) == n and all(i.key is not None for i in b.items)
    decoded: list[str] = []
    real = pipeline.iter_uploads

    def counting(files_, notes):  # type: ignore[no-untyped-def]
        for e in real(files_, notes):
            decoded.append(e.name)
            yield e

    monkeypatch.setattr(pipeline, "iter_uploads", counting)
    reports = list(pipeline.full_reports(b.items, files, SETTINGS, cache))
    assert [r.file for r in reports] == [i.name for i in b.items]
    assert all(r.ok and r.image is not None for r in reports)
    # one pass over the zip (n members), not 1 + 2 + ... + n = n(n+1)/2 member reads
    assert len(decoded) <= n, decoded


def test_store_where_every_file_failed_gives_a_table_not_a_crash() -> None:
    files = [("bomb.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), ("page.html", b"<html></html>"),
             ("empty.jpg", b"")]
    b = pipeline.run_batch(files, SETTINGS, ResultCache())
    reports: list[ImageReport] = [i.error_report for i in b.items]
    assert all(r is not None and not r.ok for r in reports)
    df = audit_frame(reports)
    assert list(df["status"]) == ["failed"] * 3
    assert "overall" not in df  # no scores at all: the column is dropped, not sorted on


class _Search:
    """A search context that marks what it enriched (the simulation itself is tested elsewhere)."""

    def __init__(self) -> None:
        self.calls = 0

    def enrich(self, report, marketplace=None):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        self.calls += 1
        report.search = {"median_rank": 3, "n_queries": 32}
        return SimpleNamespace(embedding=None, queries=[], what_if_image=None, timings={})


def test_a_photo_whose_full_report_was_dropped_keeps_its_search_simulation() -> None:
    """After more photos than the full-report LRU holds, an earlier photo's view must still
    show its search simulation (a new user's try: "No search simulation for this photo" for
    photos that had one), run again on the re-analysed report, not the quality report alone."""
    from analyzer.ui.state import SearchHandle

    ctx = _Search()
    search = SearchHandle("cat", ctx=ctx, catalog_id="cid")
    files = [(f"{k}.jpg", _jpeg(k, (200, 200))) for k in range(3)]
    cache = ResultCache(max_full=1)  # every full report but the last is dropped
    b = pipeline.run_batch(files, SETTINGS, cache)
    assert pipeline.enrich_items(b.items, files, SETTINGS, search, cache) == 3
    assert not any(pipeline.needs_search(i, SETTINGS, search, cache) for i in b.items)
    first = pipeline.full_report(b.items[0], files, SETTINGS, cache, search)
    assert first.ok and first.image is not None and first.file == "0.jpg"
    assert first.search == {"median_rank": 3, "n_queries": 32}
    assert ctx.calls == 4  # run again for the dropped one
    # the light copy (the audit table) has the figures too, and a cached full one is reused
    assert pipeline.light_report(b.items[0], cache, SETTINGS, search).search
    pipeline.full_report(b.items[0], files, SETTINGS, cache, search)
    assert ctx.calls == 4
