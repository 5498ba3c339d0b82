"""What every listing command prints: its results as JSON or as a table, and its exit status."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable
from typing import Any


def display_width(text: str) -> int:
    """Terminal columns of ``text``: wide (East Asian) characters take two, combining marks
    none, so a table stays aligned after a file name in Chinese or Japanese."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def fit(text: str, width: int) -> str:
    """``text`` padded to ``width`` columns, or cut from the left (``...`` and its end, where a
    file name differs) when it is wider."""
    if display_width(text) > width:
        tail = ""
        for ch in reversed(text):
            if display_width(ch + tail) > width - 3:
                break
            tail = ch + tail
        text = "..." + tail
    return text + " " * (width - display_width(text))


def name_width(names: list[str], cap: int = 48) -> int:
    """The file column's width: the widest name, at least 4 and at most ``cap`` columns."""
    return min(max([display_width(n) for n in names] + [4]), cap)


def emit(results: list[dict[str, Any]], fmt: str,
         table: Callable[[list[dict[str, Any]]], str]) -> int:
    """Print ``results`` (``fmt`` "json" or "table"); 0 when every one is ``ok``, else 2."""
    if fmt == "json":
        json.dump(results, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(table(results))
    return 0 if all(r["ok"] for r in results) else 2
