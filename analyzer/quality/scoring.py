"""The one score ramp every check uses to turn a measure into points.

A check's thresholds come in pairs from thresholds.yaml: the value at which a measure is fully
good and the value at which it is fully bad. Between them the score falls linearly; beyond them
it is clamped. Either direction works: ``good < bad`` for "lower is better" measures (blur width,
clipped fraction, colour cast), ``good > bad`` for "higher is better" ones (white share, fill).
"""

from __future__ import annotations


def ramp(x: float, good: float, bad: float, top: float = 1.0) -> float:
    """``top`` at ``good``, 0 at ``bad``, linear between and clamped outside.

    ``top * (1 - clip((x - good) / (bad - good), 0, 1))``; ``top=100`` gives score points.
    ``good == bad`` has no direction, so it is refused (a thresholds.yaml mistake) rather than
    guessed: ValueError.
    """
    if good == bad:
        raise ValueError(f"ramp needs good != bad (both {good})")
    t = (x - good) / (bad - good)
    return float(top * (1.0 - min(1.0, max(0.0, t))))
