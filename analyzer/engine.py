"""The one path of an image: load it once, run every registered check, combine the scores,
then (with a catalog) run the search simulation on the same decoded image and mask.

Every caller goes through here: the CLI (``analyze``), the store audit (one worker per image),
the Ray audit and the dashboard. :func:`analyze_and_enrich` is the whole path;
:func:`analyze` and :func:`enrich_report` are its two halves, for the dashboard, which shows
the quality card before the (slower) search simulation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.config import marketplace as get_marketplace
from analyzer.errors import ErrorCode, ListingLensError
from analyzer.io.loader import LoadedImage, load_image
from analyzer.quality.context import ImageContext
from analyzer.quality.overall import grade_for, overall_score
from analyzer.quality.registry import checks, declared_maps
from analyzer.results import CheckResult, ImageReport, sort_flags

log = logging.getLogger(__name__)


# Why a declared cover's background and props went unjudged (``cover_art``).
COVER_ART_NOTE = ("judged as cover art, as you said it is (a book's, a film's or a record's front "
                  "cover edge to edge, as marketplaces show media): the whole frame is the "
                  "product, so its background and props are not judged, and its printed words "
                  "are the cover's own")


def analyze_loaded(img: LoadedImage, *, marketplace: str | None = None,
                   use_model: bool = True, keep_image: bool = False,
                   known_mask: np.ndarray | None = None, title: str = "",
                   known_face: bool = False, cover_art: bool = False) -> ImageReport:
    """Run all checks on an already loaded image. ``known_mask``: the product mask when it is
    already known (a what-if or fixed photo made from the listing's own mask), used instead of
    running u2netp again. ``title``: the seller's product title, when known (a title that names
    a set or kit makes the other objects on the backdrop pieces of the product, not props).
    ``known_face``: with ``known_mask``, whether that mask is a printed product's face
    (:mod:`analyzer.vision.face`). ``cover_art``: the seller says the photo is printed media's
    cover art edge to edge; the whole frame is then the product's printed face (no mask is
    computed), and the background and clutter checks do not judge it. Telling cover art from
    a case photographed on a table needs the seller's word: a rule that guessed it from the
    title read 70% of such photos as covers (README). The word is taken as given, even for a
    case photographed on a sweep (its framing is then not judged either): a cover designed on
    white, edge to edge, has a plain white ring too, and refusing it would bring back the
    wrong flags the declaration is for."""
    mkt = get_marketplace(marketplace)
    notes = list(img.notes) + ([COVER_ART_NOTE] if cover_art else [])
    ctx = ImageContext(image=img, marketplace=mkt, use_model=use_model, title=title or "",
                       cover_art=cover_art)
    if cover_art:
        from analyzer.vision.mask import MaskResult

        h, w = img.rgb.shape[:2]
        ctx.__dict__["mask_result"] = MaskResult.from_prob(np.ones((h, w), np.float32), "cover",
                                                           face=True)
    elif known_mask is not None:
        from analyzer.vision.mask import MaskResult

        # the listing's product read as a printed face (a case, a book): its fixed or what-if
        # photo is the same product, read the same way (its print is its own)
        ctx.__dict__["mask_result"] = MaskResult.from_prob(known_mask, "given", face=known_face)
    results: dict[str, CheckResult] = {}
    for name, fn in checks().items():
        r = fn(ctx)
        # Every flag names its check, so reports can group and prioritise fixes by check.
        r.flags = [f if f.check else replace(f, check=name) for f in r.flags]
        extra = set(r.maps) - set(declared_maps(name))
        if extra:  # the dashboard finds a map by what its check declared, never by guessing
            raise ValueError(f"check {name} made undeclared overlay maps {sorted(extra)}")
        results[name] = r
    flags = sort_flags([f for r in results.values() for f in r.flags])
    overall = overall_score(results, flags)
    scores = {"overall": round(overall, 2)}
    scores.update({n: round(float(r.score), 2) for n, r in results.items()})
    metrics = {f"{n}.{k}": v for n, r in results.items() for k, v in r.metrics.items()}
    return ImageReport(
        file=img.name, ok=True, error=None, width=img.width, height=img.height,
        format=img.format, scores=scores, grade=grade_for(overall, flags, scores), metrics=metrics,
        flags=flags, checks=results, content_hash=img.content_hash, notes=notes,
        image=img if keep_image else None,
        mask=_mask_u8(ctx) if keep_image else None, title=title or "", cover_art=cover_art,
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
            keep_image: bool = False, title: str = "", cover_art: bool = False) -> ImageReport:
    """Analyse one image from a path or bytes; never raises for a bad image.

    A file that cannot be analysed comes back with ``ok=False`` and ``error={code, message}``.
    An unknown marketplace is the caller's mistake and does raise. ``title``: the seller's
    product title, when known; ``cover_art``: the photo is declared cover art (both: see
    :func:`analyze_loaded`).
    """
    get_marketplace(marketplace)  # fail fast on a typo, before any file is read
    label = name or (str(source) if not isinstance(source, (bytes, bytearray)) else "upload")
    try:
        img = load_image(source, name=label)
        return analyze_loaded(img, marketplace=marketplace, use_model=use_model,
                              keep_image=keep_image, title=title, cover_art=cover_art)
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


@dataclass
class Analysis:
    """One image through the whole path: the report (with the search figures when a catalog
    was given), the search simulation's own result (its embedding, simulated shopper photos and
    what-if photo; None without a catalog) and a small JPEG thumbnail when one was asked for."""

    report: ImageReport
    search: Any = None
    thumbnail: bytes | None = None

    @property
    def embedding(self) -> np.ndarray | None:
        """The listing's embedding with the catalog's embedder (the vector that was ranked)."""
        return None if self.search is None else getattr(self.search, "embedding", None)


def enrich_report(report: ImageReport, search: Any, *, marketplace: str | None = None,
                  **kwargs: Any) -> Any:
    """Add the search simulation to an analysed report (``keep_image=True``), in place.

    ``search`` is an open :class:`analyzer.search.integration.SearchContext`. Returns its
    ``SearchResult``, or None when the report failed or has no image. Never raises: the quality
    report stands on its own, so a search failure becomes a note on it.
    """
    if not report.ok or report.image is None or search is None:
        return None
    try:
        return search.enrich(report, marketplace=marketplace, **kwargs)
    except ListingLensError as e:
        report.notes.append(f"search simulation skipped: {e.message}")
    except Exception as e:  # a search-layer bug must not cost the quality report
        log.error("search simulation failed for %s: %s: %s", report.file, type(e).__name__, e,
                  exc_info=log.isEnabledFor(logging.DEBUG))
        report.notes.append(f"search simulation failed ({type(e).__name__}); "
                            "the quality report is complete")
    return None


def analyze_and_enrich(source: str | Path | bytes, *, marketplace: str | None = None,
                       name: str | None = None, use_model: bool = True, search: Any = None,
                       thumbnail: bool = False, keep_image: bool = False,
                       title: str = "", cover_art: bool = False) -> Analysis:
    """The whole path for one image: :func:`analyze`, then :func:`enrich_report` with the same
    decoded image and product mask when ``search`` (an open ``SearchContext``) is given, and a
    thumbnail of the working image when ``thumbnail``. Never raises for a bad image.

    The image and mask stay on the report only with ``keep_image`` (the dashboard's overlays);
    otherwise they are dropped as soon as they are no longer needed.
    """
    report = analyze(source, marketplace=marketplace, name=name, use_model=use_model,
                     keep_image=keep_image or thumbnail or search is not None, title=title,
                     cover_art=cover_art)
    res = enrich_report(report, search, marketplace=marketplace) if search is not None else None
    thumb = None
    if thumbnail and report.ok and report.image is not None:
        from analyzer.io.thumbnail import thumbnail_jpeg

        thumb = thumbnail_jpeg(report.image.rgb)
    if not keep_image:
        report.image = None
        report.mask = None
    return Analysis(report, res, thumb)
