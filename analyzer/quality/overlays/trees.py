"""Gradient-boosted tree ensembles stored as data: the overlay finders' verifiers.

The text finder's word verifier and first stage (``text.py``) and the watermark finder's glyph
verifier (``watermark.py``) are scikit-learn ``GradientBoostingClassifier`` models (log-loss,
Friedman, "Greedy function approximation", 2001) fitted by the ``scripts/fit_*`` scripts and
shipped as JSON arrays, so the product needs neither scikit-learn nor pickles at run time. The
log-odds of a row ``x`` is

    margin(x) = init + rate * sum_t value_t(leaf_t(x)),

the same number as scikit-learn's ``decision_function``. :func:`export` writes a fitted model in
that form; :func:`load` reads it once per process; :meth:`BoostedTrees.margins` walks every
tree for every row together, one level per step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BoostedTrees:
    """The trees as flat arrays over all of their nodes (tree ``t``'s node ``j`` at
    ``offset[t] + j``); a leaf's two children are itself and its threshold is +inf, so every row
    can be walked ``depth`` steps down every tree at once."""

    features: tuple[str, ...]  # the column each feature index reads, in order
    init: float
    rate: float
    roots: np.ndarray          # [tree] the flat index of each tree's root
    feature: np.ndarray        # [node] the column each node tests
    threshold: np.ndarray      # [node] go left when x <= threshold
    children: np.ndarray       # [node, 2] flat index of the left and right child
    value: np.ndarray          # [node] the leaf's value (unused inside)
    depth: int

    def margins(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of each row of ``X`` [rows, len(features)] (float64)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        n = len(X)
        if n == 0:
            return np.zeros(0)
        # a row's value of feature f lies at row * n_features + f of the flattened X: one flat
        # gather per level instead of a two-index one (about twice as fast)
        base = (np.arange(n, dtype=np.int64) * X.shape[1])[:, None]
        flat = X.ravel()
        node = np.broadcast_to(self.roots, (n, len(self.roots)))
        kids = self.children.ravel()
        for _ in range(self.depth):
            # "<=" as scikit-learn tests it (a NaN goes right, as it did in the fits' checks)
            go_left = flat[base + self.feature[node]] <= self.threshold[node]
            node = kids[2 * node + ~go_left]
        return self.init + self.rate * self.value[node].sum(axis=1)

    def margins_of(self, rows: list[dict[str, float]]) -> np.ndarray:
        """Log-odds of rows given as {feature name: value} (extra keys are ignored)."""
        if not rows:
            return np.zeros(0)
        return self.margins(np.array([[r[k] for k in self.features] for r in rows],
                                     dtype=np.float64))


def _tree_depth(left: np.ndarray, right: np.ndarray) -> int:
    """Levels of one tree (root 0; scikit-learn numbers children after their parent, -1 at a
    leaf)."""
    dep = np.zeros(len(left), np.int64)
    for j in range(len(left)):
        if left[j] >= 0:
            dep[left[j]] = dep[right[j]] = dep[j] + 1
    return int(dep.max())


def from_dict(d: dict[str, Any]) -> BoostedTrees:
    """The arrays of :func:`export`'s JSON."""
    sizes = [len(t["feature"]) for t in d["trees"]]
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    feature, threshold, children, value = [], [], [], []
    depth = 0
    for off, t in zip(offset, d["trees"], strict=True):
        lt, rt = np.asarray(t["left"], np.int64), np.asarray(t["right"], np.int64)
        own = np.arange(len(lt), dtype=np.int64)
        leaf = lt < 0
        feature.append(np.where(leaf, 0, t["feature"]).astype(np.int64))
        threshold.append(np.where(leaf, np.inf, t["threshold"]))  # a leaf always goes "left"
        children.append(np.column_stack([np.where(leaf, own, lt), np.where(leaf, own, rt)]) + off)
        value.append(np.asarray(t["value"], np.float64))
        depth = max(depth, _tree_depth(lt, rt))
    return BoostedTrees(tuple(d["features"]), float(d["init"]), float(d["learning_rate"]),
                        offset, np.concatenate(feature), np.concatenate(threshold),
                        np.concatenate(children), np.concatenate(value), depth)


@lru_cache(maxsize=8)
def load(path: str) -> BoostedTrees:
    """The ensemble stored at ``path`` (read once per process)."""
    return from_dict(json.loads(Path(path).read_text()))


def export(clf: Any, features: tuple[str, ...], about: str, path: Path) -> None:
    """Write a fitted scikit-learn ``GradientBoostingClassifier`` (binary, log-loss) as the
    JSON :func:`load` reads: its trees' arrays, the initial log-odds and the learning rate."""
    trees = []
    for est in clf.estimators_[:, 0]:
        t = est.tree_
        trees.append({"feature": t.feature.tolist(), "threshold": t.threshold.tolist(),
                      "left": t.children_left.tolist(), "right": t.children_right.tolist(),
                      "value": t.value[:, 0, 0].tolist()})
    init = float(clf._raw_predict_init(np.zeros((1, len(features))))[0, 0])
    path.write_text(json.dumps({"about": about, "features": list(features), "init": init,
                                "learning_rate": clf.learning_rate, "trees": trees},
                               separators=(",", ":")))
    load.cache_clear()
