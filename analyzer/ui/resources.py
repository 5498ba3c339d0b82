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
        from analyzer.vision.mask import model_available

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


def search_now(catalog_dir: str | None, choice_error: str | None = None) -> SearchHandle:
    """The opened catalog, or a handle marked ``loading`` while it is still being opened.
    ``choice_error``: why the sidebar's catalog choice gave no folder (a path with no folder),
    said on the page too, where "no catalog selected" read as if none had been chosen."""
    if catalog_dir is None and choice_error:
        off = "" if "search simulation is off" in choice_error else (
            " The search simulation is off.")
        return SearchHandle(None, error=choice_error + off, chosen=True)
    fut = search_future(catalog_dir)
    if not fut.done():
        return SearchHandle(catalog_dir, loading=True)
    err = fut.exception()
    if err is not None:  # open_search turns failures into messages; this is a last resort
        return SearchHandle(catalog_dir, error=f"The catalog could not be opened ({err}).")
    return fut.result()


def catalog_map(handle: SearchHandle) -> CatalogMap | None:
    """PCA of an opened catalog's embeddings, fitted once per catalog."""
    return None if handle.catalog is None else _catalog_map(handle.catalog_id, handle)


@st.cache_resource(show_spinner=False, max_entries=4)
def _catalog_map(catalog_id: str, _handle: SearchHandle) -> CatalogMap | None:
    """PCA of the catalog's embeddings, fitted once per catalog (``catalog_id`` is the key)."""
    if _handle.catalog is None:
        return None
    access = getattr(_handle.ctx, "access", None)
    if access is not None and access.kind != "dense":
        # A catalog read through its index is never loaded whole (and a million dots are no
        # map): no catalog map.
        return None
    emb = np.asarray(_handle.catalog.embeddings, dtype=np.float32)
    return fit_catalog_map(emb)


def product_mask(report: ImageReport) -> np.ndarray | None:
    """The product mask the quality checks computed for this report (float [0, 1], working
    size), or None when they did not need one: it is never computed a second time here."""
    if report.mask is None:
        return None
    from analyzer.vision.mask_ops import unit_prob

    return unit_prob(report.mask)
