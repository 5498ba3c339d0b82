"""The one place checks are registered, in the order they run and are shown.

A check is a function ``(ImageContext) -> CheckResult``; each module under ``analyzer.quality``
decorates its check with :func:`register`, naming the overlay maps (:class:`MapKind`) its
result carries. Checks are split measure -> score -> flag inside the module; the registry only
knows their names and maps.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from analyzer.codes import MapKind
from analyzer.quality.context import ImageContext
from analyzer.results import CheckResult

CheckFn = Callable[[ImageContext], CheckResult]

# Display order; also the order of score columns in the CSV.
CHECK_MODULES = ("sharpness", "exposure", "background", "framing", "clutter", "resolution",
                 "overlays")

_CHECKS: dict[str, CheckFn] = {}
_MAPS: dict[str, tuple[MapKind, ...]] = {}


def register(name: str, maps: tuple[MapKind, ...] = ()) -> Callable[[CheckFn], CheckFn]:
    """Register check ``name``, whose results carry exactly the overlay maps ``maps``."""
    def deco(fn: CheckFn) -> CheckFn:
        _CHECKS[name] = fn
        _MAPS[name] = tuple(MapKind(m) for m in maps)
        return fn

    return deco


def declared_maps(name: str) -> tuple[MapKind, ...]:
    """The overlay maps check ``name`` declared (empty for a check that makes none)."""
    checks()
    return _MAPS.get(name, ())


def map_producers() -> dict[MapKind, str]:
    """Which check makes each overlay map."""
    checks()
    return {m: name for name, maps in _MAPS.items() for m in maps}


def checks() -> dict[str, CheckFn]:
    """All registered checks, importing the check modules on first use.

    A check module that does not exist (yet) is skipped; one that fails to import raises.
    """
    for mod in CHECK_MODULES:
        try:
            importlib.import_module(f"analyzer.quality.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"analyzer.quality.{mod}":
                raise
    return {name: _CHECKS[name] for name in CHECK_MODULES if name in _CHECKS}
