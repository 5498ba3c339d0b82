"""Plain references for the overlay finders' tree ensembles (not a test module): one row down
each tree in turn, as the shipped JSON reads, and rows drawn where the trees decide."""

from __future__ import annotations

import numpy as np


def plain_walk(d: dict, x: list[float]) -> float:
    """The ensemble's log-odds of one row, one tree at a time (NaN fails "<=" and goes right)."""
    s = d["init"]
    for t in d["trees"]:
        i = 0
        while t["left"][i] >= 0:
            i = t["left"][i] if x[t["feature"][i]] <= t["threshold"][i] else t["right"][i]
        s += d["learning_rate"] * t["value"][i]
    return s


def rows_near_splits(d: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows whose values lie around the trees' own split points, so they reach many
    leaves (a feature no tree tests is 0)."""
    X = np.zeros((n, len(d["features"])))
    for k in range(len(d["features"])):
        cuts = [t["threshold"][i] for t in d["trees"] for i, j in enumerate(t["feature"])
                if j == k]
        if cuts:
            X[:, k] = rng.choice(cuts, n) + rng.normal(0, 0.05, n)
    return X
