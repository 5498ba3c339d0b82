"""Before/after splits and joined pictures: the frame cut in two by one straight line.

A seller's before/after picture (a shoe cleaned, a chair restored, a garment de-pilled) joins two
photos, or one photo half altered, along a straight line, often with a drawn divider; a collage
joins two views. As a main image it shows the product twice or half of it not as it is sold;
Amazon asks for a photo of the actual product (marketplace-rules.md, "must be the actual
product, not a graphic") and forbids inset images. The third new user's try: 8 of 8 such photos
graded A; a fourth user's (a helper's own recipes, 2026-12-06): 33 of 40 not flagged, 8 graded A.

Measure (:func:`line_shares`), on the overlays' working copy (Lab) and the product mask at
that size (the plain backdrop taken off), both shrunk to ``split_work_long_side`` (a seam is
a seam at any size; :func:`working_copies`), for every column (and, on the transposed copy,
every row) ``x``:

- a *step* at a row ``y``: the colour difference across ``x``,
  ``d(y, x) = ||Lab(y, x + 1) - Lab(y, x - 1)||`` (CIE76 Delta E over two px, which a 1 px
  divider or an anti-aliased seam still shows), is at least ``split_step_de`` and the largest
  within 2 px along the row; the line may wander 1 px (a step at ``x - 1``, ``x`` or ``x + 1``);
- the line's sides: the product mask ``split_side_frac`` of the width (at least 3 px) to its
  left and to its right, past a divider; ``cross``: the share of the rows with the product on
  both sides, ``off_rows``: the others (``1 - cross``);
- ``on``: the share of the crossing rows holding a step; ``off``: the same over the other rows
  (a seam through the backdrop, a divider, the "before" half's other backdrop, taken for
  product on one side or not); ``across``: the share of all rows holding one; ``ends``: the
  smaller share of the rows holding one within ``split_end_frac`` of either end of the line;
- ``framed``: whether every column between the line and one edge of the frame is flat (one
  colour: a std under half the step on each channel); ``banded``: whether a second full line
  (steps down ``split_band_across`` of it and into both ends) runs ``split_band`` of the width
  away, the other edge of a banner strip.

A step must also stand ``split_noise_k`` times above the photo's median difference over two
px: on a grainy photo (a small icon with sensor noise) every column steps somewhere.

A line is a split (:func:`splits`), one that *cuts* the product, when it crosses the product
(``cross`` at least ``split_min_cross``); when its step runs through the product (``on`` at
least ``split_min_on``), down the whole frame (``across`` at least ``split_min_across``) and into
both of the frame's edges (``ends`` at least ``split_min_ends``); where the line runs off the
product on at least ``split_off_rows`` of its length, when the step goes on through the
backdrop too (``off`` at least ``split_min_off``); and when it is neither ``framed`` nor
``banded``. A line that crosses no product *joins* two pictures when its step runs down nearly
all of it (``off`` at least ``split_min_seam``: the seam between two panels, their backdrops or
a divider), into the frame's edges, is neither ``framed`` nor ``banded``, and leaves each
picture at least ``split_min_panel`` of the frame (``at``, the line's place: a floor board's
seam or a long drawn line near the frame's edge is no seam between two pictures). A product's
own straight edge (a carton's corner, a placket) stops at its outline, with no step in the
backdrop beyond it and none at the frame's edges; a wall's or a floor's seam runs behind the
product, which hides it; a frame's or a padding's inner edge has only flat columns on its outer
side, where a split has the product on both. Where the product fills the line (a model cropped
at the frame's top and bottom) only ``across`` and ``ends`` tell a seam from the product's own
lines. Lines within ``split_margin`` of the frame's edge are left to the border finder, and a
printed product's face (a DVD case, a book: :func:`analyzer.quality.overlays.face_mask`) is not
searched: its straight edges and printed rules are its own. Not found: a split of the product
alone on an untouched white backdrop with no divider or a white one (the line then stops at the
product's outline, as the gap between two boxes of a set does), a "before" look the product's
colour hides (a black garment made duller is still black), a tilted or diagonal line, and two
pictures on one white backdrop with no divider (the seam is then invisible: two copies side by
side are a pair of shoes).

Reference: the projection of edge maps along a direction is the Hough transform's accumulator
for that direction (Duda & Hart, "Use of the Hough transformation to detect lines and curves in
pictures", CACM 15(1), 1972); a composite's seam is a line of edges across the whole frame.
The values were chosen on the tune split (``scripts/choose_split_rule.py``, README).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.vision.shrink import shrink_area


@dataclass(frozen=True)
class SplitLine:
    """One measured line (a column or a row of the working copy): where it is and what it
    holds."""

    vertical: bool   # a vertical line (a column) or a horizontal one (a row)
    at: float        # its place, as a share of the frame's width (vertical) or height
    on: float        # share of the product-crossing rows with a step
    off: float       # share of the other rows (not crossing) with a step
    across: float    # share of all rows with a step
    ends: float      # the smaller share of rows with a step at either end of the line
    cross: float     # share of the rows that cross the product
    off_rows: float  # share of the other rows (1 - cross)


@dataclass(frozen=True)
class SplitFinding:
    lines: tuple[SplitLine, ...]  # each orientation's line with most steps across (split or not)
    split: SplitLine | None       # the line that splits the photo, if any

    @property
    def found(self) -> bool:
        return self.split is not None


def working_copies(lab: np.ndarray, product: np.ndarray, th: dict
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``lab`` (area-averaged, :func:`analyzer.vision.shrink.shrink_area`; float32) and
    ``product`` (nearest) shrunk to ``split_work_long_side`` on the long side (never
    enlarged)."""
    h, w = product.shape
    s = min(1.0, float(th["split_work_long_side"]) / max(h, w))
    lab = np.asarray(lab, dtype=np.float32)
    if s >= 1.0:
        return lab, product
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return (shrink_area(lab, size),
            cv2.resize(product.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0)


def _steps2(lab: np.ndarray, vertical: bool) -> np.ndarray:
    """Squared Delta E across each column (``vertical``) or row of ``lab``, over two px
    (0 on the frame's first and last), laid out with the lines as columns: the row case is
    differenced in place and only the one-channel result transposed (a transposed copy of the
    three-channel image cost ~1 ms)."""
    h, w = lab.shape[:2]
    diff = (cv2.subtract(lab[:, 2:], lab[:, :-2]) if vertical
            else cv2.subtract(lab[2:], lab[:-2]))
    # the channels' squares summed by one matrix row (equal to numpy's einsum, 3x faster)
    sq = cv2.transform(cv2.multiply(diff, diff), np.ones((1, 3)))
    d2 = np.zeros((h, w), np.float32)
    if vertical:
        d2[:, 1:-1] = sq
        return d2
    d2[1:-1] = sq
    return np.ascontiguousarray(d2.T)


def line_shares(d2: np.ndarray, product: np.ndarray, flat: Callable[[], np.ndarray],
                th: dict) -> dict[str, np.ndarray]:
    """Per column of ``d2`` (:func:`_steps2`, at the product mask's size): the shares the module
    docstring defines, each an array over the columns. ``flat()`` says which columns are one
    colour (called only when some line could be a split)."""
    h, w = product.shape
    peak = cv2.dilate(d2, np.ones((1, 5), np.uint8))     # the largest within 2 px along a row
    # a grainy photo steps everywhere: the step must also stand ``split_noise_k`` times above
    # the photo's median difference (read on every other row and column: the same median at a
    # quarter of the cost)
    typical = float(np.median(d2[::2, 1:-1:2]))
    floor2 = max(float(th["split_step_de"]) ** 2, float(th["split_noise_k"]) ** 2 * typical)
    step = ((d2 >= floor2) & (d2 >= peak)).view(np.uint8)
    near = cv2.dilate(step, np.ones((1, 3), np.uint8)) > 0  # a step at x - 1, x or x + 1
    z = product.astype(np.uint8)
    o = max(3, int(np.ceil(float(th["split_side_frac"]) * w)))
    both = np.zeros((h, w), bool)
    both[:, o:w - o] = (z[:, :w - 2 * o] & z[:, 2 * o:]) > 0  # the product on both sides
    n_cross = both.sum(0)
    n_off = h - n_cross
    across = near.mean(0)
    x = np.arange(w)
    # A frame's or a padding's inner edge is a straight step down the frame too: between it and
    # one edge of the frame lie only flat columns (one colour each), where a split has the
    # product on both sides. Read only when some line has the steps to be a split by either
    # rule (most photos have none: the std is the costly part).
    framed = np.zeros(w, bool)
    if (across >= min(float(th["split_min_across"]), float(th["split_min_seam"])
                      * (1.0 - float(th["split_min_cross"])))).any():
        before = np.concatenate(([0], np.cumsum(flat().astype(np.int64))))  # flat ones left
        lo, hi = np.maximum(0, x - 4), np.minimum(w, x + 5)  # the line and its blur left out
        framed = (before[lo] == lo) | ((before[w] - before[hi]) == w - hi)
    e = max(1, int(np.ceil(float(th["split_end_frac"]) * h)))
    ends = np.minimum(near[:e].mean(0), near[h - e:].mean(0))
    # A banner strip across the frame (a price, a slogan) has two long edges a strip's width
    # apart: a line with a second full line (steps down ``split_band_across`` of it and into
    # both ends) ``split_band`` of the width away on one side is a band's edge, not a seam
    # between two pictures (a divider's two edges lie closer).
    full = ((across >= float(th["split_band_across"]))
            & (ends >= float(th["split_min_ends"]))).astype(np.int64)
    cum = np.concatenate(([0], np.cumsum(full)))
    b0, b1 = (max(1, round(float(f) * w)) for f in th["split_band"])
    right = cum[np.minimum(w, x + b1 + 1)] - cum[np.minimum(w, x + b0)]
    left = cum[np.maximum(0, x - b0 + 1)] - cum[np.maximum(0, x - b1)]
    return {"on": (near & both).sum(0) / np.maximum(1, n_cross), "ends": ends,
            "off": (near & ~both).sum(0) / np.maximum(1, n_off),
            "across": across, "cross": n_cross / h, "off_rows": n_off / h,
            "framed": framed.astype(np.float64), "at": (x + 0.5) / w,
            "banded": ((left > 0) | (right > 0)).astype(np.float64)}


def shares(lab: np.ndarray, product: np.ndarray, th: dict, vertical: bool
           ) -> dict[str, np.ndarray]:
    """:func:`line_shares` of every column (``vertical``) or row of ``lab`` (Lab at the product
    mask's size)."""
    lab = np.ascontiguousarray(lab, dtype=np.float32)
    axis = 0 if vertical else 1  # along the line: down a column, or along a row
    tol = float(th["split_step_de"]) / 2

    def flat() -> np.ndarray:  # one colour: a std under half the step on every channel
        return (lab.std(axis=axis) < tol).all(axis=1)

    return line_shares(_steps2(lab, vertical), product if vertical
                       else np.ascontiguousarray(product.T), flat, th)


def splits(s: dict[str, np.ndarray], th: dict, margin: bool = True) -> np.ndarray:
    """Which columns of :func:`line_shares`' ``s`` are split lines (the module docstring's
    rule), as a bool array; the frame's edges (``split_margin``) never are (``margin``: the
    columns are the frame's, in order)."""
    w = len(s["across"])
    judged = s["off_rows"] >= float(th["split_off_rows"])  # enough backdrop to show a seam
    crossing = s["cross"] >= float(th["split_min_cross"])
    cut = (crossing & (s["on"] >= float(th["split_min_on"]))
           & (~judged | (s["off"] >= float(th["split_min_off"])))
           & (s["across"] >= float(th["split_min_across"])))
    panel = float(th["split_min_panel"])  # two pictures: each a real share of the frame
    joined = (~crossing & (s["off"] >= float(th["split_min_seam"]))
              & (s["at"] >= panel) & (s["at"] <= 1.0 - panel))
    ok = ((cut | joined) & (s["framed"] < 0.5) & (s["banded"] < 0.5)
          & (s["ends"] >= float(th["split_min_ends"])))
    if margin:
        m = max(3, int(np.ceil(float(th["split_margin"]) * w)))
        ok[:m] = False
        ok[w - m:] = False
    return ok


def _line(s: dict[str, np.ndarray], x: int, vertical: bool) -> SplitLine:
    return SplitLine(vertical, float(s["at"][x]),
                     *(float(s[k][x]) for k in ("on", "off", "across", "ends", "cross",
                                                "off_rows")))


def find_split(lab: np.ndarray, product: np.ndarray, th: dict) -> SplitFinding:
    """The split line: of the columns and rows that are split lines (:func:`splits`), the one
    with a step on most of its length; ``lines`` holds each orientation's line with the most
    steps across among those crossing the product, split or not (the metrics). With no product
    mask (``product``, at ``lab``'s size) there is no product to cross."""
    if not product.any():
        return SplitFinding((), None)
    lab, product = working_copies(lab, product, th)
    lines, hits = [], []
    for vertical in (True, False):
        s = shares(lab, product, th, vertical)
        crossing = np.where(s["cross"] >= float(th["split_min_cross"]), s["across"], -1.0)
        lines.append(_line(s, int(np.argmax(crossing)), vertical))
        ok = splits(s, th)
        if ok.any():
            hits.append(_line(s, int(np.argmax(np.where(ok, s["across"], -1.0))), vertical))
    return SplitFinding(tuple(lines), max(hits, key=lambda ln: ln.across) if hits else None)
