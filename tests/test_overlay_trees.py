"""The overlay finders' boosted trees (analyzer/quality/overlays/trees.py): the flat, all-trees-
at-once walk gives scikit-learn's decision_function and a plain one-tree-at-a-time walk."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analyzer.quality.overlays import text as text_mod
from analyzer.quality.overlays import trees
from analyzer.quality.overlays import watermark as wm
from tests.tree_helpers import plain_walk, rows_near_splits


@pytest.mark.parametrize("path", [text_mod.VERIFIER, text_mod.PREFILTER, wm.VERIFIER],
                         ids=["text verifier", "text first stage", "watermark verifier"])
def test_every_shipped_ensemble_matches_a_plain_walk(path):
    d = json.loads(path.read_text())
    nf = len(d["features"])
    X = rows_near_splits(d, 60, np.random.default_rng(1))
    X[0, :] = np.nan  # a missing value goes right at every test, as in the plain walk
    X[1, :] = np.inf
    got = trees.load(str(path)).margins(X)
    ref = np.array([plain_walk(d, list(row)) for row in X])
    assert np.allclose(got, ref, rtol=0, atol=1e-9)
    assert np.std(ref[2:]) > 0.1  # the drawn rows reach different leaves
    assert trees.load(str(path)).margins(np.zeros((0, nf))).shape == (0,)


def test_export_then_load_gives_scikit_learns_decision_function(tmp_path):
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] * X[:, 2] > 0.2).astype(int)
    clf = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)
    path = tmp_path / "m.json"
    trees.export(clf, ("a", "b", "c", "d", "e"), "test model", path)
    model = trees.load(str(path))
    assert model.features == ("a", "b", "c", "d", "e") and model.depth == 3
    Xt = rng.normal(size=(50, 5))
    assert np.allclose(model.margins(Xt), clf.decision_function(Xt), rtol=0, atol=1e-9)
    rows = [dict(zip(model.features, r, strict=True)) | {"extra": 1.0} for r in Xt]
    assert np.allclose(model.margins_of(rows), clf.decision_function(Xt), rtol=0, atol=1e-9)
    # a retrained model at the same path is read afresh (export clears the cache)
    clf2 = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(X, 1 - y)
    trees.export(clf2, model.features, "test model", path)
    assert np.allclose(trees.load(str(path)).margins(Xt), clf2.decision_function(Xt), atol=1e-9)


def test_the_watermark_finder_refuses_trees_fitted_on_other_features(tmp_path):
    d = json.loads(wm.VERIFIER.read_text())
    d["features"] = list(reversed(d["features"]))
    bad = tmp_path / "wm.json"
    bad.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="other features"):
        wm.margins(np.zeros((1, len(wm.FEATURES))), bad)
