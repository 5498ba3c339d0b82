"""Synthetic product photos for catalog and search tests (no ../shared needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

COLORS = {"red": (205, 25, 30), "blue": (25, 45, 200), "green": (30, 150, 40),
          "yellow": (230, 200, 20), "purple": (120, 30, 150)}
SHAPES = ("circle", "rect", "tri", "ring", "cross")


def product_photo(shape: str, color: tuple[int, int, int], view: int = 0,
                  size: tuple[int, int] = (160, 200)) -> np.ndarray:
    """A coloured shape on white; ``view`` shifts and scales it a little (another photo of the
    same product)."""
    h, w = size
    img = np.full((h, w, 3), 255, np.uint8)
    cx, cy = w // 2 + 8 * view, h // 2 - 5 * view
    r = 50 + 6 * view
    if shape == "circle":
        cv2.circle(img, (cx, cy), r, color, -1)
    elif shape == "rect":
        cv2.rectangle(img, (cx - r, cy - r // 2), (cx + r, cy + r // 2), color, -1)
    elif shape == "tri":
        pts = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
        cv2.fillPoly(img, [pts], color)
    elif shape == "ring":
        cv2.circle(img, (cx, cy), r, color, 18)
    else:
        cv2.rectangle(img, (cx - r, cy - 10), (cx + r, cy + 10), color, -1)
        cv2.rectangle(img, (cx - 10, cy - r), (cx + 10, cy + r), color, -1)
    return img


def write_products(folder: Path, n_products: int = 5, views: int = 2) -> list[dict]:
    """``n_products`` products with ``views`` photos each under ``folder``; returns CSV rows."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    names = list(COLORS)
    for i in range(n_products):
        shape, cname = SHAPES[i % len(SHAPES)], names[i % len(names)]
        for v in range(views):
            p = folder / f"p{i}_{shape}_{cname}_{v}.jpg"
            Image.fromarray(product_photo(shape, COLORS[cname], v)).save(p, quality=92)
            rows.append({"image": p.name, "product_id": f"P{i}", "title": f"{cname} {shape}",
                         "category": "Shapes" if i % 2 == 0 else "Other"})
    return rows
