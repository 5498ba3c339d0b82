"""Analyse one image: load it once, run every registered check, combine the scores."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from analyzer.config import marketplace as get_marketplace
from analyzer.errors import ErrorCode, ListingLensError
from analyzer.io.loader import LoadedImage, load_image
from analyzer.quality.context import ImageContext
from analyzer.quality.overall import grade_for, overall_score
from analyzer.quality.registry import checks
from analyzer.results import CheckResult, ImageReport, sort_flags

log = logging.getLogger(__name__)


def analyze_loaded(img: LoadedImage, *, marketplace: str | None = None,
                   use_model: bool = True, keep_image: bool = False) -> ImageReport:
    """Run all checks on an already loaded image."""
    mkt = get_marketplace(marketplace)
    ctx = ImageContext(image=img, marketplace=mkt, use_model=use_model)
    results: dict[str, CheckResult] = {}
    for name, fn in checks().items():
        r = fn(ctx)
        # Every flag names its check, so reports can group and prioritise fixes by check.
        r.flags = [f if f.check else replace(f, check=name) for f in r.flags]
        results[name] = r
    flags = sort_flags([f for r in results.values() for f in r.flags])
    overall = overall_score(results, flags)
    scores = {"overall": round(overall, 2)}
    scores.update({n: round(float(r.score), 2) for n, r in results.items()})
    metrics = {f"{n}.{k}": v for n, r in results.items() for k, v in r.metrics.items()}
    return ImageReport(
        file=img.name, ok=True, error=None, width=img.width, height=img.height,
        format=img.format, scores=scores, grade=grade_for(overall, flags), metrics=metrics,
        flags=flags, checks=results, content_hash=img.content_hash, notes=list(img.notes),
        image=img if keep_image else None,
        mask=_mask_u8(ctx) if keep_image else None,
    )


def _mask_u8(ctx: ImageContext) -> np.ndarray | None:
    """The product mask the checks used, as uint8 0-255 (a quarter of float32's memory)."""
    mr = ctx.__dict__.get("mask_result")  # only when a check computed it
    if mr is None or getattr(mr, "prob", None) is None:
        return None
    return np.rint(np.clip(mr.prob, 0.0, 1.0) * 255.0).astype(np.uint8)


def error_report(name: str, err: ListingLensError) -> ImageReport:
    return ImageReport(file=name, ok=False, error=err.to_dict())


def analyze(source: str | Path | bytes, *, marketplace: str | None = None,
            name: str | None = None, use_model: bool = True,
            keep_image: bool = False) -> ImageReport:
    """Analyse one image from a path or bytes; never raises for a bad image.

    A file that cannot be analysed comes back with ``ok=False`` and ``error={code, message}``.
    An unknown marketplace is the caller's mistake and does raise.
    """
    get_marketplace(marketplace)  # fail fast on a typo, before any file is read
    label = name or (str(source) if not isinstance(source, (bytes, bytearray)) else "upload")
    try:
        img = load_image(source, name=label)
        return analyze_loaded(img, marketplace=marketplace, use_model=use_model,
                              keep_image=keep_image)
    except ListingLensError as e:
        return error_report(label, e)
    except MemoryError:
        return error_report(label, ListingLensError(
            ErrorCode.IMAGE_TOO_LARGE, "not enough memory to analyse this image"))
    except Exception as e:  # a bug must cost one image, never the batch
        # The user sees the code and message; the traceback is for `--debug` runs only.
        log.error("internal error while analysing %s: %s: %s", label, type(e).__name__, e,
                  exc_info=log.isEnabledFor(logging.DEBUG))
        return error_report(label, ListingLensError(
            ErrorCode.INTERNAL_ERROR, f"internal error while analysing this image "
            f"({type(e).__name__}); please report it"))


def analyze_many(sources: Iterable[str | Path], *, marketplace: str | None = None,
                 use_model: bool = True) -> Iterator[ImageReport]:
    for s in sources:
        yield analyze(s, marketplace=marketplace, use_model=use_model)
