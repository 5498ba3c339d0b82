"""Load the thresholds and marketplace rules data files (analyzer/data/*.yaml) once."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import yaml

from analyzer.codes import FlagCode, Severity
from analyzer.errors import ErrorCode, ListingLensError

T = TypeVar("T")


@cache
def _load(name: str) -> dict[str, Any]:
    text = resources.files("analyzer.data").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def thresholds() -> dict[str, Any]:
    """The parsed thresholds.yaml (shared, do not mutate)."""
    return _load("thresholds.yaml")


def check_thresholds(check: str) -> dict[str, Any]:
    """The ``checks.<check>`` section of thresholds.yaml, empty if absent."""
    return (thresholds().get("checks") or {}).get(check) or {}


def settings_from(cls: type[T], raw: dict[str, Any] | None, where: str) -> T:
    """A settings dataclass from a YAML mapping: missing keys keep the dataclass's defaults,
    each value is converted to its default's type, and an unknown key (a typo that would
    otherwise fall back to the default unnoticed) raises ValueError naming ``where``."""
    raw = known_keys(raw, {f.name for f in fields(cls)}, where)  # type: ignore[arg-type]
    defaults = cls()
    return cls(**{k: _like(getattr(defaults, k), v) for k, v in raw.items()})


def _like(default: Any, value: Any) -> Any:
    if isinstance(default, bool) or default is None or isinstance(value, type(default)):
        return value
    if isinstance(default, (int, float, str)):
        return type(default)(value)
    return value


def known_keys(raw: dict[str, Any] | None, known: set[str] | frozenset[str],
               where: str) -> dict[str, Any]:
    """``raw`` (a YAML mapping) when every key is in ``known``; a misspelt key raises ValueError
    naming ``where`` instead of silently leaving the default in force."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown settings {unknown}; known: {sorted(known)}")
    return raw


def segmentation(part: str) -> dict[str, Any]:
    """The ``segmentation.<part>`` section of thresholds.yaml (the vision layer's settings)."""
    return (thresholds().get("segmentation") or {}).get(part) or {}


def limits() -> dict[str, Any]:
    return thresholds()["limits"]


@dataclass(frozen=True)
class Rule:
    """One marketplace rule with the page it was read from and when."""

    name: str
    value: Any
    source: str
    checked: str
    kind: str
    unit: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Marketplace:
    key: str
    label: str
    rules: dict[str, Rule] = field(default_factory=dict)
    severity_overrides: dict[FlagCode, Severity] = field(default_factory=dict)

    def rule(self, name: str) -> Rule | None:
        """The rule, or None when this marketplace sets none (value null or absent)."""
        r = self.rules.get(name)
        return r if r is not None and r.value is not None else None

    def value(self, name: str, default: Any = None) -> Any:
        r = self.rule(name)
        return default if r is None else r.value

    def suppressed_codes(self) -> frozenset[str]:
        """The flag codes whose error this marketplace's ``search_suppression`` rule says hides
        a listing from search (empty when it sets no such rule)."""
        return frozenset(str(c) for c in (self.value("search_suppression") or []))

    def severity(self, code: FlagCode | str) -> Severity:
        """The severity of ``code`` on this marketplace (its override, else the default in
        thresholds.yaml); an unknown code raises ValueError."""
        code = FlagCode(code)
        if code in self.severity_overrides:
            return self.severity_overrides[code]
        return default_severities()[code]


@cache
def default_severities() -> dict[FlagCode, Severity]:
    """thresholds.yaml ``default_severity``: every flag code must have one, and only they."""
    return _severity_map(thresholds()["default_severity"], "thresholds.yaml default_severity",
                         complete=True)


def _severity_map(raw: dict[str, str], where: str, complete: bool = False
                  ) -> dict[FlagCode, Severity]:
    """Code -> severity from a YAML mapping; a misspelt code or severity is a ValueError that
    names the file, not a flag that silently becomes a warning."""
    out: dict[FlagCode, Severity] = {}
    for code, sev in (raw or {}).items():
        try:
            out[FlagCode(code)] = Severity(sev)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from e
    missing = set(FlagCode) - set(out) if complete else set()
    if missing:
        raise ValueError(f"{where}: no severity for {', '.join(sorted(missing))}")
    return out


def marketplace_keys() -> list[str]:
    return list(_load("marketplaces.yaml")["marketplaces"])


def default_marketplace() -> str:
    return _load("marketplaces.yaml")["default"]


@cache
def marketplace(key: str | None = None) -> Marketplace:
    data = _load("marketplaces.yaml")
    key = (key or data["default"]).lower()
    if key not in data["marketplaces"]:
        raise ListingLensError(
            ErrorCode.UNKNOWN_MARKETPLACE,
            f"unknown marketplace '{key}'; choose one of: {', '.join(data['marketplaces'])}",
        )
    m = data["marketplaces"][key]
    rules = {
        name: Rule(
            name=name,
            value=r.get("value"),
            source=r["source"],
            checked=str(r["checked"]),
            kind=r["kind"],
            unit=r.get("unit"),
            note=r.get("note"),
        )
        for name, r in m["rules"].items()
    }
    return Marketplace(key=key, label=m["label"], rules=rules,
                       severity_overrides=_severity_map(m.get("severity") or {},
                                                        f"marketplaces.yaml {key} severity"))
