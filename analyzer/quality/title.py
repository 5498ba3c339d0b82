"""What the seller's product title says about the photo, for the checks that use it.

A title that names a set (a kit, a bundle, a "3-pack") says the objects on the backdrop are sold
together: the clutter check counts them as the product's pieces, and the overlays check takes
print on them for print on the product. The words are data (``checks.clutter.set_words``,
``set_count_words`` in thresholds.yaml); the decision is made once per image
(``ImageContext.title_names_set``). A title that names a black-and-white product (a print, a
photo book) says a photo without colour shows it as it is: the exposure check does not call it
MONOCHROME (``checks.exposure.mono_title_words``).
"""

from __future__ import annotations

import re


def names_a_set(title: str, th: dict) -> bool:
    """Whether a product title says the photo shows several items sold together: a whole word
    of ``set_words`` ("kit", "bundle", "set"), or a word of ``set_count_words`` with a count of
    at least 2 just before it or after "of" ("3-pack", "5 pcs", "pack of 2")."""
    toks = re.findall(r"[a-z]+|\d+", title.lower())
    if any(t in th["set_words"] for t in toks):
        return True
    counts = set(th["set_count_words"])

    def many(t: str) -> bool:
        return t.isdigit() and int(t) >= 2

    for i, t in enumerate(toks):
        if t in counts and ((i > 0 and many(toks[i - 1]))
                            or (i + 2 < len(toks) and toks[i + 1] == "of" and many(toks[i + 2]))):
            return True
    return False


def names_black_and_white(title: str, th: dict) -> bool:
    """Whether a product title names a product without colour: one of ``mono_title_words``
    ("monochrome", "greyscale"), or "black and white" / "black & white" / "b&w" / "b/w"."""
    t = title.lower()
    if re.search(r"\bblack\s*(?:and|&|-)\s*white\b|\bb\s*[&/]\s*w\b", t):
        return True
    return any(w in th["mono_title_words"] for w in re.findall(r"[a-z]+", t))
