"""The project's one error type, with stable codes that reach users and tools.

Every failure a user can cause (a bad file, a wrong catalog, a hostile zip) is raised as a
:class:`ListingLensError` with a code from :class:`ErrorCode`, so the CLI, the audit reports and
the dashboard can show a specific message instead of a traceback.
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    FILE_NOT_FOUND = "FILE_NOT_FOUND"
    EMPTY_FILE = "EMPTY_FILE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    NOT_AN_IMAGE = "NOT_AN_IMAGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    TRUNCATED_IMAGE = "TRUNCATED_IMAGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    IMAGE_TOO_SMALL = "IMAGE_TOO_SMALL"
    CORRUPT_IMAGE = "CORRUPT_IMAGE"
    UNKNOWN_MARKETPLACE = "UNKNOWN_MARKETPLACE"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    CATALOG_NOT_FOUND = "CATALOG_NOT_FOUND"
    CATALOG_MISMATCH = "CATALOG_MISMATCH"
    EMBEDDER_UNAVAILABLE = "EMBEDDER_UNAVAILABLE"
    BAD_CSV = "BAD_CSV"
    BAD_ARCHIVE = "BAD_ARCHIVE"
    ARCHIVE_TOO_LARGE = "ARCHIVE_TOO_LARGE"
    UNSAFE_PATH = "UNSAFE_PATH"
    DOWNLOAD_FAILED = "DOWNLOAD_FAILED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # listing-lens fix
    NO_PRODUCT_FOUND = "NO_PRODUCT_FOUND"
    OUTPUT_EXISTS = "OUTPUT_EXISTS"
    OUTPUT_NOT_WRITABLE = "OUTPUT_NOT_WRITABLE"


class ListingLensError(Exception):
    """A failure with a stable ``code`` and a one-line, user-facing ``message``."""

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        self.code = ErrorCode(code)
        self.message = message
        super().__init__(f"{self.code.value}: {message}")

    def __reduce__(self) -> tuple:
        # Rebuilt from (code, message) when it crosses a process boundary (a worker's error
        # reaches the parent as itself; the default would call __init__ with one argument).
        return (type(self), (self.code, self.message))

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}
