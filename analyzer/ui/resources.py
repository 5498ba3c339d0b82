"""Streamlit-cached resources: one of each per process, shared by every browser session."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import streamlit as st

from analyzer.results import ImageReport
from analyzer.ui.state import CatalogMap, ResultCache, SearchHandle, fit_catalog_map, open_search

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def result_cache() -> ResultCache:
    return ResultCache()


def load_models(use_model: bool) -> bool:
    """Import the checks and load u2netp (both cached by their modules once loaded)."""
    from analyzer.quality.registry import checks

    try:
        checks()
    except Exception:  # a broken check shows up per image as INTERNAL_ERROR, not as a dead page
        log.exception("the quality checks could not be imported")
    if use_model:
        from analyzer.quality.mask import model_available

        return model_available()
    return False


@st.cache_resource(show_spinner=False)
def _executor() -> ThreadPoolExecutor:
    # One worker: heavy imports (torch, onnxruntime) in two threads at once can deadlock.
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="listing-lens-warm")


@st.cache_resource(show_spinner=False)
def warm_models_async(use_model: bool) -> Future:
    """Load the quality models in the background while the seller picks files."""
    return _executor().submit(_warm, use_model)


def _warm(use_model: bool) -> bool:
    try:
        return load_models(use_model)
    except Exception:
        log.exception("model warm-up failed; the models load on first use")
        return False


@st.cache_resource(show_spinner=False, max_entries=4)
def search_future(catalog_dir: str | None) -> Future:
    """Open the catalog in the background (embedder load, baselines: seconds on a cold start),
    so the page and the quality report cards never wait for it."""
    return _executor().submit(open_search, catalog_dir)


def search_now(catalog_dir: str | None) -> SearchHandle:
    """The opened catalog, or a handle marked ``loading`` while it is still being opened."""
    fut = search_future(catalog_dir)
    if not fut.done():
        return SearchHandle(catalog_dir, loading=True)
    err = fut.exception()
    if err is not None:  # open_search turns failures into messages; this is a last resort
        return SearchHandle(catalog_dir, error=f"The catalog could not be opened ({err}).")
    return fut.result()


@st.cache_resource(show_spinner=False, max_entries=4)
def catalog_map(catalog_id: str, _handle: SearchHandle) -> CatalogMap | None:
    """PCA of the catalog's embeddings, fitted once per catalog (``catalog_id`` is the key)."""
    if _handle.catalog is None:
        return None
    emb = np.asarray(_handle.catalog.embeddings, dtype=np.float32)
    return fit_catalog_map(emb)


@st.cache_resource(show_spinner=False, max_entries=64)
def product_mask_for(content_hash: str, use_model: bool, _report: ImageReport
                     ) -> np.ndarray | None:
    """The product mask of a report's working image: the one the quality checks computed when
    the report carries it (no second u2netp run), else computed once per content hash."""
    if _report.image is None:
        return None
    from analyzer.quality.mask import product_mask, unit_prob
    from analyzer.search.integration import report_mask

    known = report_mask(_report)
    if known is not None:
        return unit_prob(known)

    return product_mask(_report.image.rgb, _report.image.alpha, use_model=use_model).prob


@st.cache_resource(show_spinner=False, max_entries=64)
def upload_embedding(content_hash: str, catalog_id: str, _handle: SearchHandle,
                     _report: ImageReport, _mask: np.ndarray | None) -> np.ndarray | None:
    """The upload's embedding with the catalog's embedder (for the 2-D map), once per photo: the
    one its search simulation computed when there is one (the point the ranks were measured
    for), else embedded now."""
    known = result_cache().get_embedding(content_hash, catalog_id)
    if known is not None:
        return known
    if _report.image is None or _handle.ctx is None:
        return None
    try:
        img = _report.image
        masks = None if _mask is None else [_mask]
        return np.asarray(_handle.ctx.embedder.embed([img.rgb], masks)[0], dtype=np.float32)
    except Exception:
        log.exception("could not embed the upload for the catalog map")
        return None
