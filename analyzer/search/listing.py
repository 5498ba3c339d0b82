"""The listing's own photo as the search layer sees it: its product mask (found the way the
catalog's images were), and its quality score and flags when a what-if photo is graded."""

from __future__ import annotations

from typing import Any

import numpy as np

from analyzer.results import Flag, ImageReport


def listing_mask(rgb: np.ndarray, alpha: np.ndarray | None = None,
                 known: np.ndarray | None = None) -> np.ndarray:
    """The product mask of a listing, found the way the catalog's images were when they were
    embedded (the built-in embedder's plain-background mask for a studio shot, else u2netp), so
    the upload and the catalog are described alike; a real alpha channel wins. ``known``: the
    product mask the quality engine already computed for this image (u2netp, or its classical
    fallback), used instead of running u2netp again."""
    from analyzer.vision.mask import product_mask
    from analyzer.vision.mask_ops import unit_prob

    if alpha is None or float((alpha < 128).mean()) <= 0.01:
        from analyzer.vision.backdrop import studio_product_prob

        prob = studio_product_prob(rgb)
        if prob is not None:
            return prob.astype(np.float32)
    if known is not None and known.shape[:2] == rgb.shape[:2]:
        return unit_prob(known)
    return product_mask(rgb, alpha).prob


def report_mask(report: ImageReport) -> np.ndarray | None:
    """The product mask the quality engine computed for ``report`` (kept with the image, see
    :func:`analyzer.engine.analyze_loaded`), when it matches the working image; None otherwise."""
    m = getattr(report, "mask", None)
    img = getattr(report, "image", None)
    shape = getattr(getattr(img, "rgb", None), "shape", (0, 0))[:2]
    if isinstance(m, np.ndarray) and m.ndim == 2 and m.shape == tuple(shape):
        return m
    return None


def report_face(report: ImageReport) -> bool:
    """Whether the quality engine read ``report``'s product as a printed face (a DVD case, a
    book: :mod:`analyzer.vision.face`), as its overlays metric records."""
    return bool((getattr(report, "metrics", None) or {}).get("overlays.printed_face"))


def photo_quality(rgb: np.ndarray, marketplace: str | None = None, like: Any = None,
                  use_model: bool = True, mask: np.ndarray | None = None,
                  title: str = "", face: bool = False, cover_art: bool = False
                  ) -> tuple[float, list[Flag]]:
    """(overall score, flags) of the quality checks on an RGB image (a what-if image, or a
    listing given without its report), as ``analyze`` finds them. ``mask``: the product mask
    when it is known (a what-if image is made from the listing's mask, so u2netp need not run
    again: ~0.1 s instead of ~0.6 s CPU here); else the neural mask (the classical one took
    clean luma studio shots for grey backgrounds, 2 of 5 Tops, which would then be suppressed).
    ``like``: the original's LoadedImage, whose pixel size (scaled to this image) and file facts
    the resolution rules see; ``title``: the listing's title, as the checks saw it; ``face``:
    with ``mask``, the listing's product was read as a printed face (:func:`report_face`);
    ``cover_art``: the listing was declared cover art, so its what-if photo is graded so too."""
    from dataclasses import replace

    from analyzer.engine import analyze_loaded
    from analyzer.io.loader import LoadedImage

    h, w = rgb.shape[:2]
    if like is not None:
        s = max(like.width, like.height) / max(like.rgb.shape[:2])
        img = replace(like, rgb=rgb, alpha=None, width=max(1, round(w * s)),
                      height=max(1, round(h * s)), notes=[])
    else:
        img = LoadedImage(name="listing", rgb=rgb, alpha=None, width=w, height=h, format="JPEG",
                          original_mode="RGB", bit_depth=8, file_size=0, content_hash="")
    known = mask if mask is not None and mask.shape[:2] == (h, w) else None
    rep = analyze_loaded(img, marketplace=marketplace, use_model=use_model, known_mask=known,
                         title=title, known_face=face and known is not None,
                         cover_art=cover_art)
    return float(rep.scores.get("overall", 0.0)), list(rep.flags)
