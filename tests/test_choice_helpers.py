"""The choose_*.py scripts' shared steps (scripts/choice.py): the rates line and the trade-off."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from choice import TradeOff, rates_line  # noqa: E402


def test_rates_line_names_each_set_with_its_rate():
    r = {("tune", "clean"): 0.0, ("am_tune", "sticker"): 92.5}
    assert rates_line(r) == "tune/clean   0.0  am_tune/sticker  92.5"
    assert rates_line(r, "%") == "tune/clean   0.0%  am_tune/sticker  92.5%"


def test_trade_off_keeps_the_most_found_at_each_rate_and_prints_only_gains():
    t = TradeOff()
    t.add(0.0, 92.5, "a")
    t.add(0.0, 92.5, "b")      # equal: the first of equals stays
    t.add(0.141, 93.8, "c")
    t.add(0.139, 95.0, "d")    # the same rate once rounded: more found wins
    t.add(0.42, 94.0, "e")     # more false flags, fewer found than at 0.14: not printed
    t.add(0.97, 96.0, "f")
    assert t.lines() == ["   0.00% ->  92.5%  a", "   0.14% ->  95.0%  d",
                         "   0.97% ->  96.0%  f"]
