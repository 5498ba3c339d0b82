"""The catalog's sources: reading a folder of images, a CSV or image URLs into items to embed.

:func:`read_source` turns a folder or a CSV into :class:`SourceItem` rows (``image``,
``product_id``, ``title``, ``category``); :func:`fetch_urls` downloads the items that are
http(s) URLs into the catalog folder first. The on-disk catalog these items are written to is
:mod:`analyzer.search.catalog` (the store).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.errors import ErrorCode, ListingLensError


@dataclass
class SourceItem:
    """One image to put in the catalog, with its listing metadata."""

    path: Path
    product_id: str
    title: str = ""
    category: str = ""
    url: str = ""      # an http(s) image: fetched into the catalog before embedding


def _read_csv_source(csv_path: Path) -> list[SourceItem]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            cols = [c.strip().lower() for c in (reader.fieldnames or [])]
            if "image" not in cols:
                raise ListingLensError(
                    ErrorCode.BAD_CSV,
                    f"{csv_path.name} needs an 'image' column (and optionally product_id, title, "
                    f"category); found: {', '.join(cols) or 'no header'}")
            rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
                    for r in reader]
    except UnicodeDecodeError as e:
        raise ListingLensError(ErrorCode.BAD_CSV, f"{csv_path.name} is not UTF-8 text") from e
    except csv.Error as e:
        raise ListingLensError(ErrorCode.BAD_CSV, f"{csv_path.name} is not valid CSV ({e})") from e
    from analyzer.io.download import is_url

    items = []
    for r in rows:
        if not r.get("image"):
            continue
        if is_url(r["image"]):
            url = r["image"]
            stem = Path(url.split("?")[0].rstrip("/")).stem or "image"
            items.append(SourceItem(path=Path(), url=url, product_id=r.get("product_id") or stem,
                                    title=r.get("title", ""), category=r.get("category", "")))
            continue
        p = Path(r["image"]).expanduser()
        if not p.is_absolute():
            p = csv_path.parent / p
        items.append(SourceItem(path=p, product_id=r.get("product_id") or Path(r["image"]).stem,
                                title=r.get("title", ""), category=r.get("category", "")))
    return items


def read_source(source: str | Path) -> list[SourceItem]:
    """Items of a folder of images or of a CSV (``image,product_id,title,category``; ``image``
    is a path, relative to the CSV or absolute, or an http(s) URL: see :func:`fetch_urls`).

    In a folder, an image directly inside is its own product (``product_id`` = file name without
    extension); images in a sub-folder are views of one product named by that sub-folder.
    """
    from analyzer.io.loader import iter_image_paths

    src = Path(source).expanduser()
    if not src.exists():
        raise ListingLensError(ErrorCode.FILE_NOT_FOUND, f"catalog source not found: {source}")
    if src.is_file():
        if src.suffix.lower() != ".csv":
            raise ListingLensError(ErrorCode.BAD_CSV,
                                   f"{src.name}: the source must be a folder of images or a CSV")
        return _read_csv_source(src)
    items = []
    for p in iter_image_paths([src]):
        rel = p.relative_to(src)
        pid = rel.parent.as_posix() if rel.parent != Path(".") else rel.stem
        items.append(SourceItem(path=p, product_id=pid, title=rel.stem, category=""))
    return items


URL_IMAGES = Path("images") / "url"   # where a catalog keeps the images it fetched


def fetch_urls(items: list[SourceItem], root: Path, skipped: list[dict],
               cache_dir: str | Path | None = None, progress: bool = False,
               config: Any = None) -> list[SourceItem]:
    """Download the items that are URLs into ``cache_dir`` (default ``root/images/url``, so the
    catalog keeps its images and a stopped build resumes) and point them at the files; the
    URLs that fail go to ``skipped`` (``file`` = the URL, ``code`` DOWNLOAD_FAILED,
    NOT_AN_IMAGE or FILE_TOO_LARGE) and are left out. Items that are files pass unchanged."""
    from tqdm import tqdm

    from analyzer.io.download import DownloadConfig, download_all

    urls = [it.url for it in items if it.url]
    if not urls:
        return items
    cache = Path(cache_dir).expanduser() if cache_dir else root / URL_IMAGES
    bar = tqdm(total=len(set(urls)), desc="downloading", unit="img", file=sys.stderr,
               disable=not progress, leave=False)
    got = download_all(urls, cache, config or DownloadConfig.default(),
                       progress=lambda _d: bar.update(1))
    bar.close()
    out: list[SourceItem] = []
    reported: set[str] = set()
    for it in items:
        if not it.url:
            out.append(it)
            continue
        d = got[it.url.strip()]
        if d.path is None:
            if it.url not in reported:
                reported.add(it.url)
                err = d.error
                skipped.append({"file": it.url, "code": err.code.value if err else
                                "DOWNLOAD_FAILED", "message": err.message if err else "failed"})
            continue
        out.append(SourceItem(path=d.path, product_id=it.product_id, title=it.title,
                              category=it.category, url=it.url))
    return out
