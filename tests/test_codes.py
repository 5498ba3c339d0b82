"""Flag codes are a closed, typed set: each has its check, its default severity and a place in
every marketplace's rules; a misspelt code fails where it is made."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analyzer.codes import FLAG_CHECK, FlagCode, Severity
from analyzer.config import _severity_map, default_severities, marketplace, marketplace_keys
from analyzer.quality.priority import check_of
from analyzer.quality.registry import CHECK_MODULES
from analyzer.results import Flag

PKG = Path(__file__).resolve().parents[1] / "analyzer"


def test_every_code_has_a_check_and_a_default_severity() -> None:
    assert set(FLAG_CHECK) == set(FlagCode)
    assert set(default_severities()) == set(FlagCode)
    for code in FlagCode:
        assert code.check in (*CHECK_MODULES, "search", "differentiation")


def test_a_check_module_raises_only_its_own_codes() -> None:
    """Every FlagCode.X or "X" literal a quality module names belongs to that module's check
    (ASPECT_RATIO was credited to framing while resolution raises it)."""
    names = {c.value for c in FlagCode}
    for check in CHECK_MODULES:
        # A check is a module, or a package of modules (overlays: one per finder).
        src = PKG / "quality" / f"{check}.py"
        files = [src] if src.exists() else sorted((PKG / "quality" / check).rglob("*.py"))
        assert files, f"no source for check {check}"
        trees = [ast.parse(f.read_text(encoding="utf-8")) for f in files]
        used = {n.value for t in trees for n in ast.walk(t)
                if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in names}
        used |= {n.attr for t in trees for n in ast.walk(t)
                 if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                 and n.value.id == "FlagCode"}
        assert used, f"{check} raises no flag"
        wrong = {c for c in used if FlagCode(c).check != check}
        assert not wrong, f"{check}.py raises codes of other checks: {wrong}"


def test_unknown_codes_and_severities_raise() -> None:
    with pytest.raises(ValueError):
        Flag("BLURY", "error", "", "")
    with pytest.raises(ValueError):
        Flag("BLURRY", "fatal", "", "")
    with pytest.raises(ValueError):
        marketplace("amazon").severity("NOT_A_CODE")
    with pytest.raises(ValueError, match="marketplaces.yaml x severity"):
        _severity_map({"BLURY": "error"}, "marketplaces.yaml x severity")
    with pytest.raises(ValueError, match="no severity for"):
        _severity_map({"BLURRY": "error"}, "t", complete=True)


def test_marketplace_severities_are_typed() -> None:
    for key in marketplace_keys():
        m = marketplace(key)
        for code in FlagCode:
            assert isinstance(m.severity(code), Severity)
        assert m.severity("BLURRY") == m.severity(FlagCode.BLURRY)


def test_flags_serialise_as_plain_strings() -> None:
    f = Flag("ASPECT_RATIO", "info", "m", "fix")
    assert f.code is FlagCode.ASPECT_RATIO and f.code == "ASPECT_RATIO"
    assert f.to_dict() == {"code": "ASPECT_RATIO", "severity": "info", "message": "m",
                           "fix": "fix", "check": ""}
    assert f"{f.code}" == "ASPECT_RATIO" and str(f.severity) == "info"
    # a member finds its plain value's entry in a dict (and the other way round)
    assert {"info": 2}[f.severity] == 2 and {Severity.INFO: 2}["info"] == 2


def test_priority_credits_each_code_to_its_check() -> None:
    assert check_of("ASPECT_RATIO") == "resolution"
    assert check_of("BLURRY", "custom") == "custom"
    assert check_of("FROM_A_NEWER_VERSION") == ""


def test_a_misspelt_setting_raises_instead_of_falling_back(monkeypatch) -> None:
    import copy

    from analyzer import config
    from analyzer.search.search_config import SearchConfig

    real = config.thresholds()
    assert SearchConfig.from_thresholds().n_queries == int(real["search"]["n_queries"])
    bad = copy.deepcopy(real)
    bad["search"]["n_querys"] = 3
    monkeypatch.setattr("analyzer.search.search_config.thresholds", lambda: bad)
    with pytest.raises(ValueError, match="n_querys"):
        SearchConfig.from_thresholds()
    bad = copy.deepcopy(real)
    bad["search"]["what_if"]["fil"] = 0.9
    monkeypatch.setattr("analyzer.search.search_config.thresholds", lambda: bad)
    with pytest.raises(ValueError, match="fil"):
        SearchConfig.from_thresholds()


def test_settings_dataclasses_reject_unknown_keys() -> None:
    from analyzer.config import settings_from
    from analyzer.vision.edge_blur import EdgeBlurSettings

    assert settings_from(EdgeBlurSettings, {"min_edges": "40"}, "x").min_edges == 40
    with pytest.raises(ValueError, match="min_edgez"):
        settings_from(EdgeBlurSettings, {"min_edgez": 40}, "segmentation.edge_blur")
