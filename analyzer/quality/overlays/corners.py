"""Fill wedges in the corners: a photo turned in an editor and saved with its corners filled.

Straightening a tilted photo turns it inside the same canvas; unless the editor crops, the
canvas's corners that the turned picture no longer covers are filled with one colour (black in
most tools: Pillow's and OpenCV's default fill, and a transparent fill saved as JPEG). Each
corner then holds a right triangle of that colour whose hypotenuse is the turned picture's
edge, so every wedge's legs ``a`` (along one side of the frame) and ``b`` (along the other)
hold the turn's angle, ``min(a, b) / max(a, b) = tan(theta)`` (the turned edge crosses the
corner at ``theta`` to the frame). The seventh new user's try (2026-12-06): a studio photo
turned 8 degrees with black corners was graded A on Etsy (a background "info" only) and on
Amazon told only that its backdrop is "off-white, unevenly lit".

Measure (:func:`corner_wedge`), on the overlays' working copy (Lab), at each corner: the run of
pixels within ``corner_tol_de`` (Delta E 1976) of the corner's own colour along every row from
the corner (``runs``); the wedge's legs are the first row's run ``a`` and the number of rows
``b`` whose run is not empty. A wedge is a straight-edged triangle: the runs fall linearly,
``run(r) ~ a (1 - r / b)``, within ``corner_line_px`` (plus 4% of ``a``) on average; its legs are
``corner_min_leg`` to ``corner_max_leg`` of their sides (a whole backdrop of the corner's
colour reaches further: a black velvet backdrop is no wedge); and past its hypotenuse (2 px
on) the photo differs from it by more than ``border_delta_e`` on ``corner_edge_share`` of its
rows (a fill, not a shadow fading out).

Rule: ``corner_min_count`` wedges or more, of one colour (within ``border_delta_e``) and one
angle (within ``corner_angle_tol`` degrees), between ``corner_min_deg`` and ``corner_max_deg``:
the overlays check's ``BORDER`` (an added fill is a frame's kin: the fix is the same, crop it
off or put the product on a clean backdrop). A fill of the backdrop's own colour (white
corners on a white studio backdrop) joins the backdrop and is neither found nor a defect.

Reference: a rotation's exposed canvas is the frame less the rotated rectangle (the affine
transforms of Gonzalez & Woods, "Digital Image Processing", ch. 2); the straight-line test
compares the run lengths with the hypotenuse the legs define (a run-length form of the line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from analyzer.vision.backdrop import delta_e76


@dataclass(frozen=True)
class Wedge:
    """One corner's fill triangle, in the working copy's px."""

    a: int                      # leg along the row from the corner (the frame's top or bottom)
    b: int                      # leg down the column from the corner
    lab: tuple[float, float, float]  # its colour (L*a*b*)

    @property
    def angle_deg(self) -> float:
        """The turn's angle the legs hold (0-45 degrees)."""
        return math.degrees(math.atan(min(self.a, self.b) / max(self.a, self.b)))


@dataclass(frozen=True)
class CornerFill:
    """What :func:`find_corner_fill` found: the wedges of one turn's fill, or none."""

    wedges: tuple[Wedge, ...]   # the wedges that agree (empty when none)
    angle_deg: float            # their median angle (0 when none)
    rgb: tuple[int, int, int]   # their colour, sRGB (0, 0, 0 when none)

    @property
    def found(self) -> bool:
        return bool(self.wedges)


NONE = CornerFill((), 0.0, (0, 0, 0))


def corner_wedge(lab: np.ndarray, th: dict) -> Wedge | None:
    """The fill wedge at ``lab``'s top-left corner (flip the array for the others), or None."""
    h, w = lab.shape[:2]
    max_leg = float(th["corner_max_leg"])
    bh, bw = max(4, int(h * max_leg) + 2), max(4, int(w * max_leg) + 2)
    c0 = np.median(lab[:2, :2].reshape(-1, 3), axis=0)
    tol = float(th["corner_tol_de"])

    def close(px: np.ndarray) -> np.ndarray:
        return delta_e76(px, c0) < tol

    def run(line: np.ndarray) -> int:  # leading pixels of the corner's colour
        c = close(line)
        return int(np.argmin(c)) if not c.all() else len(c)

    # the legs first, along the frame's two sides: most corners stop here (a photo's corner is
    # not one colour for long, and a backdrop's runs on past any wedge)
    a, b = run(lab[0, :bw]), run(lab[:bh, 0])
    min_leg = float(th["corner_min_leg"])
    if (a < max(3, min_leg * w) or b < max(3, min_leg * h)
            or a >= int(w * max_leg) or b >= int(h * max_leg)):
        return None
    box = lab[:b, :min(bw, a + 3)]
    runs = np.cumprod(close(box), axis=1).sum(axis=1)  # row by row, from the corner
    r = np.arange(b)
    expected = a * (1.0 - r / b)
    if np.abs(runs[:b] - expected).mean() > float(th["corner_line_px"]) + 0.04 * a:
        return None
    # past the hypotenuse the photo itself: a fill ends in a step, a shadow or a vignette fades
    x = np.minimum(runs[:b] + 2, box.shape[1] - 1)
    differs = delta_e76(box[r, x], c0) > float(th["border_delta_e"])
    if differs.mean() < float(th["corner_edge_share"]):
        return None
    return Wedge(a, b, (float(c0[0]), float(c0[1]), float(c0[2])))


def find_corner_fill(lab: np.ndarray, th: dict) -> CornerFill:
    """Measure -> rule for one Lab image (the module docstring)."""
    views = (lab, lab[:, ::-1], lab[::-1], lab[::-1, ::-1])
    wedges = [wd for v in views if (wd := corner_wedge(v, th)) is not None]
    lo, hi = float(th["corner_min_deg"]), float(th["corner_max_deg"])
    wedges = [wd for wd in wedges if lo <= wd.angle_deg <= hi]
    need = int(th["corner_min_count"])
    if len(wedges) < need:
        return NONE
    # the largest group that agrees in colour and angle with one of its members
    tol_de, tol_deg = float(th["border_delta_e"]), float(th["corner_angle_tol"])
    best: list[Wedge] = []
    for w0 in wedges:
        group = [wd for wd in wedges
                 if abs(wd.angle_deg - w0.angle_deg) <= tol_deg
                 and math.dist(wd.lab, w0.lab) <= tol_de]
        if len(group) > len(best):
            best = group
    if len(best) < need:
        return NONE
    return CornerFill(tuple(best), float(np.median([wd.angle_deg for wd in best])),
                      _rgb(np.median([wd.lab for wd in best], axis=0)))


def _rgb(lab: np.ndarray) -> tuple[int, int, int]:
    """sRGB of one L*a*b* colour (L* 0-100), as the border finder reports a frame's."""
    px = cv2.cvtColor(np.asarray(lab, np.float32).reshape(1, 1, 3), cv2.COLOR_Lab2RGB)
    return tuple(int(round(v)) for v in np.clip(px.ravel() * 255.0, 0, 255))  # type: ignore[return-value]
