"""The fix rules (analyzer/data/fixes.yaml), loaded once."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def fix_rules() -> dict[str, Any]:
    """The parsed fixes.yaml (shared, do not mutate)."""
    text = resources.files("analyzer.data").joinpath("fixes.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)
