"""Store audit: sources, resumable runner, zip safety, duplicates, priority ranking.

Real photos (studio shots + amateur clothing photos: ../shared/data, or the copies shipped in
the repository, see conftest) plus a few broken files; one folder audit is shared by most
tests (module fixture) to keep the suite fast.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from analyzer.audit.runner import RESULTS_FILE, iter_results, run_audit
from analyzer.audit.sources import open_source
from analyzer.errors import ErrorCode, ListingLensError
from analyzer.quality.priority import expected_gain, rank_fix_first

CONTRACT_KEYS = {"file", "ok", "error", "width", "height", "format", "scores", "grade",
                 "metrics", "flags", "content_hash", "notes"}
BROKEN = {"empty.jpg": ErrorCode.EMPTY_FILE.value, "notes.jpg": ErrorCode.NOT_AN_IMAGE.value,
          "cut.jpg": ErrorCode.TRUNCATED_IMAGE.value}


def make_store(root: Path, luma: list[Path], clothing: list[Path], n_luma: int = 8,
               n_clothing: int = 6, broken: bool = True) -> list[str]:
    """A seller's folder: studio shots, amateur photos in a subfolder, broken files, a readme."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "phone").mkdir(exist_ok=True)
    for p in luma[:n_luma]:
        shutil.copy(p, root / p.name)
    for p in clothing[:n_clothing]:
        shutil.copy(p, root / "phone" / p.name)
    if broken:
        (root / "empty.jpg").write_bytes(b"")
        (root / "notes.jpg").write_text("price list: 12.99 EUR\n", encoding="utf-8")
        data = luma[0].read_bytes()
        (root / "cut.jpg").write_bytes(data[: len(data) // 3])
    (root / "readme.txt").write_text("not a photo", encoding="utf-8")
    return [p.relative_to(root).as_posix() for p in sorted(root.rglob("*.jpg"))]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, studio_photos: list[Path],
          amateur_photos: list[Path]) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("store") / "shop"
    names = make_store(root, studio_photos, amateur_photos)
    return root, names


@pytest.fixture(scope="module")
def audited(store: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory):
    root, _ = store
    out = tmp_path_factory.mktemp("audit") / "out"
    summary = run_audit(root, out, workers=1, progress=False)
    return summary, out


def test_folder_audit_writes_three_outputs_one_row_per_input(store, audited) -> None:
    root, names = store
    summary, out = audited
    results = list(iter_results(out / RESULTS_FILE))
    # One result per input image, in the source's order (readme.txt is not an input).
    assert [r["file"] for r in results] == [n for n in names]
    assert summary.total == len(names) == 17
    with open(out / "report.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == names
    from pypdf import PdfReader

    reader = PdfReader(out / "report.pdf")
    assert len(reader.pages) >= 2
    cover = reader.pages[0].extract_text()
    assert "17 images" in cover and "Fix these first" in cover
    assert (out / "audit.json").is_file()


def test_results_follow_the_analyze_contract(store, audited) -> None:
    root, _ = store
    _, out = audited
    for r in iter_results(out / RESULTS_FILE):
        assert set(r) >= CONTRACT_KEYS, r["file"]
        assert "product_id" in r and "title" in r
        if r["file"] in BROKEN:
            continue
        assert r["ok"], (r["file"], r["error"])
        assert r["content_hash"] == hashlib.sha256((root / r["file"]).read_bytes()).hexdigest()
        assert 0 <= r["scores"]["overall"] <= 100 and r["grade"] in "ABCDF"


def test_broken_files_are_recorded_and_the_audit_goes_on(audited) -> None:
    summary, out = audited
    failed = {r["file"]: r["error"]["code"] for r in iter_results(out / RESULTS_FILE)
              if not r["ok"]}
    assert failed == BROKEN
    assert summary.failed == 3 and summary.exit_code == 2
    assert {f["file"] for f in summary.failed_files} == set(BROKEN)
    assert [s["name"] for s in summary.skipped] == ["readme.txt"]
    # Thumbnails for the PDF are named by content hash, inside the output folder.
    thumbs = list((out / "thumbs").glob("*.jpg"))
    assert len(thumbs) == 14


def test_rerun_skips_everything_already_done(store, audited, tmp_path: Path) -> None:
    root, names = store
    _, out = audited
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    before = (copy / RESULTS_FILE).read_text(encoding="utf-8")
    again = run_audit(root, copy, workers=1, progress=False)
    assert again.analysed == 0
    assert again.resumed == 16  # every input but the empty file, which has no bytes to hash
    assert (copy / RESULTS_FILE).read_text(encoding="utf-8") == before


def test_resume_after_a_crash_does_only_the_missing_work(store, audited, tmp_path: Path) -> None:
    root, names = store
    _, out = audited
    crashed = tmp_path / "out"
    crashed.mkdir()
    lines = (out / RESULTS_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    kept = lines[:12]
    # The crash happened mid-write: half a line at the end.
    (crashed / RESULTS_FILE).write_text("".join(kept) + lines[12][:40], encoding="utf-8")
    done = sum(1 for ln in kept if json.loads(ln)["content_hash"])
    summary = run_audit(root, crashed, workers=1, progress=False)
    assert summary.resumed == done
    assert summary.analysed == 16 - done
    results = list(iter_results(crashed / RESULTS_FILE))
    assert [r["file"] for r in results] == names
    old = {r["file"]: r for r in iter_results(out / RESULTS_FILE)}
    for r in results:
        assert r["scores"] == old[r["file"]]["scores"]


def test_duplicate_photos_are_analysed_once(studio_photos, tmp_path: Path) -> None:
    root = tmp_path / "dups"
    root.mkdir()
    shutil.copy(studio_photos[0], root / "a.jpg")
    shutil.copy(studio_photos[0], root / "b.jpg")
    shutil.copy(studio_photos[1], root / "c.jpg")
    calls: list[tuple[int, int]] = []
    summary = run_audit(root, tmp_path / "out", workers=1, progress=False, reports=False,
                        on_progress=lambda done, total: calls.append((done, total)))
    assert summary.analysed == 2 and summary.duplicates == 1
    assert calls == [(1, 3), (2, 3), (3, 3)]
    results = list(iter_results(tmp_path / "out" / RESULTS_FILE))
    assert [r["file"] for r in results] == ["a.jpg", "b.jpg", "c.jpg"]
    assert results[0]["scores"] == results[1]["scores"]


def _hostile_zip(path: Path, photos: list[Path]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for p in photos:
            z.write(p, f"shop/{p.name}")
        z.writestr("../escape.jpg", photos[0].read_bytes())
        z.writestr("../../etc/evil.txt", "owned")
        z.writestr("/abs/path.jpg", photos[1].read_bytes())
        z.writestr("shop/price-list.pdf", b"%PDF-1.4 not an image")
        z.writestr("__MACOSX/shop/._x.jpg", b"junk")
        z.writestr("shop/broken.jpg", b"this is not a jpeg")


def test_zip_audit_is_safe_and_lists_skipped_members(studio_photos, amateur_photos,
                                                     tmp_path: Path) -> None:
    photos = studio_photos[:3] + amateur_photos[:2]
    zpath = tmp_path / "upload" / "store.zip"
    zpath.parent.mkdir()
    _hostile_zip(zpath, photos)
    out = tmp_path / "work" / "out"
    before = {p for p in tmp_path.rglob("*")}
    summary = run_audit(zpath, out, workers=1, progress=False)
    created = {p for p in tmp_path.rglob("*")} - before
    assert created and all(p == out or out in p.parents or p == out.parent for p in created)
    assert not (tmp_path / "escape.jpg").exists()
    assert not (tmp_path / "work" / "escape.jpg").exists()

    results = list(iter_results(out / RESULTS_FILE))
    by_name = {r["file"]: r for r in results}
    assert len(results) == 8  # 5 photos + 2 unsafe + 1 broken: one row per image member
    assert all(by_name[f"shop/{p.name}"]["ok"] for p in photos)
    assert by_name["escape.jpg"]["error"]["code"] == ErrorCode.UNSAFE_PATH.value
    assert by_name["abs/path.jpg"]["error"]["code"] == ErrorCode.UNSAFE_PATH.value
    assert by_name["shop/broken.jpg"]["error"]["code"] == ErrorCode.NOT_AN_IMAGE.value
    skipped = {s["name"] for s in summary.skipped}
    assert {"shop/price-list.pdf", "etc/evil.txt"} <= skipped
    assert summary.exit_code == 2


def test_csv_source_carries_product_ids_and_reports_missing_files(studio_photos,
                                                                  tmp_path: Path) -> None:
    imgs = tmp_path / "img"
    imgs.mkdir()
    for p in studio_photos[:2]:
        shutil.copy(p, imgs / p.name)
    listing = tmp_path / "listings.csv"
    with open(listing, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Product_ID", "Title", "Image"])
        w.writerow(["SKU-1", "Joust Duffle Bag", f"img/{studio_photos[0].name}"])
        w.writerow(["SKU-2", "=HYPERLINK(\"http://x\")", f"img/{studio_photos[1].name}"])
        w.writerow(["SKU-3", "Gone", "img/missing.jpg"])
    summary = run_audit(listing, tmp_path / "out", workers=1, progress=False)
    results = list(iter_results(tmp_path / "out" / RESULTS_FILE))
    assert [r["product_id"] for r in results] == ["SKU-1", "SKU-2", "SKU-3"]
    assert results[0]["title"] == "Joust Duffle Bag" and results[0]["ok"]
    assert results[2]["error"]["code"] == ErrorCode.FILE_NOT_FOUND.value
    assert summary.exit_code == 2


def test_csv_without_image_column_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,title\nA,B\n", encoding="utf-8")
    with pytest.raises(ListingLensError) as e:
        open_source(bad)
    assert e.value.code == ErrorCode.BAD_CSV
    assert "'image' column" in e.value.message and "sku" in e.value.message


def test_missing_source_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ListingLensError) as e:
        run_audit(tmp_path / "nope", tmp_path / "out", progress=False)
    assert e.value.code == ErrorCode.FILE_NOT_FOUND


@pytest.mark.slow
def test_worker_processes_give_the_same_results(store, audited, tmp_path: Path,
                                                studio_photos, amateur_photos) -> None:
    root = tmp_path / "small"
    make_store(root, studio_photos, amateur_photos, n_luma=3, n_clothing=2)
    summary = run_audit(root, tmp_path / "out", workers=2, progress=False, reports=False)
    assert summary.workers == 2 and summary.analysed == 7
    _, out = audited
    serial = {r["content_hash"]: r for r in iter_results(out / RESULTS_FILE)}
    for r in iter_results(tmp_path / "out" / RESULTS_FILE):
        if r["ok"]:
            same = serial[r["content_hash"]]
            assert r["scores"] == pytest.approx(same["scores"], abs=0.01)
            assert [f["code"] for f in r["flags"]] == [f["code"] for f in same["flags"]]


# ---- priority --------------------------------------------------------------------------------


def test_fix_first_ranks_by_expected_gain_not_by_low_score(audited) -> None:
    _, out = audited
    results = list(iter_results(out / RESULTS_FILE))
    ranked = rank_fix_first(results, n=10)
    gains = [g.points for _, g in ranked]
    assert gains == sorted(gains, reverse=True) and all(g >= 1.0 for g in gains)
    for r in results:
        g = expected_gain(r)
        if not r["ok"] or not r["flags"]:
            assert g.points == 0


def test_expected_gain_weights_errors_above_info() -> None:
    from analyzer.config import thresholds

    w = thresholds()["overall"]["weights"]
    base = {"ok": True, "grade": "B", "scores": {"overall": 75.0, **{c: 75.0 for c in w}}}
    err = {**base, "flags": [{"code": "BLURRY", "severity": "error", "message": "", "fix": "x"}]}
    info = {**base, "flags": [{"code": "OFF_CENTER", "severity": "info", "message": "",
                               "fix": "y"}]}
    low_but_minor = {**info, "scores": {**base["scores"], "overall": 60.0}, "grade": "C"}
    g_err, g_info = expected_gain(err), expected_gain(info)
    assert g_err.points > g_info.points > 0
    assert g_err.reasons[0]["code"] == "BLURRY"
    # The lower score with a minor issue is not ranked first.
    ranked = rank_fix_first([low_but_minor, err], n=2)
    assert ranked[0][0] is err



def test_fix_first_leaves_out_a_gain_under_a_point(monkeypatch) -> None:
    """A "+0" row under "Fix these first" (a twelfth new user's PDF) is not worth listing."""
    from analyzer.quality import priority

    gains = {"a": 0.4, "b": 1.0, "c": 7.5}
    monkeypatch.setattr(priority, "expected_gain", lambda r: priority.Gain(
        gains[r["file"]], "B", "A"))
    rs = [{"file": f, "ok": True, "scores": {"overall": 80.0}} for f in gains]
    assert [r["file"] for r, _ in priority.rank_fix_first(rs, n=5)] == ["c", "b"]


@pytest.mark.slow
def test_audit_with_a_catalog_adds_search_figures(studio_photos, tmp_path: Path) -> None:
    """A tiny real catalog (6 luma products); two listings audited against it."""
    from analyzer.report.csv import COLUMNS
    from analyzer.search.catalog import build_catalog

    cat_src = tmp_path / "catalog_src"
    cat_src.mkdir()
    for p in studio_photos[40:46]:
        shutil.copy(p, cat_src / p.name)
    build_catalog(cat_src, tmp_path / "catalog", progress=False)
    shop = tmp_path / "shop"
    shop.mkdir()
    shutil.copy(studio_photos[40], shop / "same-as-catalog.jpg")  # a near-duplicate
    shutil.copy(studio_photos[50], shop / "new-product.jpg")
    out = tmp_path / "out"
    summary = run_audit(shop, out, workers=1, progress=False, catalog=tmp_path / "catalog")
    assert summary.exit_code == 0
    results = {r["file"]: r for r in iter_results(out / RESULTS_FILE)}
    for r in results.values():
        assert r["ok"] and "search" in r["scores"] and "differentiation" in r["scores"]
        assert r["search"]["median_rank"] >= 1
        assert r["differentiation"]["nearest"]
    dup = results["same-as-catalog.jpg"]
    assert any(f["code"] == "NEAR_DUPLICATE" for f in dup["flags"])
    with open(out / "report.csv", encoding="utf-8-sig", newline="") as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    assert list(rows["new-product.jpg"]) == list(COLUMNS)
    assert float(rows["new-product.jpg"]["search_rank"]) >= 1
    assert rows["same-as-catalog.jpg"]["near_duplicates"] not in ("", "0")
    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)
    assert "Search by photo" in text
