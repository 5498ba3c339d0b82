"""Visual search: the reference catalog (:mod:`analyzer.search.catalog`), its vector index
(:mod:`analyzer.search.index`) and the shopper rank simulation built on them."""

from __future__ import annotations

from analyzer.search.catalog import (
    DEMO_CATALOG,
    BuildResult,
    Catalog,
    add_to_catalog,
    build_catalog,
)

__all__ = ["DEMO_CATALOG", "BuildResult", "Catalog", "add_to_catalog", "build_catalog"]
