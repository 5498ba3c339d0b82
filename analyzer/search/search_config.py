"""The search simulation's settings: the ``search:`` and ``differentiation:`` sections of
thresholds.yaml (plus ``coverage:``), loaded strictly (an unknown key raises)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from analyzer.config import known_keys, thresholds
from analyzer.search import coverage as cover
from analyzer.search import duplicates as copies
from analyzer.search.market_rank import QualityPrior
from analyzer.search.neighbours import IndexRankConfig
from analyzer.search.shopper_sim import SimConfig

# 3: shopper photos from the restored product cut-out, phone blur calibrated on real photos.
# 4: also the expected search position (stage 2, within the category) of each baseline product;
#    or backgrounds that fit each product's category (issue 16): two branches both called it 4.
# 5: both together.
BASELINE_VERSION = 5
# Flags from the quality checks that a simulated fix answers.


# Every key the search: and differentiation: sections may hold (a typo raises on load).
SEARCH_KEYS = frozenset({
    "k", "primary_k", "n_queries", "n_peer_queries", "n_baseline_products", "tie_tolerance",
    "category_vote_k", "category_vote_min_similarity", "low_rank_share", "low_rank_percentile",
    "what_if", "embed_batch_size",
    "simulation", "ranking", "backgrounds", "ondisk_min_items", "index_rank"})
DIFFERENTIATION_KEYS = frozenset({
    "k", "n_nearest", "low_uniqueness_percentile", "lookalike_similarity",
    "duplicate_phash_max", "duplicate_phash_strict", "duplicate_similarity",
    "duplicate_similarity_strict", "duplicate_verify_top_k", "duplicate_verify_min_inliers",
    "duplicate_verify_max_rotation", "duplicate_verify_scale", "duplicate_verify_min_ncc",
    "duplicate_verify_max_colour"})


@dataclass(frozen=True)
class SearchConfig:
    """The ``search:`` and ``differentiation:`` sections of thresholds.yaml."""

    k: tuple[int, ...] = (4, 10, 20)
    primary_k: int = 10
    n_queries: int = 16
    n_peer_queries: int = 16
    n_baseline_products: int = 32
    tie_tolerance: float = 1e-3
    category_vote_k: int = 10
    category_vote_min_similarity: float = 0.45
    low_rank_share: float = 0.5
    low_rank_percentile: float = 25.0
    what_if_fill: float = 0.85
    whiten_below: float = 0.90
    crop_below_fill: float = 0.75
    baseline_seed: int = 0
    embed_batch_size: int = 4
    sim: SimConfig = field(default_factory=SimConfig)
    diff_k: int = 5
    n_nearest: int = 5
    low_uniqueness_percentile: float = 10.0
    lookalike_similarity: float = 0.80
    duplicates: copies.CopyRule = field(default_factory=copies.CopyRule)
    coverage: cover.CoverageRule = field(default_factory=cover.CoverageRule)
    prior: QualityPrior = field(default_factory=QualityPrior)
    rank_in_category: bool = True
    index_rank: IndexRankConfig = field(default_factory=IndexRankConfig)

    @classmethod
    def from_thresholds(cls, overrides: dict[str, Any] | None = None) -> SearchConfig:
        t = thresholds()
        s = known_keys(t.get("search"), SEARCH_KEYS, "thresholds.yaml search")
        d = known_keys(t.get("differentiation"), DIFFERENTIATION_KEYS,
                       "thresholds.yaml differentiation")
        wi = known_keys(s.get("what_if"), {"fill", "whiten_below", "crop_below_fill"},
                        "thresholds.yaml search.what_if")
        known_keys(s.get("ranking"), {"in_category", "quality_prior"},
                   "thresholds.yaml search.ranking")
        kw: dict[str, Any] = {
            "k": tuple(int(x) for x in s.get("k", cls.k)),
            "primary_k": int(s.get("primary_k", cls.primary_k)),
            "n_queries": int(s.get("n_queries", cls.n_queries)),
            "n_peer_queries": int(s.get("n_peer_queries", cls.n_peer_queries)),
            "n_baseline_products": int(s.get("n_baseline_products", cls.n_baseline_products)),
            "tie_tolerance": float(s.get("tie_tolerance", cls.tie_tolerance)),
            "category_vote_k": int(s.get("category_vote_k", cls.category_vote_k)),
            "category_vote_min_similarity": float(s.get("category_vote_min_similarity",
                                                        cls.category_vote_min_similarity)),
            "low_rank_share": float(s.get("low_rank_share", cls.low_rank_share)),
            "low_rank_percentile": float(s.get("low_rank_percentile", cls.low_rank_percentile)),
            "what_if_fill": float(wi.get("fill", cls.what_if_fill)),
            "whiten_below": float(wi.get("whiten_below", cls.whiten_below)),
            "crop_below_fill": float(wi.get("crop_below_fill", cls.crop_below_fill)),
            "embed_batch_size": int(s.get("embed_batch_size", cls.embed_batch_size)),
            "sim": SimConfig.from_dict(s.get("simulation")),
            "diff_k": int(d.get("k", cls.diff_k)),
            "n_nearest": int(d.get("n_nearest", cls.n_nearest)),
            "low_uniqueness_percentile": float(d.get("low_uniqueness_percentile",
                                                     cls.low_uniqueness_percentile)),
            "lookalike_similarity": float(d.get("lookalike_similarity",
                                                cls.lookalike_similarity)),
            "duplicates": copies.CopyRule.from_dict(d),
            "coverage": cover.CoverageRule.from_dict(t.get("coverage")),
            "prior": QualityPrior.from_dict((s.get("ranking") or {}).get("quality_prior")),
            "rank_in_category": bool((s.get("ranking") or {}).get("in_category", True)),
            "index_rank": IndexRankConfig.from_dict(s.get("index_rank")),
        }
        for key, v in (overrides or {}).items():
            if key == "sim" and isinstance(v, dict):
                kw["sim"] = SimConfig.from_dict({**asdict(kw["sim"]), **v})
            elif key == "index_rank" and isinstance(v, dict):
                kw["index_rank"] = IndexRankConfig.from_dict({**asdict(kw["index_rank"]), **v})
            elif key == "prior" and isinstance(v, dict):
                kw["prior"] = QualityPrior.from_dict({**kw["prior"].describe(), **v})
            else:
                kw[key] = tuple(v) if key == "k" else v
        return cls(**kw)

    def baseline_key(self) -> dict[str, Any]:
        """What the cached per-catalog rank baseline depends on."""
        return {"v": BASELINE_VERSION, "n_queries": self.n_queries, "k": list(self.k),
                "n_peer_queries": self.n_peer_queries,
                "n_baseline_products": self.n_baseline_products, "seed": self.baseline_seed,
                "tol": self.tie_tolerance, "sim": asdict(self.sim),
                "in_category": self.rank_in_category}
