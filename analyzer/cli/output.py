"""What every listing command prints: its results as JSON or as a table, and its exit status."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def emit(results: list[dict[str, Any]], fmt: str,
         table: Callable[[list[dict[str, Any]]], str]) -> int:
    """Print ``results`` (``fmt`` "json" or "table"); 0 when every one is ``ok``, else 2."""
    if fmt == "json":
        json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(table(results))
    return 0 if all(r["ok"] for r in results) else 2
