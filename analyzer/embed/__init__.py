"""Image (and text) embedding backends behind one interface.

>>> from analyzer.embed import get_embedder
>>> emb = get_embedder("builtin")            # EfficientNet-Lite0, offline, the default
>>> vecs = emb.embed([rgb1, rgb2])           # (2, emb.dim) float32, rows L2-normalised
>>> emb.id                                   # names model + weights + preprocessing

Specs: ``builtin`` (the current default recipe), the ablations ``builtin:global``,
``builtin:global+crop`` and ``builtin:global+crop+color`` (the v2 default), ``builtin:head``
(the self-supervised residual head on the whole image + HSV histogram; what ``builtin`` is since
2026-12-03), any built-in recipe
by its tag or its whole id (``builtin:effnet-lite0-imagenet:TAG:VERSION``, which is how a catalog
gets back the embedder that built it), and ``clip:MODEL:WEIGHTS`` (see
:mod:`analyzer.embed.clip`).
"""

from __future__ import annotations

import threading

from analyzer.embed.base import Embedder, l2_normalize, resolve_device
from analyzer.errors import ErrorCode, ListingLensError

__all__ = ["BUILTIN_VARIANTS", "Embedder", "get_embedder", "l2_normalize", "resolve_device"]

DEFAULT_SPEC = "builtin"
BUILTIN_VARIANTS = ("global", "global+crop", "global+crop+color", "head")

_cache: dict[tuple[str, str, bool], Embedder] = {}
_cache_lock = threading.Lock()


def _builtin_config(variant: str):  # type: ignore[no-untyped-def]
    """A built-in recipe from the part of the spec after ``builtin:``: empty (the default), one
    of :data:`BUILTIN_VARIANTS`, a recipe tag, or a whole embedder id
    (``effnet-lite0-imagenet:TAG:VERSION``) so that a catalog re-creates the embedder that built it.
    """
    from dataclasses import replace

    from analyzer.embed.builtin import (
        DEFAULT_CONFIG,
        GLOBAL_ONLY,
        HEAD_CONFIG,
        V2_CONFIG,
        VERSION,
        BuiltinConfig,
    )

    named = {"": DEFAULT_CONFIG, "default": DEFAULT_CONFIG, "global": GLOBAL_ONLY,
             "global+crop": replace(V2_CONFIG, color=False), "global+crop+color": V2_CONFIG,
             "head": HEAD_CONFIG}
    if variant in named:
        return named[variant]
    tag = variant
    prefix = "effnet-lite0-imagenet:"
    if variant.startswith(prefix):
        tag, _, version = variant[len(prefix):].rpartition(":")
        if version != VERSION:
            tag = ""
    try:
        return BuiltinConfig.from_tag(tag)
    except ValueError:
        raise ListingLensError(
            ErrorCode.EMBEDDER_UNAVAILABLE,
            f"unknown built-in variant '{variant}'; choose one of: {', '.join(BUILTIN_VARIANTS)}, "
            "a recipe tag or a built-in embedder id") from None


def get_embedder(spec: str = DEFAULT_SPEC, device: str = "auto",
                 allow_download: bool = False) -> Embedder:
    """The embedder for ``spec``, loaded once per (spec, device) in this process.

    Raises ListingLensError(EMBEDDER_UNAVAILABLE) for an unknown spec, missing weights or a
    download that is not allowed.
    """
    spec = (spec or DEFAULT_SPEC).strip()
    dev = resolve_device(device)
    key = (spec, dev, allow_download)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
        if spec == "builtin" or spec.startswith("builtin:"):
            from analyzer.embed.builtin import BuiltinEmbedder

            emb: Embedder = BuiltinEmbedder(dev, _builtin_config(spec.partition(":")[2]))
        elif spec.startswith("clip:"):
            from analyzer.embed.clip import ClipEmbedder

            emb = ClipEmbedder(spec, dev, allow_download=allow_download)
        else:
            raise ListingLensError(
                ErrorCode.EMBEDDER_UNAVAILABLE,
                f"unknown embedder '{spec}'; use builtin or clip:MODEL:WEIGHTS")
        _cache[key] = emb
        return emb
