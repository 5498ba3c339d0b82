"""Listing Lens: will shoppers find and pick my product from its main photo?

Library entry points:

>>> from analyzer import analyze
>>> report = analyze("photo.jpg", marketplace="amazon")
>>> report.grade, report.scores["background"]
"""

from analyzer.errors import ErrorCode, ListingLensError

__version__ = "0.1.0"

__all__ = ["ErrorCode", "ListingLensError", "__version__", "analyze"]


def analyze(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Analyse one image; see :func:`analyzer.engine.analyze`."""
    # Imported lazily so `import analyzer` stays cheap for the CLI's --help.
    from analyzer.engine import analyze as _analyze

    return _analyze(*args, **kwargs)
