"""Near-duplicates that survive what copiers do: mirror, crop, resize, re-encode, stamp, tint.

A copy of a catalog photo is compared with the catalog by two signatures, each taken for the
upload *and its mirror image* so that flipping the photo left-right changes nothing:

- the DCT perceptual hash (Zauner, "Implementation and benchmarking of perceptual image hash
  functions", 2010; ``imagehash.phash``, 64 bits, the hash the catalog stores per image):
  ``d = min(hamming(phash(x), h_i), hamming(phash(mirror(x)), h_i))``;
- the embedding cosine: ``s = max(cos(e(x), x_i), cos(e(mirror(x)), x_i))``.

pHash survives resize, re-encode and a colour shift but not a crop of a few per cent (the
DCT grid moves) nor a stamped name; the embedding survives crop, text and colour (it is
computed on the product's crop) but also scores a re-shoot of the same product highly. So a
catalog image is a near-duplicate of the upload when (rule :class:`CopyRule`, thresholds in
``thresholds.yaml`` ``differentiation:``):

    same file (sha256)
    or d <= phash_strict
    or (d <= phash_max and s >= similarity)
    or s >= similarity_strict

with the two embedding thresholds above what other photos of the same product reach (another
angle or colour variant of a luma product; a shopper's photo of a grocery product), measured in
``scripts/evaluate_duplicates.py``.

Both signatures are global, so a small photo that was cropped *and* stamped moves them past
any threshold that spares re-shoots (grocery's 200 px package shots: 72% of copies found by the
rule above). So the ``verify_top_k`` most similar catalog images that the rule did not flag are
also *registered* onto the upload (:mod:`analyzer.vision.registration`: ORB keypoints, a
RANSAC similarity fit for the upload and its mirror image, then the pixels compared on the
overlap), and one is a copy when

    inliers >= verify_min_inliers and |rotation| <= verify_max_rotation
    and verify_scale[0] <= scale <= verify_scale[1]
    and block NCC >= verify_min_ncc and colour difference <= verify_max_colour

A copier's edits are a similarity transform of the same pixels; a re-shoot needs rotation,
perspective or different pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from analyzer.search import differentiation as diff
from analyzer.vision.registration import CopyMatch


@dataclass(frozen=True)
class QuerySignature:
    """The upload's perceptual hashes: of the image and of its mirror image (uint64 each)."""

    hashes: tuple[int, int]

    @property
    def hex(self) -> str:
        return f"{self.hashes[0]:016x}"


def mirror(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(rgb)[:, ::-1])


def query_signature(rgb: np.ndarray) -> QuerySignature:
    """pHash of ``rgb`` and of its left-right mirror image."""
    return QuerySignature(hashes=(int(diff.phash_hex(rgb), 16),
                                  int(diff.phash_hex(mirror(rgb)), 16)))


def mirror_hash_distances(sig: QuerySignature, item_hashes: Any) -> np.ndarray:
    """Per catalog image: the smaller Hamming distance of its stored pHash to the upload's pHash
    or to its mirror image's."""
    h = diff.hex_to_u64(list(item_hashes))
    if len(h) == 0:
        return np.zeros(0, np.int64)
    return np.minimum(diff.hamming(sig.hashes[0], h), diff.hamming(sig.hashes[1], h))


def mirror_similarities(e: np.ndarray, e_mirror: np.ndarray | None,
                        item_sims: np.ndarray, E: np.ndarray | None = None) -> np.ndarray:
    """``max(cos(e, x_i), cos(e_mirror, x_i))`` per catalog image; ``item_sims`` = ``E @ e``."""
    s = np.asarray(item_sims, dtype=np.float32)
    if e_mirror is None or E is None:
        return s
    return np.maximum(s, E @ np.asarray(e_mirror, dtype=np.float32))


@dataclass(frozen=True)
class CopyRule:
    """See the module docstring; defaults chosen on the luma tuning half (see the script)."""

    phash_max: int = 20
    similarity: float = 0.86
    phash_strict: int = 2
    similarity_strict: float = 0.90
    verify_top_k: int = 0               # 0: no registration (the rule before it)
    verify_min_inliers: int = 15
    verify_max_rotation: float = 1.5    # degrees
    verify_scale: tuple[float, float] = (0.8, 1.3)
    verify_min_ncc: float = 0.75
    verify_max_colour: float = 25.0     # 90th percentile of the blocks' CIELAB ab distance

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> CopyRule:
        d = dict(d or {})
        scale = d.get("duplicate_verify_scale", cls.verify_scale)
        return cls(phash_max=int(d.get("duplicate_phash_max", cls.phash_max)),
                   similarity=float(d.get("duplicate_similarity", cls.similarity)),
                   phash_strict=int(d.get("duplicate_phash_strict", cls.phash_strict)),
                   similarity_strict=float(d.get("duplicate_similarity_strict",
                                                 cls.similarity_strict)),
                   verify_top_k=int(d.get("duplicate_verify_top_k", cls.verify_top_k)),
                   verify_min_inliers=int(d.get("duplicate_verify_min_inliers",
                                                cls.verify_min_inliers)),
                   verify_max_rotation=float(d.get("duplicate_verify_max_rotation",
                                                   cls.verify_max_rotation)),
                   verify_scale=(float(scale[0]), float(scale[1])),
                   verify_min_ncc=float(d.get("duplicate_verify_min_ncc", cls.verify_min_ncc)),
                   verify_max_colour=float(d.get("duplicate_verify_max_colour",
                                                 cls.verify_max_colour)))

    def is_duplicate(self, dist: np.ndarray, sims: np.ndarray, same_file: np.ndarray,
                     hash_ok: np.ndarray) -> np.ndarray:
        by_hash = hash_ok & (dist <= self.phash_max) & (sims >= self.similarity)
        strict_hash = hash_ok & (dist <= self.phash_strict)
        return same_file | by_hash | strict_hash | (sims >= self.similarity_strict)

    def is_registered_copy(self, m: CopyMatch) -> bool:
        """The registration test of the module docstring."""
        lo, hi = self.verify_scale
        return (m.inliers >= self.verify_min_inliers
                and abs(m.rotation) <= self.verify_max_rotation and lo <= m.scale <= hi
                and m.ncc >= self.verify_min_ncc and m.colour <= self.verify_max_colour)


# The rule before issue 16 (pHash + cosine of the upload only, no mirror), kept so the evaluation
# can show what the mirror-invariant rule buys (scripts/evaluate_duplicates.py).
FIRST_RULE = CopyRule(phash_max=6, similarity=0.90, phash_strict=2, similarity_strict=0.985)


def find_copies(sig: QuerySignature, sha256: str, sims: np.ndarray, item_hashes: Any,
                item_sha256: Any, rule: CopyRule,
                register: Callable[[int], CopyMatch] | None = None
                ) -> tuple[np.ndarray, np.ndarray, dict[int, CopyMatch]]:
    """(indices of catalog images that are copies of the upload, most similar first; the
    mirror-invariant hash distance of every catalog image; the registrations tried, by catalog
    index). ``sims``: see :func:`mirror_similarities`; ``register(i)``: the upload registered
    onto catalog image ``i`` (:func:`analyzer.vision.registration.match`), tried for the
    ``rule.verify_top_k`` most similar images the signatures did not flag (none without it)."""
    hashes = list(item_hashes)
    ok = diff.valid_hashes(hashes)
    dist = mirror_hash_distances(sig, hashes)
    same = (np.asarray([str(h) == sha256 for h in item_sha256], dtype=bool) if sha256
            else np.zeros(len(hashes), bool))
    sims = np.asarray(sims)
    dup = rule.is_duplicate(dist, sims, same, ok)
    tried: dict[int, CopyMatch] = {}
    if register is not None and rule.verify_top_k > 0 and len(sims):
        k = min(rule.verify_top_k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        for i in top[np.argsort(-sims[top], kind="stable")]:
            if not dup[i]:
                tried[int(i)] = m = register(int(i))
                dup[i] = rule.is_registered_copy(m)
    idx = np.flatnonzero(dup)
    return idx[np.argsort(-sims[idx], kind="stable")], dist, tried
