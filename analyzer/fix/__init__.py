""""Fix it for me": a marketplace-ready main image from the seller's photo, re-graded.

One module per fix (:mod:`color`, :mod:`props`, :mod:`background`, :mod:`framing`,
:mod:`output`), registered in :mod:`analyzer.fix.registry`; :mod:`analyzer.fix.plan` maps the
checks' flags to fixes (fixes.yaml); :mod:`analyzer.fix.runner` runs them and re-grades.
The shared image operations are in :mod:`analyzer.fix.ops` (also used by the search what-if).
Imports are lazy here so that ``analyzer.fix.ops`` stays cheap to import.
"""

from __future__ import annotations

from typing import Any

__all__ = ["fix_report", "fix_source", "write_outcome"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from analyzer.fix import runner

        return getattr(runner, name)
    raise AttributeError(name)
