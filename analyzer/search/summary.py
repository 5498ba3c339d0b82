"""The search figures of one result, typed: what the CSV, the PDF and the dashboard's headline
read, parsed in one place from the analyze JSON (``search`` and ``differentiation``).

The JSON is data that may come from ``results.jsonl`` written by another version, so parsing
is lenient (a missing or malformed figure is None); what reads a :class:`SearchSummary` then
needs no ``.get(...) or {}`` chains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


@dataclass(frozen=True)
class RankFigures:
    """Where the listing lands over the simulated searches."""

    median_rank: float | None
    top_k_share: float | None  # share of searches with the listing in the first primary_k
    percentile: float | None   # against the catalog's own products (0-100, higher is better)

    @classmethod
    def parse(cls, d: dict[str, Any], primary_k: int) -> RankFigures:
        return cls(_num(d.get("median_rank")),
                   _num(_dict(d.get("top_k_share")).get(str(primary_k))),
                   _num(d.get("percentile")))


@dataclass(frozen=True)
class WhatIf:
    """The simulated fixes and the figures they would give."""

    fixes: tuple[str, ...]
    figures: RankFigures


@dataclass(frozen=True)
class Lookalike:
    product_id: str
    title: str
    similarity: float | None
    item_id: int | None


@dataclass(frozen=True)
class SearchSummary:
    """The headline search figures of one result (``expected``: the expected search position,
    stage 2; ``visual``: the visual match rank, stage 1)."""

    primary_k: int
    n_products: int
    n_queries: int | None
    expected: RankFigures
    visual: RankFigures | None
    suppressed: bool | None
    what_if: WhatIf | None
    outside_catalog: bool
    nearest: tuple[Lookalike, ...]
    near_duplicates: int | None
    search_score: float | None
    differentiation_score: float | None

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> SearchSummary | None:
        """The summary of an analyze-JSON result; None when it has no search figures."""
        s = _dict(result.get("search"))
        dz = _dict(result.get("differentiation"))
        if not s and not dz:
            return None
        pk = int(_num(s.get("primary_k")) or 10)
        vis = _dict(s.get("visual"))
        wi = _dict(s.get("what_if"))
        sup = _dict(_dict(s.get("stage2")).get("suppression"))
        scores = _dict(result.get("scores"))
        nearest = tuple(
            Lookalike(str(n.get("product_id") or ""), str(n.get("title") or ""),
                      _num(n.get("similarity")),
                      int(n["item_id"]) if isinstance(n.get("item_id"), int) else None)
            for n in dz.get("nearest") or [] if isinstance(n, dict))
        dups = dz.get("near_duplicates")
        return cls(
            primary_k=pk,
            n_products=int(_num(s.get("n_products")) or 0),
            n_queries=int(q) if (q := _num(s.get("n_queries"))) is not None else None,
            expected=RankFigures.parse(s, pk),
            visual=RankFigures.parse(vis, pk) if vis else None,
            suppressed=bool(sup["suppressed"]) if "suppressed" in sup else None,
            what_if=WhatIf(tuple(str(f) for f in wi.get("fixes") or []),
                           RankFigures.parse(wi, pk)) if wi else None,
            outside_catalog=bool(s.get("outside_catalog")),
            nearest=nearest,
            near_duplicates=len(dups) if isinstance(dups, list) else None,
            search_score=_num(scores.get("search")),
            differentiation_score=_num(scores.get("differentiation")),
        )
