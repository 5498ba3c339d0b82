"""Is one photo a geometric copy of another? Keypoint registration and a pixel check.

A copier resizes, crops, mirrors, re-encodes, stamps a name on or slightly recolours a catalog
photo; the result is the original under a *similarity transform* (scale and shift, no rotation,
no perspective) with the same pixels. A re-shoot of the same product (another angle, a shopper's
photo on a shelf) is not: its keypoints agree only under rotation, perspective or a degenerate
fit, and its pixels differ. So:

1. ORB keypoints and binary descriptors (Rublee et al., "ORB: an efficient alternative to SIFT
   or SURF", ICCV 2011) of both images in grey at ``long_side`` px, matched with Lowe's ratio
   test (Lowe, "Distinctive image features from scale-invariant keypoints", IJCV 2004);
2. a 4-degree-of-freedom similarity fit by RANSAC (Fischler & Bolles, CACM 1981;
   ``cv2.estimateAffinePartial2D``), for the query and its mirror image, the one with more
   inliers kept;
3. the candidate warped onto the query and compared on their overlap: the median zero-mean
   normalised cross-correlation of ``block`` x ``block`` textured blocks (blocks where both are
   flat, the backdrop, are skipped; a median over blocks ignores a stamped name, which covers
   few of them), and the 90th percentile over all blocks of the colour difference ``|ab - ab'|``
   in the CIELAB chroma plane, so that a recoloured variant of a garment (in grey the same shot)
   is told apart from a copy with a slight tint.

:class:`CopyMatch` holds the figures; the rule that reads them is
:class:`analyzer.search.duplicates.CopyRule` (thresholds in thresholds.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CopyMatch:
    """How well a candidate registers onto the query (see the module docstring).

    ``inliers``: keypoint matches consistent with the fitted similarity; ``rotation``: its angle
    in degrees; ``scale``: query px per candidate px at the common working size; ``ncc``: median
    block correlation on the overlap (-1 when too few textured blocks overlap); ``colour``:
    90th percentile of the blocks' CIELAB ab distance; ``overlap``: share of the query the warped
    candidate covers; ``mirrored``: the fit was to the query's mirror image."""

    inliers: int = 0
    rotation: float = 0.0
    scale: float = 0.0
    ncc: float = -1.0
    colour: float = float("inf")
    overlap: float = 0.0
    mirrored: bool = False


NO_MATCH = CopyMatch()


@dataclass(frozen=True)
class Prepared:
    """One image ready for matching: grey and Lab at the working size, keypoints, descriptors."""

    grey: np.ndarray
    ab: np.ndarray
    points: np.ndarray       # (n, 2) float32 keypoint positions
    descriptors: np.ndarray | None


def _orb(n_features: int) -> cv2.ORB:
    # Small edge threshold and patch: product photos are often small (a 200 px icon scaled up),
    # and the default 31 px border would drop most of their keypoints.
    return cv2.ORB_create(nfeatures=n_features, edgeThreshold=15, patchSize=15, fastThreshold=10)


def prepare(rgb: np.ndarray, long_side: int = 320, n_features: int = 800) -> Prepared:
    """``rgb`` (uint8) resized so its long side is ``long_side``, with its ORB features."""
    h, w = rgb.shape[:2]
    s = long_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    ab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)[..., 1:].astype(np.float32)
    kp, des = _orb(n_features).detectAndCompute(grey, None)
    pts = np.float32([k.pt for k in kp]).reshape(-1, 2)
    return Prepared(grey=grey, ab=ab, points=pts, descriptors=des)


def mirrored(p: Prepared, n_features: int = 800) -> Prepared:
    """The mirror image of a prepared image (its keypoints found again: ORB is not
    mirror-symmetric)."""
    grey = np.ascontiguousarray(p.grey[:, ::-1])
    kp, des = _orb(n_features).detectAndCompute(grey, None)
    return Prepared(grey=grey, ab=np.ascontiguousarray(p.ab[:, ::-1]),
                    points=np.float32([k.pt for k in kp]).reshape(-1, 2), descriptors=des)


def _tiles(x: np.ndarray, block: int) -> np.ndarray:
    """(n_tiles, block * block, ...) non-overlapping ``block``-square tiles of ``x``."""
    hb, wb = x.shape[0] // block, x.shape[1] // block
    t = x[:hb * block, :wb * block].reshape(hb, block, wb, block, *x.shape[2:]).swapaxes(1, 2)
    return t.reshape(hb * wb, block * block, *x.shape[2:])


def _compare(a: np.ndarray, b: np.ndarray, ab_a: np.ndarray, ab_b: np.ndarray,
             overlap: np.ndarray, block: int) -> tuple[float, float]:
    """(median zero-mean NCC over the ``block``-square tiles inside ``overlap`` where at least one
    image has texture, flat backdrop tiles saying nothing about a copy; the 90th percentile of
    the tiles' mean CIELAB ab distance over all tiles inside, so that a recoloured panel of a
    garment, flat and a tenth of the frame or more, counts while a stamped name does not);
    (-1, inf) with fewer than 8 textured tiles."""
    if min(a.shape) < block:
        return -1.0, float("inf")
    inside = _tiles(overlap.astype(np.uint8), block).min(axis=1) > 0
    ta, tb = _tiles(a, block)[inside], _tiles(b, block)[inside]
    ta = ta - ta.mean(axis=1, keepdims=True)
    tb = tb - tb.mean(axis=1, keepdims=True)
    na, nb = np.linalg.norm(ta, axis=1), np.linalg.norm(tb, axis=1)
    # a tile with a grey-level spread under ~2 levels in both images is flat: nothing to compare
    textured = np.maximum(na, nb) > 2.0 * block
    if textured.sum() < 8:
        return -1.0, float("inf")
    r = (ta * tb).sum(axis=1)[textured] / np.maximum(na * nb, 1e-6)[textured]
    d = np.linalg.norm(_tiles(ab_a, block)[inside] - _tiles(ab_b, block)[inside],
                       axis=2).mean(axis=1)
    return float(np.median(r)), float(np.percentile(d, 90))


def _fit(q: Prepared, c: Prepared, ratio: float, reproj_px: float
         ) -> tuple[np.ndarray | None, int]:
    if q.descriptors is None or c.descriptors is None or len(q.points) < 8 or len(c.points) < 8:
        return None, 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(c.descriptors, q.descriptors, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < ratio * m[1].distance]
    if len(good) < 8:
        return None, 0
    src = c.points[[m.queryIdx for m in good]]
    dst = q.points[[m.trainIdx for m in good]]
    M, inl = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                         ransacReprojThreshold=reproj_px)
    if M is None or inl is None:
        return None, 0
    return M, int(inl.sum())


def match(query: Prepared, candidate: Prepared, query_mirror: Prepared | None = None,
          ratio: float = 0.8, reproj_px: float = 3.0, block: int = 16) -> CopyMatch:
    """How well ``candidate`` registers onto ``query`` or onto ``query_mirror`` (the better
    fit by inliers); :data:`NO_MATCH` when neither fits."""
    best: tuple[np.ndarray, int, Prepared, bool] | None = None
    for q, is_mirror in ((query, False), (query_mirror, True)):
        if q is None:
            continue
        M, n = _fit(q, candidate, ratio, reproj_px)
        if M is not None and (best is None or n > best[1]):
            best = (M, n, q, is_mirror)
    if best is None:
        return NO_MATCH
    M, n, q, is_mirror = best
    h, w = q.grey.shape
    warped = cv2.warpAffine(candidate.grey, M, (w, h), flags=cv2.INTER_LINEAR)
    ones = np.ones(candidate.grey.shape, np.uint8)
    overlap = cv2.warpAffine(ones, M, (w, h), flags=cv2.INTER_NEAREST) > 0
    # erode by a pixel: the warped border interpolates with the black outside
    overlap = cv2.erode(overlap.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    a = cv2.GaussianBlur(q.grey, (0, 0), 1.0).astype(np.float32)
    b = cv2.GaussianBlur(warped, (0, 0), 1.0).astype(np.float32)
    ab = cv2.warpAffine(candidate.ab, M, (w, h), flags=cv2.INTER_LINEAR)
    ncc, colour = _compare(a, b, q.ab, ab, overlap, block)
    return CopyMatch(inliers=n, rotation=float(np.degrees(np.arctan2(M[1, 0], M[0, 0]))),
                     scale=float(np.hypot(M[0, 0], M[1, 0])), ncc=ncc, colour=colour,
                     overlap=float(overlap.mean()), mirrored=is_mirror)
