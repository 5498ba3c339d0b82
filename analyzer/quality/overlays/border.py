"""Added borders (a frame of one colour around the photo).

Borders: on each side, a run of uniform rows (L* std along the row <= ``border_row_std``) of the
same colour, ``border_min_frac`` to ``border_max_frac`` of the side deep, whose inner neighbour row
differs from it (Delta E > ``border_delta_e``) along at least ``border_inner_fraction`` of its
length: a frame ends in a straight line, a product margin does not. Three or four sides with a
frame of one colour and similar widths make a BORDER.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.vision.backdrop import even_margins


@dataclass
class BorderFinding:
    sides: int                # sides with a frame
    width_px: float           # median frame width, working px
    color: tuple[int, int, int]
    found: bool


def _uniform_run(lab_lines: np.ndarray, th: dict) -> tuple[int, np.ndarray] | None:
    """(how many rows from the outside are uniform and of the first row's colour, the row means
    read so far), or None when the first row is not uniform; ``lab_lines`` as
    :func:`_side_frame`'s."""
    depth_max = lab_lines.shape[0]
    row_std = float(th["border_row_std"])
    # Row statistics in growing chunks, only as deep as the uniform run goes: most sides stop
    # at the first row (a photo's edge is not uniform), and a frame is a few rows deep.
    stds: list[np.ndarray] = []
    means: list[np.ndarray] = []
    mean = np.zeros((0, 3), np.float32)
    k = 0
    done = 0
    chunk = 4
    while done < depth_max:
        rows = lab_lines[done:done + chunk]
        stds.append(rows[..., 0].std(axis=1))
        means.append(rows.mean(axis=1))
        done += len(rows)
        chunk *= 2
        std = np.concatenate(stds)
        mean = np.concatenate(means)
        if std[0] > row_std:
            return None
        # the first row of the new chunk that leaves the run (uniform, and the first row's
        # colour), all of the chunk's rows judged at once
        ok = (std[k:done] <= row_std) & (np.linalg.norm(mean[k:done] - mean[0], axis=1) < 6.0)
        if not ok.all():
            k += int(np.argmin(ok))
            break
        k = done
    return k, mean


def _side_frame(lab_lines: np.ndarray, th: dict) -> tuple[int, np.ndarray] | None:
    """Frame depth and colour on one side; ``lab_lines`` is (depth, length, 3), outside first."""
    depth_max = lab_lines.shape[0]
    run = _uniform_run(lab_lines, th)
    if run is None or run[0] >= depth_max:
        return None
    k, mean = run
    # The frame's inner edge is resampled over a row or two: look a few rows further in.
    frac = max(float((np.linalg.norm(lab_lines[j] - mean[0], axis=1)
                      > float(th["border_delta_e"])).mean())
               for j in range(k, min(k + 4, depth_max)))
    if frac < float(th["border_inner_fraction"]):
        return None
    return k, mean[:k].mean(axis=0)


def find_border(lab: np.ndarray, rgb: np.ndarray, th: dict) -> BorderFinding:
    """An added frame: uniform bands of one colour along 3-4 sides, ending in a straight line."""
    h, w = lab.shape[:2]
    lo = float(th["border_min_frac"])
    hi = float(th["border_max_frac"])
    dh, dw = max(2, int(hi * h)), max(2, int(hi * w))
    # Every second pixel along each line is plenty to tell a uniform line from a busy one.
    # Views, not copies: _side_frame reads only the rows it needs.
    sides = {
        "top": lab[:dh, ::2],
        "bottom": lab[::-1][:dh, ::2],
        "left": lab[::2, :dw].transpose(1, 0, 2),
        "right": lab[::2, ::-1][:, :dw].transpose(1, 0, 2),
    }
    found = {}
    for name, lines in sides.items():
        r = _side_frame(lines, th)
        if r is None:
            continue
        k, col = r
        span = h if name in ("top", "bottom") else w
        if k >= max(1, lo * span):
            found[name] = (k, col)
    none = BorderFinding(len(found), 0.0, (0, 0, 0), False)
    if len(found) < 3:
        return none
    cols = np.array([c for _, c in found.values()])
    widths = np.array([k for k, _ in found.values()], dtype=np.float64)
    if np.linalg.norm(cols - cols.mean(axis=0), axis=1).max() > float(th["border_delta_e"]):
        return none
    if not even_margins(widths):
        return none
    k0 = int(widths.min())
    edge_rgb = np.concatenate([rgb[:k0].reshape(-1, 3), rgb[:, :k0].reshape(-1, 3)])
    color = tuple(int(v) for v in np.median(edge_rgb, axis=0))
    return BorderFinding(len(found), float(np.median(widths)), color, True)  # type: ignore[arg-type]
