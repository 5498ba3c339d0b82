"""The vision layer: image operations shared by the quality checks, the embedders and the search
simulation, below all three (it imports none of them).

* :mod:`analyzer.vision.mask` - the product mask (u2netp, the classical fallback, transparency).
* :mod:`analyzer.vision.mask_ops` - what is done to a mask: grow, shrink, bounding box,
  connected components, probabilities from any storage.
* :mod:`analyzer.vision.backdrop` - the frame border's colour and the plain studio backdrop.
* :mod:`analyzer.vision.shrink` - working copies shrunk by area averaging at OpenCV's
  whole-number speed where the sizes allow it, and strided grids made contiguous.

Their settings live in the ``segmentation:`` section of ``analyzer/data/thresholds.yaml``.
"""
