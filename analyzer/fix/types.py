"""Typed contracts of the fix package: the kinds of fix, a change made, the working state."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from analyzer.config import Marketplace


class FixKind(str, Enum):
    """One fix; the value is the name used in fixes.yaml. Declared in the order they run:
    colour first (the backdrop's white patch is still there), props before the backdrop (their
    pixels go with it), framing after the backdrop is white (padding is then plain white), the
    output last."""

    COLOR = "color"
    PROPS = "props"
    BACKGROUND = "background"
    FRAMING = "framing"
    OUTPUT = "output"


class ChangeCode(str, Enum):
    """What a fix did, as it reaches the JSON contract's ``changes[].code``."""

    COLOR_CORRECTED = "COLOR_CORRECTED"
    PROPS_REMOVED = "PROPS_REMOVED"
    BACKGROUND_WHITENED = "BACKGROUND_WHITENED"
    REFRAMED = "REFRAMED"
    CONVERTED = "CONVERTED"


@dataclass(frozen=True)
class Change:
    code: ChangeCode
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


@dataclass
class FixState:
    """The image being fixed, at native size (at most ``max_long_side``), and what is known about
    it. Each fix reads and replaces ``rgb`` (uint8 H x W x 3, sRGB) and ``alpha`` (float32 0..1,
    the product's coverage, same size); ``white`` says whether the backdrop is already plain
    white (padding and painting out then use white)."""

    rgb: np.ndarray
    alpha: np.ndarray
    marketplace: Marketplace
    rules: dict[str, Any]
    flags: set[str]
    white: bool = False
    planned: tuple[FixKind, ...] = ()
    notes: list[str] = field(default_factory=list)
    # The original file's facts the output step needs (format, mode, orientation, name).
    source_info: dict[str, Any] = field(default_factory=dict)
    # The product-erased guard's answer (analyzer.fix.guard), computed once for all the fixes.
    doubt_checked: bool = False
    doubt: str | None = None
    unplain_share: float = 0.0
    two_levels: bool = False
    # The background fix left the backdrop because it may be more of a light product (its
    # cropped-product or mixed-white guard): the mask's extent is not the product's either.
    extent_unknown: bool = False

    @property
    def long_side(self) -> int:
        return int(max(self.rgb.shape[:2]))
