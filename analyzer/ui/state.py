"""What the dashboard loads once per process, and the per-image result cache.

Streamlit re-runs ``app.py`` top to bottom on every click. Models, the catalog and its 2-D map are
loaded once per process (``st.cache_resource``); each analysis is cached under
(content hash, marketplace, mask setting, catalog), so a re-run, a second upload of the same photo
or a renamed copy costs nothing. The full report (with the working image and the overlay maps,
a few MB each) is kept for the most recent images only; a light copy (scores and flags) is kept
for every image the store audit needs.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.engine import analyze_and_enrich, enrich_report, error_report
from analyzer.errors import ErrorCode, ListingLensError
from analyzer.io.thumbnail import thumbnail_jpeg
from analyzer.results import ImageReport

log = logging.getLogger(__name__)

DEMO = "demo"


@dataclass(frozen=True)
class Settings:
    marketplace: str
    use_model: bool = True
    catalog: str | None = DEMO  # DEMO, a folder path, or None for no search simulation
    title: str = ""  # the product title typed in the sidebar (a set or kit is one product)
    cover_art: bool = False  # the photos are cover art, edge to edge (the sidebar's checkbox)

    def key(self, content_hash: str, catalog_id: str
            ) -> tuple[str, str, bool, str, str, bool]:
        return (content_hash, self.marketplace, self.use_model, catalog_id, self.title,
                self.cover_art)


class ResultCache:
    """An LRU of full reports (``max_full``) plus light copies of every report (``max_light``)."""

    def __init__(self, max_full: int = 32, max_light: int = 20000) -> None:
        self.max_full = max_full
        self.max_light = max_light
        self._full: OrderedDict[Any, ImageReport] = OrderedDict()
        self._light: OrderedDict[Any, ImageReport] = OrderedDict()
        self.thumbs: dict[str, bytes] = {}  # content hash -> small JPEG (table, PDF)
        # cache key -> search-simulation images (what-if photo, a few shopper photos)
        self.extras: OrderedDict[Any, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._light)

    def get(self, key: Any, full: bool = True) -> ImageReport | None:
        with self._lock:
            store = self._full if full else self._light
            r = store.get(key)
            if r is None:
                self.misses += 1
                return None
            store.move_to_end(key)
            self.hits += 1
            return r

    def put(self, key: Any, report: ImageReport) -> None:
        with self._lock:
            if report.image is not None:
                self._full[key] = report
                self._full.move_to_end(key)
                while len(self._full) > self.max_full:
                    self._full.popitem(last=False)
            self._light[key] = report.light()
            if report.image is not None and report.content_hash not in self.thumbs:
                self.thumbs[report.content_hash] = thumbnail_jpeg(report.image.rgb)
            self._light.move_to_end(key)
            while len(self._light) > self.max_light:
                old_key, old = self._light.popitem(last=False)
                self.thumbs.pop(old.content_hash, None)

    def thumbnail(self, content_hash: str) -> bytes | None:
        return self.thumbs.get(content_hash)

    def put_extras(self, key: Any, extras: dict[str, Any]) -> None:
        with self._lock:
            self.extras[key] = extras
            self.extras.move_to_end(key)
            while len(self.extras) > self.max_full:
                self.extras.popitem(last=False)

    def get_extras(self, key: Any) -> dict[str, Any]:
        return self.extras.get(key) or {}


def renamed(report: ImageReport, name: str) -> ImageReport:
    """The cached report under this upload's name (the same photo may come under two names)."""
    return report if report.file == name else replace(report, file=name)


# --- search layer (optional: the quality report works without it) -----------------------------

@dataclass
class SearchHandle:
    """An opened catalog + search context, or why there is none."""

    catalog_dir: str | None
    ctx: Any = None
    catalog: Any = None
    error: str | None = None
    catalog_id: str = "none"
    loading: bool = False  # still being opened in the background
    chosen: bool = False   # a catalog was chosen in the sidebar but gave no folder (``error``)

    @property
    def ok(self) -> bool:
        return self.ctx is not None


def demo_catalog_dir() -> Path | None:
    try:
        from analyzer.search.catalog import DEMO_CATALOG
    except Exception:
        return None
    return Path(DEMO_CATALOG) if Path(DEMO_CATALOG).is_dir() else None


def resolve_catalog(choice: str | None) -> tuple[str | None, str | None]:
    """(catalog folder, error message) for the sidebar's choice."""
    if choice is None:
        return None, None
    if choice == DEMO:
        d = demo_catalog_dir()
        if d is None:
            return None, ("The demo catalog is not installed (assets/demo_catalog); the search "
                          "simulation is off. Build one with `listing-lens catalog build`.")
        return str(d), None
    p = Path(choice).expanduser()
    if not str(choice).strip():
        return None, "Enter the path of a catalog folder built with `listing-lens catalog build`."
    if not p.is_dir():
        return None, f"No folder at {choice}."
    if not (p / "manifest.json").is_file() and not any(p.glob("*.json")):
        return None, (f"{choice} is not a catalog folder (no manifest); build one with "
                      "`listing-lens catalog build PHOTOS --out FOLDER`.")
    return str(p.resolve()), None


def open_search(catalog_dir: str | None) -> SearchHandle:
    """Open the catalog and the search context; failures become a message, never an exception."""
    if catalog_dir is None:
        return SearchHandle(None, error="No catalog selected: the search simulation is off.")
    try:
        from analyzer.search.catalog import Catalog
        from analyzer.search.integration import SearchContext
    except ImportError as e:
        return SearchHandle(catalog_dir, error=f"The search layer is not installed ({e}).")
    try:
        ctx = SearchContext.open(catalog_dir)
        cat = getattr(ctx, "catalog", None) or Catalog.open(catalog_dir)
    except ListingLensError as e:
        return SearchHandle(catalog_dir, error=e.message)
    except Exception as e:  # a broken catalog must not take the quality report down with it
        log.exception("could not open catalog %s", catalog_dir)
        return SearchHandle(catalog_dir, error=f"The catalog could not be opened "
                                               f"({type(e).__name__}: {e}).")
    try:
        ctx.warm()  # per-catalog baselines (cached on disk after the first time)
    except Exception:
        log.exception("could not warm the search baselines of %s", catalog_dir)
    manifest = getattr(cat, "manifest", {}) or {}
    cid = f"{catalog_dir}|{manifest.get('created', '')}|{manifest.get('count', '')}"
    return SearchHandle(catalog_dir, ctx=ctx, catalog=cat, catalog_id=cid)


def analyze_entry(data: bytes, name: str, settings: Settings, cache: ResultCache,
                  full: bool = True) -> ImageReport:
    """The quality report for one upload, from the cache when this content was seen before."""
    import hashlib

    h = hashlib.sha256(data).hexdigest()
    key = settings.key(h, "")
    hit = cache.get(key, full=full)
    if hit is not None:
        return renamed(hit, name)
    report = analyze_and_enrich(data, name=name, marketplace=settings.marketplace,
                                use_model=settings.use_model, keep_image=True,
                                title=settings.title, cover_art=settings.cover_art).report
    cache.put(key, report)  # failures too: the same bad file is not decoded again on a re-run
    return report


def enrich_cached(report: ImageReport, settings: Settings, search: SearchHandle,
                  cache: ResultCache) -> ImageReport:
    """The report with the search simulation, from the cache or computed now (a few seconds).

    The quality report is left as it is: the enriched one is a copy (same image) stored under
    the search key, so switching the catalog never mixes results.
    """
    if not report.ok or not search.ok or report.image is None:
        return report
    key = settings.key(report.content_hash, search.catalog_id)
    hit = cache.get(key, full=True)
    if hit is not None:
        return renamed(hit, report.file)
    enriched = replace(report, flags=list(report.flags), scores=dict(report.scores),
                       notes=list(report.notes))
    res = enrich_report(enriched, search.ctx, marketplace=settings.marketplace)
    if res is not None:
        cache.put_extras(key, search_extras(res))
    cache.put(key, enriched)
    return enriched


def search_extras(res: Any, n_queries: int = 6, side: int = 256) -> dict[str, Any]:
    """The pictures of a search simulation worth showing: the what-if photo and a few of the
    simulated shopper photos (downscaled: they are for display only)."""
    def small(a: np.ndarray) -> np.ndarray:
        h, w = a.shape[:2]
        s = min(1.0, side / max(h, w))
        if s >= 1.0:
            return a
        import cv2

        return cv2.resize(a, (max(1, round(w * s)), max(1, round(h * s))),
                          interpolation=cv2.INTER_AREA)

    out: dict[str, Any] = {}
    wi = getattr(res, "what_if_image", None)
    if wi is not None:
        out["what_if_image"] = wi
    qs = getattr(res, "queries", None) or []
    out["queries"] = [small(q.rgb) for q in qs[:n_queries] if getattr(q, "rgb", None) is not None]
    out["timings"] = dict(getattr(res, "timings", {}) or {})
    # The vector that was ranked: the lookalike map places the upload with it, instead of
    # embedding the photo a second time.
    emb = getattr(res, "embedding", None)
    if emb is not None:
        out["embedding"] = np.asarray(emb, dtype=np.float32)
    return out


def failed(name: str, error: dict[str, str] | None) -> ImageReport:
    err = error or {"code": ErrorCode.INTERNAL_ERROR.value, "message": "unknown error"}
    return error_report(name, ListingLensError(err["code"], err["message"]))


# --- the catalog's 2-D map --------------------------------------------------------------------

@dataclass
class CatalogMap:
    """PCA of the catalog embeddings to 2-D (fitted once per catalog)."""

    coords: np.ndarray        # (N, 2)
    mean: np.ndarray          # (dim,)
    components: np.ndarray    # (2, dim)
    explained: tuple[float, float]

    def project(self, emb: np.ndarray) -> np.ndarray:
        e = np.atleast_2d(np.asarray(emb, dtype=np.float32))
        return (e - self.mean) @ self.components.T


def fit_catalog_map(embeddings: np.ndarray, seed: int = 0) -> CatalogMap:
    """PCA (scikit-learn, randomized SVD for big catalogs) of the L2-normalised embeddings."""
    from sklearn.decomposition import PCA

    x = np.asarray(embeddings, dtype=np.float32)
    n = len(x)
    if n < 3:
        coords = np.zeros((n, 2), np.float32)
        return CatalogMap(coords, x.mean(axis=0) if n else np.zeros(x.shape[1], np.float32),
                          np.zeros((2, x.shape[1]), np.float32), (0.0, 0.0))
    pca = PCA(n_components=2, random_state=seed,
              svd_solver="randomized" if n > 5000 else "full")
    coords = pca.fit_transform(x).astype(np.float32)
    ev = tuple(float(v) for v in pca.explained_variance_ratio_[:2])
    return CatalogMap(coords, pca.mean_.astype(np.float32),
                      pca.components_.astype(np.float32), ev)  # type: ignore[arg-type]

