"""The reference catalog: product photos, their embeddings and metadata, on disk.

On-disk format (``format_version`` 1). A catalog is a folder of plain, documented files that any
tool can read (pandas/pyarrow for the tables, NumPy for the vectors)::

    CATALOG/
      manifest.json              what the catalog is (below); written last: the commit point
      meta/part-00000.parquet    one row per image, row order = embedding row order
      embeddings/part-00000.npy  (rows, dim) float16 or float32, rows L2-normalised;
                                 memory-mappable with np.load(path, mmap_mode="r")
      thumbs/00000000.jpg        <= 256 px JPEG per image, named by item_id (for the gallery)
      images/...                 optional copies of the images (the shipped demo catalog)
      index/                     optional ANN index: index.json (kind, ntotal, parameters)
                                 and the index's own files

``manifest.json``::

    {"format_version": 1,
     "embedder_id": "builtin:effnet-lite0-imagenet:...:v2",   # model + weights + preprocessing
     "embedder_spec": "builtin",                               # how to get that embedder back
     "dim": 1308, "count": 733, "dtype": "float16",
     "created": "2026-11-25T08:30:00+00:00", "updated": "...",
     "library_version": "0.1.0",
     "shards": [{"name": "part-00000", "rows": 733, "first_item_id": 0}],
     "index": {"kind": "ivf_sq8", "ntotal": 1000000} | null}

Shard ``i`` holds items ``first_item_id .. first_item_id + rows - 1``; ``item_id`` is the global
row number (shards in manifest order). Meta columns: ``item_id`` (int64), ``product_id``,
``image`` (path relative to the catalog folder when the image is inside it, else as given),
``title``, ``category``, ``thumb`` (relative path), ``phash`` (64-bit perceptual hash, hex),
``content_hash`` (sha256 of the file), ``width``, ``height`` (original pixels); in a catalog
built from image URLs also ``source_url`` (the image, fetched into ``images/url/``).

Adding images writes a new shard and rewrites the manifest (atomically); the existing shards are
never re-embedded. A catalog only answers queries embedded by the embedder named in its manifest
(``CATALOG_MISMATCH`` otherwise).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.errors import ErrorCode, ListingLensError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
THUMB_SIDE = 256
SHARD_ROWS = 100_000
META_COLUMNS = ("item_id", "product_id", "image", "title", "category", "thumb", "phash",
                "content_hash", "width", "height")
DEMO_CATALOG = Path(__file__).resolve().parents[2] / "assets" / "demo_catalog"


@dataclass
class BuildResult:
    catalog: Path
    items: int
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"catalog": str(self.catalog), "items": self.items, "skipped": self.skipped}


@dataclass
class SourceItem:
    """One image to put in the catalog, with its listing metadata."""

    path: Path
    product_id: str
    title: str = ""
    category: str = ""
    url: str = ""      # an http(s) image: fetched into the catalog before embedding


# ------------------------------------------------------------------ reading a source


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


# ------------------------------------------------------------------ the catalog


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Catalog:
    """An opened catalog folder (see the module docstring for the format)."""

    root: Path
    manifest: dict
    meta: pd.DataFrame

    @classmethod
    def open(cls, root: str | Path) -> Catalog:
        root = Path(root).expanduser()
        mpath = root / MANIFEST
        if not mpath.is_file():
            raise ListingLensError(ErrorCode.CATALOG_NOT_FOUND,
                                   f"no catalog at {root} (manifest.json is missing); build one "
                                   "with `listing-lens catalog build`")
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ListingLensError(ErrorCode.CATALOG_MISMATCH,
                                   f"{mpath} is unreadable ({e})") from e
        fv = manifest.get("format_version")
        if fv != FORMAT_VERSION:
            raise ListingLensError(
                ErrorCode.CATALOG_MISMATCH,
                f"catalog format version {fv} is not supported (this version reads "
                f"{FORMAT_VERSION}); rebuild the catalog")
        for key in ("embedder_id", "dim", "count", "shards"):
            if key not in manifest:
                raise ListingLensError(ErrorCode.CATALOG_MISMATCH,
                                       f"{mpath} lacks '{key}'; rebuild the catalog")
        parts = []
        for sh in manifest["shards"]:
            p = root / "meta" / f"{sh['name']}.parquet"
            if not p.is_file():
                raise ListingLensError(ErrorCode.CATALOG_NOT_FOUND,
                                       f"catalog shard {p} is missing")
            parts.append(pd.read_parquet(p))
        meta = (pd.concat(parts, ignore_index=True) if parts
                else pd.DataFrame({c: pd.Series(dtype=object) for c in META_COLUMNS}))
        if len(meta) != int(manifest["count"]):
            raise ListingLensError(
                ErrorCode.CATALOG_MISMATCH,
                f"catalog manifest says {manifest['count']} items but its metadata has "
                f"{len(meta)}; rebuild the catalog")
        meta["item_id"] = meta["item_id"].astype(np.int64)
        return cls(root=root, manifest=manifest, meta=meta)

    # -- vectors

    @property
    def embedder_id(self) -> str:
        return str(self.manifest["embedder_id"])

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    def __len__(self) -> int:
        return int(self.manifest["count"])

    def shard_paths(self) -> list[Path]:
        return [self.root / "embeddings" / f"{sh['name']}.npy" for sh in self.manifest["shards"]]

    @cached_property
    def shards(self) -> list[np.ndarray]:
        """The embedding shards as read-only memory maps (float16 or float32)."""
        out = []
        for sh, p in zip(self.manifest["shards"], self.shard_paths(), strict=True):
            if not p.is_file():
                raise ListingLensError(ErrorCode.CATALOG_NOT_FOUND,
                                       f"catalog embeddings {p} are missing")
            arr = np.load(p, mmap_mode="r")
            if arr.ndim != 2 or arr.shape != (int(sh["rows"]), self.dim):
                raise ListingLensError(
                    ErrorCode.CATALOG_MISMATCH,
                    f"{p.name} has shape {arr.shape}, the manifest says "
                    f"({sh['rows']}, {self.dim}); rebuild the catalog")
            out.append(arr)
        return out

    @property
    def embeddings(self) -> np.ndarray:
        """(N, dim) float32 (converted from the stored float16)."""
        if not self.shards:
            return np.zeros((0, self.dim), np.float32)
        return np.concatenate([np.asarray(s, dtype=np.float32) for s in self.shards])

    @cached_property
    def index(self):  # type: ignore[no-untyped-def]
        from analyzer.search.vector_index import load_index

        return load_index(self.root / "index", self.shards)

    def embedder(self, device: str = "auto", spec: str | None = None):  # type: ignore[no-untyped-def]
        """The embedder that built this catalog (or ``spec``, if it is that same embedder)."""
        from analyzer.embed import get_embedder

        if spec is None and self.embedder_id.startswith("builtin:"):
            # The built-in id names its whole recipe: a catalog built with an earlier default
            # keeps working with that recipe after the default changes.
            try:
                emb = get_embedder(self.embedder_id, device)
            except ListingLensError:
                pass  # not a recipe this version knows: the manifest's spec decides below
            else:
                self.check_embedder(emb)
                return emb
        emb = get_embedder(spec or self.manifest.get("embedder_spec") or "builtin", device)
        self.check_embedder(emb)
        return emb

    def check_embedder(self, emb) -> None:  # type: ignore[no-untyped-def]
        if emb.id != self.embedder_id or int(emb.dim) != self.dim:
            raise ListingLensError(
                ErrorCode.CATALOG_MISMATCH,
                f"this catalog was built with embedder '{self.embedder_id}' (dim {self.dim}); "
                f"'{emb.id}' (dim {emb.dim}) vectors cannot be compared with it. Use the same "
                "embedder or rebuild the catalog")

    def _check_queries(self, queries: np.ndarray) -> np.ndarray:
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if q.shape[1] != self.dim:
            raise ListingLensError(
                ErrorCode.CATALOG_MISMATCH,
                f"query vectors have dimension {q.shape[1]}, the catalog {self.dim} "
                f"(embedder '{self.embedder_id}')")
        return q

    # -- search

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Image-level top-k: (sims (q, k) float32 cosine, item ids (q, k) int64), best first;
        exact search or the ANN index, whichever the catalog has."""
        q = self._check_queries(queries)
        return self.index.search(q, int(k))

    @cached_property
    def _product_codes(self) -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(self.meta["product_id"].astype(str), sort=False)
        return codes.astype(np.int64), np.asarray(uniques)

    def search_products(self, queries: np.ndarray, k: int,
                        category: str | None = None) -> list[list[dict]]:
        """Product-level top-k per query: one row per product, at its best-matching image.

        Row dicts: rank (1-based), product_id, image, title, category, similarity, item_id.
        ``category`` limits the results to that category (exact match).
        """
        q = self._check_queries(queries)
        codes, _ = self._product_codes
        allowed = None
        if category is not None:
            allowed = (self.meta["category"].astype(str) == category).to_numpy()
        out: list[list[dict]] = []
        n = len(self)
        if n == 0:
            return [[] for _ in range(len(q))]
        if self.index.kind == "exact":
            sims_all = self._exact_all(q)
            for r in range(len(q)):
                out.append(self._products_from_scores(sims_all[r], codes, allowed, k))
            return out
        for r in range(len(q)):
            out.append(self._products_ann(q[r:r + 1], codes, allowed, k))
        return out

    def _exact_all(self, q: np.ndarray) -> np.ndarray:
        from analyzer.search.scoring import exact_scores

        return exact_scores(q, self.index.shards)

    def _products_from_scores(self, sims: np.ndarray, codes: np.ndarray,
                              allowed: np.ndarray | None, k: int) -> list[dict]:
        s = sims if allowed is None else np.where(allowed, sims, -np.inf)
        nprod = int(codes.max()) + 1
        best = np.full(nprod, -np.inf, np.float32)
        np.maximum.at(best, codes, s)
        # The item that achieves each product's best similarity (first one on ties).
        is_best = s >= best[codes]
        order = np.lexsort((np.arange(len(s)), -s))
        chosen: dict[int, int] = {}
        for i in order:
            if not np.isfinite(s[i]):
                break
            c = int(codes[i])
            if c not in chosen and is_best[i]:
                chosen[c] = int(i)
                if len(chosen) >= k:
                    break
        return [self._row(rank, item, float(s[item]))
                for rank, item in enumerate(chosen.values(), start=1)]

    def _products_ann(self, q: np.ndarray, codes: np.ndarray, allowed: np.ndarray | None,
                      k: int) -> list[dict]:
        want = max(4 * k, 32)
        n = len(self)
        while True:
            sims, ids = self.index.search(q, min(want, n))
            chosen: dict[int, tuple[int, float]] = {}
            for s, i in zip(sims[0], ids[0], strict=True):
                if i < 0 or (allowed is not None and not allowed[i]):
                    continue
                c = int(codes[i])
                if c not in chosen:
                    chosen[c] = (int(i), float(s))
                    if len(chosen) >= k:
                        break
            if len(chosen) >= k or want >= n:
                break
            want *= 4
        return [self._row(rank, item, s) for rank, (item, s) in
                enumerate(chosen.values(), start=1)]

    @cached_property
    def _records(self) -> dict[str, np.ndarray]:
        """Result columns as plain arrays: per-row pandas access costs ~0.1 ms a call."""
        return {c: self.meta[c].astype(str).to_numpy()
                for c in ("product_id", "image", "title", "category")}

    def _row(self, rank: int, item_id: int, sim: float) -> dict:
        m = {c: v[item_id] for c, v in self._records.items()}
        return {"rank": rank, "product_id": str(m["product_id"]), "image": str(m["image"]),
                "title": str(m["title"]), "category": str(m["category"]),
                "similarity": round(min(1.0, max(-1.0, float(sim))), 6), "item_id": int(item_id)}

    # -- files

    def thumbnail_path(self, item_id: int) -> Path:
        return self.root / str(self.meta.iloc[int(item_id)]["thumb"])

    def image_path(self, item_id: int) -> Path:
        """The image file of an item (relative paths are relative to the catalog folder)."""
        p = Path(str(self.meta.iloc[int(item_id)]["image"]))
        return p if p.is_absolute() else self.root / p


# ------------------------------------------------------------------ building


def _thumbnail(rgb: np.ndarray, path: Path) -> None:
    from PIL import Image

    im = Image.fromarray(rgb)
    im.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    im.save(path, "JPEG", quality=82, optimize=True)


def _phash(rgb: np.ndarray) -> str:
    import imagehash
    from PIL import Image

    return str(imagehash.phash(Image.fromarray(rgb)))


def _image_ref(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _embed_items(items: list[SourceItem], emb, root: Path, first_item_id: int,  # type: ignore[no-untyped-def]
                 batch_size: int, progress: bool, skipped: list[dict]) \
        -> tuple[pd.DataFrame, np.ndarray]:
    """Load, embed and thumbnail ``items``; unreadable ones go to ``skipped``."""
    from tqdm import tqdm

    from analyzer.io.loader import load_image

    (root / "thumbs").mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    vecs: list[np.ndarray] = []
    bar = tqdm(total=len(items), desc="embedding", unit="img", file=sys.stderr,
               disable=not progress, leave=False)
    batch: list[tuple[SourceItem, Any]] = []

    def flush() -> None:
        if not batch:
            return
        v = emb.embed([b[1].rgb for b in batch], batch_size=batch_size)
        for (it, img), vec in zip(batch, v, strict=True):
            item_id = first_item_id + len(rows)
            thumb = Path("thumbs") / f"{item_id:08d}.jpg"
            _thumbnail(img.rgb, root / thumb)
            rows.append({"item_id": item_id, "product_id": it.product_id,
                         "image": _image_ref(it.path, root), "title": it.title,
                         "category": it.category, "thumb": thumb.as_posix(),
                         "phash": _phash(img.rgb), "content_hash": img.content_hash,
                         "width": int(img.width), "height": int(img.height),
                         "source_url": it.url})
            vecs.append(vec)
        bar.update(len(batch))
        batch.clear()

    for it in items:
        try:
            img = load_image(it.path, name=str(it.path))
        except ListingLensError as e:
            skipped.append({"file": it.url or str(it.path), "code": e.code.value,
                            "message": e.message})
            bar.update(1)
            continue
        batch.append((it, img))
        if len(batch) >= batch_size:
            flush()
    flush()
    bar.close()
    # ``source_url`` (where a fetched image came from) only in catalogs built from URLs.
    cols = list(META_COLUMNS) + (["source_url"] if any(it.url for it in items) else [])
    meta = pd.DataFrame(rows, columns=cols)
    dim = int(emb.dim)
    return meta, (np.stack(vecs) if vecs else np.zeros((0, dim), np.float32))


def _write_shards(root: Path, manifest: dict, meta: pd.DataFrame, vecs: np.ndarray,
                  dtype: str) -> None:
    """Append ``meta``/``vecs`` as new shards (at most SHARD_ROWS rows each) to ``manifest``."""
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "embeddings").mkdir(parents=True, exist_ok=True)
    for s in range(0, len(meta), SHARD_ROWS):
        name = f"part-{len(manifest['shards']):05d}"
        m = meta.iloc[s:s + SHARD_ROWS].reset_index(drop=True)
        m.to_parquet(root / "meta" / f"{name}.parquet", index=False)
        np.save(root / "embeddings" / f"{name}.npy", vecs[s:s + SHARD_ROWS].astype(dtype))
        manifest["shards"].append({"name": name, "rows": int(len(m)),
                                   "first_item_id": int(m["item_id"].iloc[0])})
        manifest["count"] = int(manifest["count"]) + len(m)


def _maybe_build_index(root: Path, manifest: dict, progress: bool) -> None:
    """(Re)build the ANN index once the catalog is large enough for it to beat exact search."""
    import shutil

    from analyzer.search.vector_index import choose_kind, index_class

    cat = Catalog(root=root, manifest=manifest, meta=pd.DataFrame())
    kind = choose_kind(int(manifest["count"]))
    index_dir = root / "index"
    if kind == "exact":
        if index_dir.exists():
            shutil.rmtree(index_dir)
        manifest["index"] = None
        return
    old = manifest.get("index") or {}
    if old.get("kind") == kind and hasattr(index_class(kind), "extend"):
        # The on-disk index encodes only the added rows with its trained quantiser: no rebuild.
        existing = index_class(kind).load(index_dir, cat.shards)
        existing.extend(cat.shards)
        existing.save(index_dir)
        manifest["index"] = {"kind": kind, "ntotal": existing.ntotal}
        return
    if progress:
        print(f"building the {kind} index over {manifest['count']} vectors...", file=sys.stderr)
    idx = index_class(kind).build(cat.shards)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    idx.save(index_dir)
    manifest["index"] = {"kind": idx.kind, "ntotal": idx.ntotal}


def build_catalog(source: str | Path, out: str | Path, embedder: str = "builtin",
                  progress: bool = True, device: str = "auto", batch_size: int = 16,
                  overwrite: bool = False, dtype: str = "float16",
                  items: Iterable[SourceItem] | None = None,
                  allow_download: bool = False, download_cache: str | Path | None = None,
                  download_config: Any = None) -> BuildResult:
    """Build a catalog at ``out`` from a folder of images or a CSV (see :func:`read_source`).

    ``items`` may be given instead of reading ``source`` (e.g. the demo catalog script).
    Unreadable images are skipped and listed in the result. Refuses to overwrite an existing
    catalog unless ``overwrite``. Image URLs are fetched first (:func:`fetch_urls`;
    ``download_cache``: a shared cache folder instead of the catalog's own ``images/url``).
    """
    import shutil

    from analyzer import __version__
    from analyzer.embed import get_embedder

    root = Path(out).expanduser()
    todo = list(items) if items is not None else read_source(source)
    if (root / MANIFEST).exists():
        if not overwrite:
            raise ListingLensError(
                ErrorCode.CATALOG_MISMATCH,
                f"{root} already holds a catalog; use `listing-lens catalog add` to add images, "
                "or --overwrite to rebuild it")
        for sub in ("meta", "embeddings", "thumbs", "index"):
            shutil.rmtree(root / sub, ignore_errors=True)
        (root / MANIFEST).unlink()
    if not todo:
        raise ListingLensError(ErrorCode.FILE_NOT_FOUND, f"no images found in {source}")
    if dtype not in ("float16", "float32"):
        raise ValueError("dtype must be float16 or float32")
    emb = get_embedder(embedder, device, allow_download=allow_download)
    root.mkdir(parents=True, exist_ok=True)
    skipped: list[dict] = []
    todo = fetch_urls(todo, root, skipped, download_cache, progress, download_config)
    meta, vecs = _embed_items(todo, emb, root, 0, batch_size, progress, skipped)
    now = _now()
    manifest = {"format_version": FORMAT_VERSION, "embedder_id": emb.id,
                "embedder_spec": embedder, "dim": int(emb.dim), "count": 0, "dtype": dtype,
                "created": now, "updated": now, "library_version": __version__,
                "shards": [], "index": None}
    _write_shards(root, manifest, meta, vecs, dtype)
    _maybe_build_index(root, manifest, progress)
    _write_json_atomic(root / MANIFEST, manifest)
    return BuildResult(catalog=root, items=int(manifest["count"]), skipped=skipped)


def add_to_catalog(root: str | Path, source: str | Path, progress: bool = True,
                   device: str = "auto", batch_size: int = 16,
                   items: Iterable[SourceItem] | None = None,
                   download_cache: str | Path | None = None,
                   download_config: Any = None) -> BuildResult:
    """Embed only the images of ``source`` and append them to the catalog as a new shard
    (image URLs are fetched first, see :func:`fetch_urls`)."""
    from analyzer import __version__

    cat = Catalog.open(root)
    todo = list(items) if items is not None else read_source(source)
    emb = cat.embedder(device)
    skipped: list[dict] = []
    todo = fetch_urls(todo, cat.root, skipped, download_cache, progress, download_config)
    meta, vecs = _embed_items(todo, emb, cat.root, len(cat), batch_size, progress, skipped)
    manifest = dict(cat.manifest)
    manifest["shards"] = list(manifest["shards"])
    if len(meta):
        _write_shards(cat.root, manifest, meta, vecs, str(manifest.get("dtype", "float16")))
        manifest["updated"] = _now()
        manifest["library_version"] = __version__
        _maybe_build_index(cat.root, manifest, progress)
        _write_json_atomic(cat.root / MANIFEST, manifest)
    return BuildResult(catalog=cat.root, items=int(manifest["count"]), skipped=skipped)
