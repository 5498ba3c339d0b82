"""scripts/evaluate_quality.py's resized splits (NAME@SIZE, --sizes) and the bootstrap interval
of its AUROC cells: pure functions and a synthetic image, no ../shared/data needed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import evaluate_quality as eq  # noqa: E402

# ---- NAME@SIZE ---------------------------------------------------------------------------------


def test_parse_split_plain_and_sized() -> None:
    assert eq.parse_split("held") == ("held", None)
    assert eq.parse_split("am_tune") == ("am_tune", None)
    assert eq.parse_split("held@600") == ("held", 600)
    assert eq.parse_split("store@0150") == ("store", 150)
    assert eq.split_base("tune@900") == "tune"
    assert eq.split_base("held") == "held"


@pytest.mark.parametrize("name", ["am_tune@600", "am_held@400", "foo", "foo@600", "held@",
                                  "held@abc", "held@6.5", "held@0", "held@-600", "tune@16"])
def test_parse_split_rejects(name: str) -> None:
    with pytest.raises(ValueError):
        eq.parse_split(name)


def test_amateur_split_size_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        eq.main(["--families", "text", "--splits", "tune,am_tune@600"])
    assert e.value.code == 2
    assert "not resizable" in capsys.readouterr().err


def test_splits_and_sizes_arguments() -> None:
    assert eq._splits_arg("tune, held@600,held@600,,held") == ("tune", "held@600", "held")
    assert eq._splits_arg("") == ()
    assert eq._sizes_arg("600,900,600") == (600, 900)
    # --sizes: tune@S and held@S for those of tune / held asked for; all splits when none named
    assert eq.expand_splits(("tune", "held"), (600, 900)) == (
        "tune", "held", "tune@600", "held@600", "tune@900", "held@900")
    assert eq.expand_splits(("held", "store"), (600,)) == ("held", "store", "held@600")
    assert eq.expand_splits((), (600,)) == (
        *eq.FAMILY_SPLITS, *eq.AMATEUR_SPLITS, "tune@600", "held@600")
    assert eq.expand_splits(("tune",), ()) == ("tune",)
    with pytest.raises(ValueError):
        eq.expand_splits(("store",), (600,))


def test_split_order_keeps_full_size_order_then_larger_sizes() -> None:
    names = ["held@600", "am_held", "held", "tune@600", "tune@900", "store", "tune", "am_tune"]
    assert sorted(names, key=eq.split_order) == [
        "tune", "held", "store", "am_tune", "am_held", "tune@900", "tune@600", "held@600"]


# ---- the resize helper -------------------------------------------------------------------------


def _photo(path: Path, size: tuple[int, int]) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("wh", [(120, 80), (70, 150)])
def test_resized_copy_long_side(tmp_path: Path, wh: tuple[int, int]) -> None:
    src = _photo(tmp_path / "p.png", wh)
    out = eq.resized_copy(src, tmp_path / "out", 60)
    assert out == tmp_path / "out" / "p.jpg"
    with Image.open(out) as im:
        assert max(im.size) == 60
        assert abs(im.size[0] / im.size[1] - wh[0] / wh[1]) < 0.05
        assert im.format == "JPEG"
    assert not list((tmp_path / "out").glob("*.tmp.jpg"))  # written atomically
    first = out.read_bytes()
    out.unlink()
    assert eq.resized_copy(src, tmp_path / "out", 60).read_bytes() == first  # deterministic


@pytest.mark.parametrize("size", [120, 121, 400])
def test_resized_copy_never_enlarges(tmp_path: Path, size: int) -> None:
    src = _photo(tmp_path / "p.png", (120, 80))
    assert eq.resized_copy(src, tmp_path / "out", size) == src
    assert not (tmp_path / "out" / "p.jpg").exists()
    im = Image.open(src)
    assert eq.resize_long_side(im, size) is im


# ---- bootstrap interval of the AUROC -----------------------------------------------------------


def _scores(n: int, seed: int, shift: float = 1.0) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    return list(rng.normal(shift, 1.0, n)), list(rng.normal(0.0, 1.0, n))


def test_ci_contains_the_point_estimate() -> None:
    for seed in range(5):
        good, bad = _scores(40, seed)
        lo, hi = eq.auroc_ci(good, bad)
        assert lo <= eq.auroc(good, bad) <= hi
        assert 0.0 <= lo < hi <= 1.0


def test_ci_narrows_with_more_images() -> None:
    def width(n: int) -> float:
        lo, hi = eq.auroc_ci(*_scores(n, 1))
        return hi - lo

    assert width(400) < 0.6 * width(40)


def test_ci_perfect_separation_and_ties() -> None:
    assert eq.auroc_ci([3.0, 4.0, 5.0], [0.0, 1.0, 2.0]) == (1.0, 1.0)
    assert eq.auroc_ci([1.0] * 10, [1.0] * 12) == (0.5, 0.5)  # all tied: counted half
    lo, hi = eq.auroc_ci([0.0, 1.0], [2.0, 3.0])
    assert (lo, hi) == (0.0, 0.0)


def test_ci_skips_missing_and_handles_empty() -> None:
    good, bad = _scores(30, 2)
    assert eq.auroc_ci([*good, None, float("nan")], bad) == eq.auroc_ci(good, bad)
    lo, hi = eq.auroc_ci([], bad)
    assert np.isnan(lo) and np.isnan(hi)


def test_ci_is_deterministic_and_seeded() -> None:
    good, bad = _scores(40, 3)
    assert eq.auroc_ci(good, bad) == eq.auroc_ci(good, bad)
    assert eq.auroc_ci(good, bad, seed=1) != eq.auroc_ci(good, bad)


def test_ci_matches_a_loop_over_the_same_resamples() -> None:
    """Each vectorised resample is the AUROC of those images (ties counted half)."""
    rng = np.random.default_rng(4)
    g, b = np.round(rng.normal(1, 1, 25), 1), np.round(rng.normal(0, 1, 20), 1)  # with ties
    draws = np.random.default_rng(eq.CI_SEED)
    ig, ib = draws.integers(0, len(g), (200, len(g))), draws.integers(0, len(b), (200, len(b)))
    aucs = [eq.auroc(list(g[i]), list(b[j])) for i, j in zip(ig, ib, strict=True)]
    assert np.allclose(np.percentile(aucs, [2.5, 97.5]),
                       eq.auroc_ci(list(g), list(b), n_boot=200))


def test_ci_is_fast() -> None:
    good, bad = _scores(60, 5)
    eq.auroc_ci(good, bad)
    t0 = time.perf_counter()
    for _ in range(10):
        eq.auroc_ci(good, bad)
    assert (time.perf_counter() - t0) / 10 < 0.1


def test_resized_splits_draw_the_full_size_defect():
    """held@600's copy of a photo gets the draw held's copy got (paired comparisons)."""
    assert eq.draw_salt("held@600", "text") == eq.draw_salt("held", "text") == "held:text"
    assert eq.draw_salt("tune@400", "motion") != eq.draw_salt("held@400", "motion")


def test_a_family_with_a_control_is_judged_against_the_controls_copies(monkeypatch, capsys):
    """A family whose spec names a ``control`` (``halo`` against ``cutout``: a defect only a
    cut-out can have) has the control's copies of the same photos as its clean side: its AUROC
    and "clean" false flags are read on them, not on the photos."""
    def result(path: Path, score: float, flagged: bool) -> dict:
        return {"file": str(path), "scores": {"background": score}, "metrics": {},
                "flags": {"background": [("BACKGROUND_NOT_WHITE", "error")] if flagged else []},
                "baseline": {"nonwhite_fraction": 0.0}}

    class FakeEvaluator:
        checks = ("background",)

        def run(self, p: Path, only: set | None = None) -> dict:
            kind = p.parent.name
            # the photos are flagged (a floor), the clean cuts never, the defect copies half
            return result(p, {"photo": 10.0, "cutout": 90.0, "halo": 60.0}[kind],
                          kind == "photo" or (kind == "halo" and p.stem.endswith(("0", "2"))))

    photos = [Path(f"/x/photo/{i}.jpg") for i in range(4)]
    monkeypatch.setattr(eq, "split_sources", lambda sp, limit, seed: photos)
    monkeypatch.setattr(eq, "family_set", lambda fam, sp, src, props: [
        Path(f"/x/{fam}/{p.stem}.jpg") for p in src])
    monkeypatch.setattr(eq, "family_specs", lambda: {"halo": eq.FamilySpec(
        "background", ("BACKGROUND_NOT_WHITE",), "nonwhite_fraction", -1, eq.AMATEUR_SPLITS,
        control="cutout")})
    out = eq.run_families(FakeEvaluator(), 4, 0, ["halo"], only_splits=("am_tune",))
    row = out["families"][0]
    assert row["family"] == "halo (vs cutout)"
    assert row["am_tune_auroc"] == 1.0  # every clean cut scores above every halo copy
    assert row["am_tune_clean_false"] == 0.0  # the cuts, not the photos (all flagged)
    assert row["am_tune_hit"] == 50.0
    assert "| halo (vs cutout) | background |" in capsys.readouterr().out
