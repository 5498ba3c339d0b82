"""The benign-edit evaluation (scripts/evaluate_stability.py): its edits change nothing a
seller would call quality, and it counts a flag change only when the edit may not rightly make
it (a shrink may change the size rules' flags, a crop the framing rules' too)."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import evaluate_stability as es  # noqa: E402


def _photo(w: int = 600, h: int = 400) -> Image.Image:
    a = np.full((h, w, 3), 250, np.uint8)
    a[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = (30, 90, 160)
    return Image.fromarray(a)


def test_the_edits_are_the_benign_ones() -> None:
    im = _photo()
    rng = random.Random(0)
    assert np.array_equal(np.asarray(es.EDITS["mirror"][0](im, rng)),
                          np.asarray(im)[:, ::-1])
    assert es.EDITS["resave"][0](im, rng) is im
    for _ in range(20):
        w, h = es.EDITS["shrink"][0](im, rng).size
        assert 0.74 * 600 <= w <= 0.93 * 600 and 0.74 * 400 <= h <= 0.93 * 400
        w, h = es.EDITS["crop"][0](im, rng).size
        assert 0.87 * 600 <= w <= 600 and 0.87 * 400 <= h <= 400
    assert es.EDITS["mirror"][1] == set() and es.EDITS["resave"][1] == set()
    assert "NO_ZOOM" in es.EDITS["shrink"][1] and "PRODUCT_CUT_OFF" in es.EDITS["crop"][1]


def _report(grade: str, *codes: str) -> SimpleNamespace:
    return SimpleNamespace(ok=True, grade=grade,
                           flags=[SimpleNamespace(code=SimpleNamespace(value=c)) for c in codes])


def test_only_flags_an_edit_may_not_change_are_counted(tmp_path, monkeypatch) -> None:
    path = tmp_path / "a.jpg"
    _photo().save(path, quality=95)
    monkeypatch.setattr(es.E, "split_sources", lambda split, limit, seed: [path])
    answers = iter([
        _report("A"),                                   # the photo as it is
        _report("C", "TEXT_OR_WATERMARK"),              # mirror: a flag it may not change
        _report("A"),                                   # resave: nothing
        _report("B", "NO_ZOOM"),                        # shrink: a size rule, rightly
        _report("B", "PRODUCT_CUT_OFF"),                # crop: a framing rule, rightly
    ])
    monkeypatch.setattr(es, "analyze", lambda data, name: next(answers))
    rows = es.run(["held"], 1, 0)["held"]
    assert rows["mirror"]["changed"] == 1 and rows["mirror"]["grade_moved"] == 1
    assert rows["mirror"]["gained"] == {"TEXT_OR_WATERMARK": 1}
    assert rows["resave"]["changed"] == 0 and rows["resave"]["grade_moved"] == 0
    # the grade moved with a rule the edit may change: not counted
    assert rows["shrink"]["changed"] == 0 and rows["shrink"]["grade_moved"] == 0
    assert rows["crop"]["changed"] == 0 and rows["crop"]["grade_moved"] == 0
