"""Other objects on the backdrop (props) painted out.

A prop is a connected part of the product mask (alpha >= 0.5) that stands apart from the largest
part: at most ``max_rel_area`` of its area (a second shoe of a pair is as large as the first and
stays) and at least ``min_gap_frac`` of the long side away from it (a strap or a lace nearly
touching the product stays). Its pixels, grown by the gap, leave the product's matte; when the
backdrop is made white next they go with it, on a white backdrop they are filled with white, and
elsewhere they are inpainted from the backdrop around them (Telea 2004, :func:`cv2.inpaint`).
Objects that touch or overlap the product cannot be told from it by the mask: they are left,
with a note.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.fix.guard import product_doubt
from analyzer.fix.types import Change, ChangeCode, FixKind, FixState

KIND = FixKind.PROPS


def find_props(alpha: np.ndarray, max_rel_area: float, min_gap_frac: float) -> np.ndarray:
    """Bool mask (alpha's size) of the props, grown by the gap so their soft edges go too."""
    h, w = alpha.shape
    s = min(1.0, 512 / max(h, w))
    small = cv2.resize((alpha >= 0.5).astype(np.uint8), (max(1, round(w * s)),
                                                          max(1, round(h * s))),
                       interpolation=cv2.INTER_NEAREST)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(small, connectivity=8)
    if n <= 2:
        return np.zeros((h, w), bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    main = 1 + int(np.argmax(areas))
    gap = max(1.0, min_gap_frac * max(small.shape))
    dist = cv2.distanceTransform((labels != main).astype(np.uint8), cv2.DIST_L2, 3)
    props = np.zeros(small.shape, bool)
    for i in range(1, n):
        if i == main or areas[i - 1] > max_rel_area * areas[main - 1]:
            continue
        comp = labels == i
        if float(dist[comp].min()) >= gap:
            props |= comp
    if not props.any():
        return np.zeros((h, w), bool)
    r = max(1, round(gap / 2))
    props = cv2.dilate(props.astype(np.uint8),
                       cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return cv2.resize(props, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def apply(state: FixState) -> Change | None:
    th = state.rules["props"]
    if product_doubt(state):  # the mask found a detail: its "props" may be parts of the product
        state.notes.append("other objects not painted out: the mask found only part of the "
                           "product, so what stands apart from it may be more of the product")
        return None
    state.notes.append("objects that touch or overlap the product are left as they are")
    props = find_props(state.alpha, float(th["max_rel_area"]), float(th["min_gap_frac"]))
    if not props.any():
        return None
    n = cv2.connectedComponents(props.astype(np.uint8))[0] - 1
    state.alpha = np.where(props, 0.0, state.alpha).astype(np.float32)
    if FixKind.BACKGROUND in state.planned:
        how = "removed with the backdrop"
    elif state.white:
        state.rgb = state.rgb.copy()
        state.rgb[props] = 255
        how = "filled with white"
    else:
        state.rgb = cv2.inpaint(state.rgb, props.astype(np.uint8) * 255,
                                int(th["inpaint_radius"]), cv2.INPAINT_TELEA)
        how = "painted over with the backdrop around them"
    word = "object" if n == 1 else "objects"
    return Change(ChangeCode.PROPS_REMOVED,
                  f"{n} other {word} standing apart from the product {how}")
