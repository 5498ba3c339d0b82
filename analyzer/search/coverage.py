"""Does this catalog cover the uploaded product at all? (``OUTSIDE_CATALOG``)

A rank against a catalog of bags and shirts says nothing about a shoe: its "nearest products"
are merely the least unlike ones, and every figure built on them (first-screen share, median
rank, percentile, inferred category) looks confident and means nothing. The test compares how
far the upload is from its nearest catalog products with how far the catalog's own products are
from theirs. With ``d_k(x) = 1 - mean of the k largest product cosines`` (the k-NN distance of
:mod:`analyzer.search.differentiation`; Ramaswamy, Rastogi & Shim, SIGMOD 2000) and ``B`` the
d_k of the catalog's products against the other products (computed once per catalog):

    ratio = d_k(upload) / quantile_q(B)
    OUTSIDE_CATALOG  when  ratio > max_ratio

i.e. the upload sits in a much emptier neighbourhood than (nearly) every catalog product does.

The distance alone cannot tell a phone photo of a covered product from a product the catalog
lacks (an amateur t-shirt on a bed is further from studio shots of worn t-shirts than an amateur
shoe is: AUC 0.17-0.25 with the head embedder). A second, semantic test must agree before the
flag is raised: the backbone's own ImageNet classifier gives the catalog a *class profile*
``S(c)`` (share of a sample of its images whose top-5 classes include ``c``) and the upload a
*covered mass* ``m = sum of its class probabilities over classes with S(c) >= tau``:

    OUTSIDE_CATALOG  when  ratio > max_ratio  and  m < min_mass

(``semantic_tau``, ``semantic_min_mass`` in ``thresholds.yaml``; chosen in
``scripts/probe_coverage_semantic.py`` on half the clothing senders, hats and luma with one
category left out, and reported on the other senders, shoes and grocery). Without the classifier
(another embedder's environment, no torch) the distance rule is used alone.
The ratio is scale-free, so one rule serves catalogs whose embedder spreads products more or
less. ``q`` and ``max_ratio`` live in ``thresholds.yaml`` (``coverage:``) and were chosen in
``scripts/evaluate_coverage.py`` on luma with one category left out of the catalog, and checked on
grocery and shoe photos against the demo catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CoverageRule:
    quantile: float = 0.75
    max_ratio: float = 1.30
    semantic: bool = True          # require the class-profile test to agree (when available)
    semantic_tau: float = 0.05
    semantic_min_mass: float = 0.172
    semantic_sample: int = 256     # catalog images classified for its class profile (at most)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> CoverageRule:
        d = dict(d or {})
        return cls(quantile=float(d.get("baseline_quantile", cls.quantile)),
                   max_ratio=float(d.get("max_ratio", cls.max_ratio)),
                   semantic=bool(d.get("semantic", cls.semantic)),
                   semantic_tau=float(d.get("semantic_tau", cls.semantic_tau)),
                   semantic_min_mass=float(d.get("semantic_min_mass", cls.semantic_min_mass)),
                   semantic_sample=int(d.get("semantic_sample", cls.semantic_sample)))


def class_profile(probs: np.ndarray, k: int = 5) -> np.ndarray:
    """S(c): the share of rows (catalog images' class probabilities) whose top-k classes
    include c."""
    p = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    s = np.zeros(p.shape[1])
    if len(p) == 0:
        return s
    np.add.at(s, np.argsort(-p, axis=1)[:, :k].ravel(), 1.0)
    return s / len(p)


def covered_mass(probs: np.ndarray, profile: np.ndarray, tau: float) -> np.ndarray | float:
    """The probability an upload puts on the classes the catalog shows (S(c) >= tau)."""
    p = np.asarray(probs, dtype=np.float64)
    return (p * (np.asarray(profile) >= tau)).sum(axis=-1)


@dataclass(frozen=True)
class Coverage:
    covered: bool
    knn_distance: float
    reference: float      # quantile_q of the catalog's own d_k
    ratio: float
    class_mass: float | None = None   # the semantic test's covered mass (None: not measured)

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return round(float(x), 4) if x is not None and np.isfinite(x) else None

        return {"covered": bool(self.covered), "knn_distance": r(self.knn_distance),
                "reference": r(self.reference), "ratio": r(self.ratio),
                "class_mass": r(self.class_mass)}


def coverage_ratio(d_k: float | np.ndarray, baseline: np.ndarray, quantile: float
                   ) -> np.ndarray | float:
    """d_k divided by the ``quantile`` of the catalog's own d_k (nan without a baseline)."""
    b = np.asarray(baseline, dtype=np.float64)
    b = b[np.isfinite(b)]
    if len(b) < 2:
        return np.full(np.shape(d_k), np.nan) if np.ndim(d_k) else float("nan")
    ref = float(np.quantile(b, quantile))
    return np.asarray(d_k, dtype=np.float64) / max(ref, 1e-6) if np.ndim(d_k) \
        else float(d_k) / max(ref, 1e-6)


def assess(d_k: float, baseline: np.ndarray, rule: CoverageRule,
           class_mass: float | None = None) -> Coverage:
    """Is the upload (k-NN distance ``d_k``; covered mass ``class_mass``, None when not
    measured) inside what the catalog covers? A catalog too small to have a baseline (fewer than
    2 products) is taken to cover it: nothing to compare with. With ``rule.semantic`` and a
    measured mass, the flag needs both tests (module docstring)."""
    b = np.asarray(baseline, dtype=np.float64)
    b = b[np.isfinite(b)]
    if len(b) < 2 or not np.isfinite(d_k):
        return Coverage(True, float(d_k), float("nan"), float("nan"), class_mass)
    ref = float(np.quantile(b, rule.quantile))
    ratio = float(d_k) / max(ref, 1e-6)
    covered = ratio <= rule.max_ratio
    if not covered and rule.semantic and class_mass is not None:
        covered = float(class_mass) >= rule.semantic_min_mass
    return Coverage(covered, float(d_k), ref, ratio, class_mass)


def outside_flag(search: dict[str, Any], differentiation: dict[str, Any], severity: str):  # type: ignore[no-untyped-def]
    """The OUTSIDE_CATALOG flag for an analysed upload (``search["coverage"]`` filled)."""
    from analyzer.results import Flag

    cov = search.get("coverage") or {}
    near = differentiation.get("nearest") or []
    closest = (f"; its closest catalog product, '{near[0]['title']}', has similarity "
               f"{near[0]['similarity']:.2f}" if near else "")
    ratio = cov.get("ratio")
    how = (f"{ratio:.1f}x as far from its nearest catalog products as nearly all catalog "
           "products are from theirs" if ratio is not None else "far from every catalog product")
    return Flag(
        "OUTSIDE_CATALOG", severity,
        f"this catalog does not cover this product: it is {how}{closest}. Its simulated ranks, "
        "percentile, category and lookalikes are not meaningful",
        "search against a catalog of your own category: `listing-lens catalog build` a CSV of "
        "your competitors' main image URLs (copied from a marketplace results page), or the "
        "dashboard's My catalog", "search")
