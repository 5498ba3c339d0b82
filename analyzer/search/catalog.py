"""The reference catalog's store: product photos, their embeddings and metadata, on disk.

What goes in is read by :mod:`analyzer.search.catalog_source` (a folder, a CSV, image URLs);
this module owns the store: opening it (:meth:`Catalog.open`), searching it, and writing it
(:func:`build_catalog`, :func:`add_to_catalog`, and the public writing steps the Ray build in
:mod:`analyzer.scale.ray_build` shares: :func:`new_manifest`, :func:`thumbnail`, :func:`phash`,
:func:`image_ref`, :func:`write_shards`, :func:`commit_manifest`, :func:`write_json_atomic`).

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

import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from analyzer.errors import ErrorCode, ListingLensError
from analyzer.search.catalog_source import SourceItem, fetch_urls, read_source

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


# ------------------------------------------------------------------ the catalog


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename: a reader sees
    the old file or the new one, never half of one (the manifest is the commit point)."""
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


def thumbnail(rgb: np.ndarray, dest: Path | IO[bytes]) -> None:
    """The catalog's thumbnail of an image (<= THUMB_SIDE px JPEG), to a path or a file object."""
    from PIL import Image

    im = Image.fromarray(rgb)
    im.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    im.save(dest, "JPEG", quality=82, optimize=True)


def phash(rgb: np.ndarray) -> str:
    """The 64-bit perceptual hash of an image, hex (the ``phash`` meta column)."""
    import imagehash
    from PIL import Image

    return str(imagehash.phash(Image.fromarray(rgb)))


def image_ref(path: Path, root: Path) -> str:
    """The ``image`` meta column: relative to the catalog folder when inside it, else as given."""
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
            thumbnail(img.rgb, root / thumb)
            rows.append({"item_id": item_id, "product_id": it.product_id,
                         "image": image_ref(it.path, root), "title": it.title,
                         "category": it.category, "thumb": thumb.as_posix(),
                         "phash": phash(img.rgb), "content_hash": img.content_hash,
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


def write_shards(root: Path, manifest: dict, meta: pd.DataFrame, vecs: np.ndarray,
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


def new_manifest(embedder_id: str, embedder_spec: str, dim: int, dtype: str) -> dict:
    """The manifest of an empty catalog (no shards yet), created now by this library version."""
    from analyzer import __version__

    now = _now()
    return {"format_version": FORMAT_VERSION, "embedder_id": embedder_id,
            "embedder_spec": embedder_spec, "dim": int(dim), "count": 0, "dtype": dtype,
            "created": now, "updated": now, "library_version": __version__,
            "shards": [], "index": None}


def commit_manifest(root: Path, manifest: dict, progress: bool, touch: bool = True) -> None:
    """Finish a build or an add: (re)build the ANN index when the catalog is large enough for it
    (extending an on-disk one), then write the manifest, the commit point. ``touch`` stamps
    ``updated`` first (a fresh build's manifest already carries its creation time)."""
    if touch:
        manifest["updated"] = _now()
    _maybe_build_index(root, manifest, progress)
    write_json_atomic(root / MANIFEST, manifest)


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
    elif root.is_dir() and not overwrite and (others := sorted(p.name for p in root.iterdir())):
        # a folder of the seller's own (their photos): the catalog's thumbnails and shards
        # would land among them, and the next `analyze` of the folder would grade those too
        raise ListingLensError(
            ErrorCode.OUTPUT_EXISTS,
            f"{root} already holds {len(others)} other "
            f"{'entry' if len(others) == 1 else 'entries'} ({', '.join(others[:3])}"
            f"{', ...' if len(others) > 3 else ''}) and is not a catalog; a catalog writes "
            "manifest.json, embeddings/, meta/ and thumbs/ into its folder: give --out a new or "
            "empty folder (or --overwrite to build there anyway)")
    if not todo:
        raise ListingLensError(ErrorCode.FILE_NOT_FOUND, f"no images found in {source}")
    if dtype not in ("float16", "float32"):
        raise ValueError("dtype must be float16 or float32")
    emb = get_embedder(embedder, device, allow_download=allow_download)
    root.mkdir(parents=True, exist_ok=True)
    skipped: list[dict] = []
    todo = fetch_urls(todo, root, skipped, download_cache, progress, download_config)
    meta, vecs = _embed_items(todo, emb, root, 0, batch_size, progress, skipped)
    manifest = new_manifest(emb.id, embedder, int(emb.dim), dtype)
    write_shards(root, manifest, meta, vecs, dtype)
    commit_manifest(root, manifest, progress, touch=False)
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
        write_shards(cat.root, manifest, meta, vecs, str(manifest.get("dtype", "float16")))
        manifest["library_version"] = __version__
        commit_manifest(cat.root, manifest, progress)
    return BuildResult(catalog=cat.root, items=int(manifest["count"]), skipped=skipped)
