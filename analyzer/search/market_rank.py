"""Stage 2 of the search simulation: the marketplace's ranking of the visual candidates.

Engines that search by photo work in two stages (eBay: Yang et al., "Visual Search at eBay",
KDD 2017; Alibaba's Pailitao: Zhang et al., "Visual Search at Alibaba", KDD 2018). Stage 1
predicts the query's category and retrieves the visually nearest listings within it (the
*visual match rank*, :func:`analyzer.search.rank.virtual_ranks` restricted to the category).
Stage 2 orders those candidates with the marketplace's own ranking, where the listing's photo
counts again in two documented ways, modelled here as explicit assumptions:

1. **Suppression.** A main image that breaks one of the marketplace's hard image rules is hidden
   from search on Amazon (the rule ``search_suppression`` in ``marketplaces.yaml``, a secondary
   source: Amazon's policy notice as quoted in its seller forum). A suppressed listing has no
   position: it is counted as ranked after every competitor (``n_products + 1``).
2. **Quality prior.** Engines rank with image features that track click-through: Etsy's
   learning-to-rank on 1.4M listings improved when visual features of the listing photo were
   added (Lynch, Aryafar & Attenberg, "Images Don't Lie: Transferring Deep Visual Semantic
   Features to Large-Scale Multimodal Learning to Rank", KDD 2016, arXiv 1511.06746). We do not
   know any engine's weights, so the prior is a named, configurable assumption
   (``search.ranking.quality_prior`` in thresholds.yaml), shown to the seller:

       score(p) = cos(q, p) + weight * (quality(p) - reference) / 100

   with ``quality`` the photo's overall score from the quality checks (0-100). Catalog
   competitors carry ``reference`` (a typical listing photo), so only the listing's own photo
   moves. The expected search position of the listing for query q is

       position(q) = 1 + #{competitor products p in the category: score(p) > score(listing) + tol}

   (ties go to the listing, as in stage 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analyzer.config import Marketplace
from analyzer.search.rank import CandidateSims


@dataclass(frozen=True)
class QualityPrior:
    """The stage-2 assumption: how much a photo's quality moves it among equally similar
    listings. ``weight`` is in cosine units per 100 quality points; ``reference`` the quality
    score of a typical competitor."""

    name: str = "image_quality_ctr"
    weight: float = 0.20
    reference: float = 80.0
    source: str = "https://arxiv.org/abs/1511.06746"
    note: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> QualityPrior:
        d = dict(d or {})
        return cls(name=str(d.get("name", cls.name)), weight=float(d.get("weight", cls.weight)),
                   reference=float(d.get("reference_score", cls.reference)),
                   source=str(d.get("source", cls.source)), note=str(d.get("note", "")))

    def boost(self, quality: float | None) -> float:
        """The listing's score shift; 0 when its quality is unknown."""
        if quality is None or not np.isfinite(quality):
            return 0.0
        return self.weight * (float(quality) - self.reference) / 100.0

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "reference_score": self.reference,
                "formula": "cos(query, listing) + weight * (quality - reference_score) / 100",
                "source": self.source, "note": self.note}


@dataclass(frozen=True)
class Suppression:
    """Whether the marketplace hides this main image from search, and why."""

    suppressed: bool
    codes: tuple[str, ...] = ()
    source: str | None = None
    kind: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"suppressed": self.suppressed, "codes": list(self.codes), "source": self.source,
                "kind": self.kind}


def suppression(mkt: Marketplace, flags: list[Any]) -> Suppression:
    """The marketplace's ``search_suppression`` rule applied to the quality flags: suppressed
    when a flag whose code the rule lists is an ``error`` on this marketplace (a hard rule
    broken). A warning is not: e.g. the 85% fill target, which Amazon's notice names but our
    framing check can only estimate, moves the listing through the quality prior instead (a
    product under half the frame is an error, ``framing.far_too_small``, and does suppress)."""
    rule = mkt.rule("search_suppression")
    if rule is None:
        return Suppression(False)
    listed = mkt.suppressed_codes()
    hit = sorted({f.code for f in flags if f.code in listed
                  and str(getattr(f.severity, "value", f.severity)) == "error"})
    return Suppression(bool(hit), tuple(hit), rule.source, rule.kind)


@dataclass(frozen=True)
class Stage2:
    """Everything stage 2 needs for one listing."""

    prior: QualityPrior
    quality: float | None
    suppress: Suppression = field(default_factory=lambda: Suppression(False))
    category: str | None = None

    @property
    def boost(self) -> float:
        return self.prior.boost(self.quality)


def expected_positions(query_sims: np.ndarray | CandidateSims, listing_sims: np.ndarray,
                       groups: Any, exclude: np.ndarray | None, in_category: np.ndarray | None,
                       stage2: Stage2, tol: float = 1e-3,
                       quality_boost: float | None = None) -> np.ndarray:
    """Expected search position of the listing for each query (formula in the module
    docstring). ``in_category``: bool (n_products,), the stage-1 candidates (None = all);
    ``quality_boost`` overrides the listing's prior shift (a what-if with another photo).
    A suppressed listing gets ``n_products + 1`` for every query."""
    q = len(query_sims) if isinstance(query_sims, CandidateSims) \
        else np.atleast_2d(query_sims).shape[0]
    n = groups.n_products
    if stage2.suppress.suppressed:
        return np.full(q, n + 1, np.int64)
    shift = stage2.boost if quality_boost is None else quality_boost
    if isinstance(query_sims, CandidateSims):   # a large catalog: through its vector index
        drop = exclude
        if in_category is not None and in_category.any():
            drop = ~in_category if drop is None else (drop | ~in_category)
        ls = np.asarray(listing_sims, dtype=np.float32).reshape(-1) + np.float32(shift)
        return 1 + query_sims.count_above(ls + np.float32(tol), drop)
    best = groups.best(query_sims)
    drop = np.zeros_like(best, dtype=bool)
    if exclude is not None:
        drop |= np.broadcast_to(exclude, best.shape)
    if in_category is not None and in_category.any():
        drop |= ~np.broadcast_to(in_category, best.shape)
    best = np.where(drop, -np.inf, best)
    ls = np.asarray(listing_sims, dtype=np.float32).reshape(-1, 1) + np.float32(shift)
    return 1 + (best > ls + np.float32(tol)).sum(axis=1).astype(np.int64)
