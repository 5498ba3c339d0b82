"""The codes a report can carry: :class:`FlagCode` (a finding, with the check that raises it)
and :class:`Severity`. Errors that stop an analysis have their own codes
(:class:`analyzer.errors.ErrorCode`).

Both are ``str`` enums, so a code compares equal to its name and serialises as it in JSON; a
code that is not a member (a typo in a check, in thresholds.yaml or in marketplaces.yaml) raises
``ValueError`` where it is made or loaded, instead of silently becoming a warning.
"""

from __future__ import annotations

from enum import Enum


class _StrEnum(str, Enum):
    # str() and f-strings give the bare value on every Python (3.10's Enum gives "Cls.NAME").
    def __str__(self) -> str:
        return str(self.value)

    __format__ = str.__format__

    # Enum hashes the member's name; a member must find its value's entry in a plain dict
    # ("error" for Severity.ERROR), as it compares equal to it.
    def __hash__(self) -> int:
        return str.__hash__(self)


def issue_name(code: str) -> str:
    """A code as a reader sees it in a report ("PRODUCT_CUT_OFF" -> "Product cut off"); any
    string, so an older report's unknown code still reads."""
    return str(code).replace("_", " ").capitalize()


class Severity(_StrEnum):
    ERROR = "error"      # the marketplace rejects or suppresses the listing
    WARNING = "warning"  # costs clicks or ranking
    INFO = "info"        # worth knowing, rarely costs anything

    @property
    def rank(self) -> int:
        """0 for the most severe: the order flags are shown and fixed in."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class MapKind(_StrEnum):
    """Per-pixel maps a check can hand the dashboard for its overlays (working size)."""

    BLUR = "blur"              # sharpness: 1 = blurry, 0 = sharp (float)
    EDGES = "edges"            # clutter: edges outside the product (bool)
    WHITE = "white"            # background: pure-white pixels (bool)
    BACKGROUND = "background"  # background: the region measured as backdrop (bool)
    TEXT = "text"              # overlays: boxes of detected text, badges, insets (float)


class FlagCode(_StrEnum):
    BLURRY = "BLURRY"
    UPSCALED = "UPSCALED"
    NOISY = "NOISY"
    COMPRESSED = "COMPRESSED"
    OVEREXPOSED = "OVEREXPOSED"
    UNDEREXPOSED = "UNDEREXPOSED"
    COLOR_CAST = "COLOR_CAST"
    MONOCHROME = "MONOCHROME"
    BACKGROUND_NOT_WHITE = "BACKGROUND_NOT_WHITE"
    BACKGROUND_OFF_WHITE = "BACKGROUND_OFF_WHITE"
    BACKGROUND_TRANSPARENT = "BACKGROUND_TRANSPARENT"
    PRODUCT_TOO_SMALL = "PRODUCT_TOO_SMALL"
    PRODUCT_CUT_OFF = "PRODUCT_CUT_OFF"
    OFF_CENTER = "OFF_CENTER"
    NO_PRODUCT = "NO_PRODUCT"
    CLUTTERED_BACKGROUND = "CLUTTERED_BACKGROUND"
    LOW_RESOLUTION = "LOW_RESOLUTION"
    NO_ZOOM = "NO_ZOOM"
    FORMAT_NOT_ACCEPTED = "FORMAT_NOT_ACCEPTED"
    FILE_TOO_BIG_FOR_MARKETPLACE = "FILE_TOO_BIG_FOR_MARKETPLACE"
    CMYK = "CMYK"
    ANIMATED = "ANIMATED"
    ASPECT_RATIO = "ASPECT_RATIO"
    TEXT_OR_WATERMARK = "TEXT_OR_WATERMARK"
    BORDER = "BORDER"
    INSET_IMAGE = "INSET_IMAGE"
    NOT_A_PHOTO = "NOT_A_PHOTO"
    SPLIT_IMAGE = "SPLIT_IMAGE"
    LOW_DIFFERENTIATION = "LOW_DIFFERENTIATION"
    NEAR_DUPLICATE = "NEAR_DUPLICATE"
    LOW_SEARCH_RANK = "LOW_SEARCH_RANK"
    OUTSIDE_CATALOG = "OUTSIDE_CATALOG"

    @property
    def check(self) -> str:
        """The check (or search figure) that raises this code: the score its fix improves."""
        return FLAG_CHECK[self]


# Which check raises each code. A test asserts every code has one and that each quality check's
# module raises only its own codes.
FLAG_CHECK: dict[FlagCode, str] = {
    FlagCode.BLURRY: "sharpness",
    FlagCode.UPSCALED: "sharpness",
    FlagCode.NOISY: "sharpness",
    FlagCode.COMPRESSED: "sharpness",
    FlagCode.OVEREXPOSED: "exposure",
    FlagCode.UNDEREXPOSED: "exposure",
    FlagCode.COLOR_CAST: "exposure",
    FlagCode.MONOCHROME: "exposure",
    FlagCode.BACKGROUND_NOT_WHITE: "background",
    FlagCode.BACKGROUND_OFF_WHITE: "background",
    FlagCode.BACKGROUND_TRANSPARENT: "background",
    FlagCode.PRODUCT_TOO_SMALL: "framing",
    FlagCode.PRODUCT_CUT_OFF: "framing",
    FlagCode.OFF_CENTER: "framing",
    FlagCode.NO_PRODUCT: "framing",
    FlagCode.CLUTTERED_BACKGROUND: "clutter",
    FlagCode.LOW_RESOLUTION: "resolution",
    FlagCode.NO_ZOOM: "resolution",
    FlagCode.FORMAT_NOT_ACCEPTED: "resolution",
    FlagCode.FILE_TOO_BIG_FOR_MARKETPLACE: "resolution",
    FlagCode.CMYK: "resolution",
    FlagCode.ANIMATED: "resolution",
    FlagCode.ASPECT_RATIO: "resolution",
    FlagCode.TEXT_OR_WATERMARK: "overlays",
    FlagCode.BORDER: "overlays",
    FlagCode.INSET_IMAGE: "overlays",
    FlagCode.NOT_A_PHOTO: "overlays",
    FlagCode.SPLIT_IMAGE: "overlays",
    FlagCode.LOW_DIFFERENTIATION: "differentiation",
    FlagCode.NEAR_DUPLICATE: "differentiation",
    FlagCode.LOW_SEARCH_RANK: "search",
    FlagCode.OUTSIDE_CATALOG: "search",
}
