"""The one place checks are registered, in the order they run and are shown.

A check is a function ``(ImageContext) -> CheckResult``; each module under ``analyzer.quality``
decorates its check with :func:`register`. Checks are split measure -> score -> flag inside the
module; the registry only knows their names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from analyzer.quality.context import ImageContext
from analyzer.results import CheckResult

CheckFn = Callable[[ImageContext], CheckResult]

# Display order; also the order of score columns in the CSV.
CHECK_MODULES = ("sharpness", "exposure", "background", "framing", "clutter", "resolution",
                 "overlays")

_CHECKS: dict[str, CheckFn] = {}


def register(name: str) -> Callable[[CheckFn], CheckFn]:
    def deco(fn: CheckFn) -> CheckFn:
        _CHECKS[name] = fn
        return fn

    return deco


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
