"""What every check gets: one decoded image plus shared, lazily computed derivatives.

Cached properties mean the grey image, Lab image and product mask are computed once per image,
whichever check asks first, and shared by all the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from analyzer.config import Marketplace, check_thresholds
from analyzer.io.loader import LoadedImage
from analyzer.quality.title import names_a_set
from analyzer.results import Flag
from analyzer.vision.backdrop import lab_of

log = logging.getLogger(__name__)


@dataclass
class ImageContext:
    image: LoadedImage
    marketplace: Marketplace
    use_model: bool = True  # False: skip the neural mask and use the classical fallback
    title: str = ""  # the seller's product title, when given (clutter: a set or kit is one product)
    # The seller says the photo is printed media's cover art, edge to edge (a book's, a DVD's):
    # the whole frame is the product's printed face, with no backdrop or props to judge
    # (analyzer.engine.analyze_loaded sets the mask; background and clutter do not judge).
    cover_art: bool = False
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def rgb(self) -> np.ndarray:
        return self.image.rgb

    @property
    def alpha(self) -> np.ndarray | None:
        return self.image.alpha

    @cached_property
    def gray_u8(self) -> np.ndarray:
        """Luma as uint8 (OpenCV's BT.601 weights), converted once for every check."""
        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)

    @cached_property
    def gray(self) -> np.ndarray:
        """Luma as float32 in [0, 1] (:attr:`gray_u8` scaled)."""
        return self.gray_u8.astype(np.float32) / 255.0

    @cached_property
    def lab(self) -> np.ndarray:
        """CIE L*a*b* as float32 (L in 0..100, a/b roughly -128..127)."""
        return lab_of(self.rgb)

    @cached_property
    def mask_result(self) -> Any:
        from analyzer.vision.mask import product_mask

        return product_mask(self.rgb, self.alpha, use_model=self.use_model)

    @property
    def mask(self) -> np.ndarray:
        """Product probability in [0, 1], float32, working size."""
        return self.mask_result.prob

    @property
    def mask_bool(self) -> np.ndarray:
        return self.mask_result.binary

    @property
    def mask_bool_or_none(self) -> np.ndarray | None:
        """The product mask, or None when it could not be computed: checks that can fall back to
        the whole frame use this, so a failed mask costs precision, not the check."""
        try:
            return self.mask_bool
        except Exception as e:
            log.warning("product mask failed (%s: %s); measuring the whole frame",
                        type(e).__name__, e)
            return None

    @cached_property
    def title_names_set(self) -> bool:
        """Whether the seller's title names a set (:func:`analyzer.quality.title.names_a_set`,
        its words in the clutter check's thresholds): the objects on the backdrop are then
        pieces of the product, for every check that asks."""
        return bool(self.title) and names_a_set(self.title, check_thresholds("clutter"))

    def thresholds(self, check: str) -> dict[str, Any]:
        return check_thresholds(check)

    def flag(self, code: str, message: str, fix: str, check: str = "") -> Flag:
        """A flag whose severity is what the chosen marketplace gives this code."""
        return Flag(code=code, severity=self.marketplace.severity(code), message=message,
                    fix=fix, check=check)
