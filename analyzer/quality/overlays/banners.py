"""Banner strips laid across the photo, see-through or not ("Free returns", "XL").

A strip of colour pasted across a photo (a promotion banner) has two long straight edges, its
top and its bottom, which run on straight across the product's outline and the backdrop alike;
a photographed edge (a hem, a shelf, a stripe of the garment) stops at the object it belongs
to. Between them lie letters. An opaque strip is also a flat plate, which the badge finder
reads (:mod:`.badges`); a see-through one (50-90% opaque) is not flat, since the product shows
through it, and it splits where the product's outline crosses it, so it is found here by its
edges (straight-line evidence of pasted rectangles, as in copy-move and splicing forensics that
look for man-made straight boundaries; cf. the line-pair grouping of rectangle detectors,
e.g. Jung & Schramm, "Rectangle detection based on a windowed Hough transform", SIBGRAPI 2004).

:func:`find_banners`, at the overlay finders' working size:

1. Horizontal edges: rows where the colour steps between the row above and the row below (the
   largest of L* x 2.55, a*, b*) by at least ``gradient_threshold``, a row either way taken as
   the same; gaps up to ``banner_gap`` of the width bridged (where the strip's colour meets its
   own).
2. Lines: runs of at least ``banner_min_len`` of the width; neighbouring rows' runs are one line.
3. Strips: two lines ``banner_min_h`` .. ``banner_max_h`` of the height apart, overlapping over
   80% of the shorter, where the row just above and the row just below each run over both the
   plain backdrop and the product (its zone less the backdrop; each at least
   ``banner_cross_share`` of the strip's length): the edges cross the outline, where a product's
   own top or bottom edge has backdrop all along one side. A photo with no plain backdrop has
   none, and neither has a frame of more than ``banner_max_lines`` lines (a banded scene).
4. Letters: between the lines, a few marks (at most ``plate_max_marks``) of which at least
   ``badge_min_glyphs`` are letter-shaped, 25-90% of the strip's height, on one line
   (:func:`.badges.in_a_row`), or one is a word (as high, at least twice as wide): at the
   working size the edge map often joins a word's letters.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.quality.overlays.badges import in_a_row, step_over


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether two boxes (x0, y0, x1, y1) share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def horizontal_lines(lab: np.ndarray, th: dict) -> list[tuple[int, int, int]]:
    """(row, x0, x1) of every long horizontal edge line (steps 1-2 of the module doc)."""
    H, W = lab.shape[:2]
    if H < 5 or W < 5:
        return []
    hor = np.zeros((H, W), np.uint8)
    hor[1:-1] = step_over(cv2.absdiff(lab[2:], lab[:-2]), float(th["gradient_threshold"]))
    # a pasted edge resized to the working size falls on one row here and the next there (and
    # steps most over the backdrop or the product): one row either way is the same line
    hor = cv2.dilate(hor, np.ones((3, 1), np.uint8))
    k = max(3, int(round(float(th["banner_gap"]) * W)))
    hor = cv2.morphologyEx(hor, cv2.MORPH_CLOSE, np.ones((1, k), np.uint8))
    need = float(th["banner_min_len"]) * W
    rows = np.flatnonzero(cv2.reduce(hor, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S)[:, 0] >= need)
    if rows.size == 0:
        return []
    # runs per row, on the rows with enough edge to hold one: starts and ends of the 1s
    # (row-major order keeps them paired)
    pad = np.zeros((rows.size, W + 2), np.int8)
    pad[:, 1:-1] = hor[rows]
    dif = np.diff(pad, axis=1)
    r, xs = np.nonzero(dif == 1)
    _, xe = np.nonzero(dif == -1)
    ys = rows[r]
    long_ = (xe - xs) >= need
    runs = sorted(zip(ys[long_].tolist(), xs[long_].tolist(), xe[long_].tolist(), strict=True))
    lines: list[tuple[int, int, int]] = []
    for y, x0, x1 in runs:  # an edge 3-5 rows thick is one line: keep its longest row
        if lines and y - lines[-1][0] <= 4 and min(x1, lines[-1][2]) - max(x0, lines[-1][1]) > 0:
            if x1 - x0 > lines[-1][2] - lines[-1][1]:
                lines[-1] = (lines[-1][0], x0, x1)  # the band's first row, the longest run
            continue
        lines.append((y, x0, x1))
    return lines


def find_banners(lab: np.ndarray, edges: np.ndarray, plain: np.ndarray, zone: np.ndarray,
                 th: dict) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1, ``lab``'s pixels) of the banner strips (module doc). ``edges``:
    :func:`.badges.colour_edges` of ``lab``; ``plain`` and ``zone``: the plain backdrop and the
    product zone at the same size."""
    H, W = lab.shape[:2]
    if not plain.any() or not zone.any():
        return []
    product = zone & ~plain
    lines = horizontal_lines(lab, th)
    if len(lines) > int(th["banner_max_lines"]):
        # a banded scene (a coiled strap, blinds, a striped rug): a strip is not told from its
        # own lines, and pairing them all would cost tens of ms
        return []
    h_min, h_max = float(th["banner_min_h"]) * H, float(th["banner_max_h"]) * H
    cross = float(th["banner_cross_share"])
    out: list[tuple[int, int, int, int]] = []
    for i, (ya, a0, a1) in enumerate(lines):
        for yb, b0, b1 in lines[i + 1:]:
            if yb - ya > h_max:
                break
            x0, x1 = max(a0, b0), min(a1, b1)
            if yb - ya < h_min or x1 - x0 < 0.8 * min(a1 - a0, b1 - b0):
                continue
            if any(overlap((x0, ya, x1, yb), o) for o in out):
                continue  # one strip once
            # both rows just outside cross the outline: backdrop and product side by side in
            # each (a product's own top edge has backdrop all along one side, product the other)
            if any(plain[r, x0:x1].mean() < cross or product[r, x0:x1].mean() < cross
                   for r in (max(0, ya - 3), min(H - 1, yb + 3))):
                continue
            inner = np.ascontiguousarray(edges[ya + 4:yb - 2, x0:x1])
            if inner.size == 0:
                continue
            n, _, st, _ = cv2.connectedComponentsWithStats(inner, connectivity=8)
            if n - 1 > int(th["plate_max_marks"]):
                continue
            sh = yb - ya
            gh, gw = st[1:, cv2.CC_STAT_HEIGHT], st[1:, cv2.CC_STAT_WIDTH]
            sized = (gh >= 0.25 * sh) & (gh <= 0.9 * sh)
            # letters on one line, or a whole word whose letters the edge map joined
            if (int(in_a_row(st[1:], sized).sum()) >= int(th["badge_min_glyphs"])
                    or (sized & (gw >= 2 * gh)).any()):
                out.append((x0, ya, x1, yb))
    return out
