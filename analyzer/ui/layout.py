"""Page chrome: the theme's extra CSS, the header, the sidebar and the empty state."""

from __future__ import annotations

import streamlit as st

from analyzer.config import (
    default_marketplace,
    limits,
    marketplace,
    marketplace_keys,
    thresholds,
)
from analyzer.ui.state import DEMO, Settings, demo_catalog_dir, resolve_catalog

# Static CSS only: no user text is ever interpolated here.
CSS = """
<style>
.block-container {padding-top: 2.2rem; max-width: 1280px;}
.ll-hero h1 {font-size: 2.0rem; margin: 0 0 .15rem 0; letter-spacing: -0.02em;}
.ll-hero p {color: #475569; margin: 0 0 .6rem 0; font-size: 1.02rem;}
.ll-grade-card {display: flex; align-items: center; gap: 1rem; margin: .2rem 0 .2rem 0;}
.ll-grade {width: 76px; height: 76px; border-radius: 18px; color: white; font-size: 46px;
  font-weight: 800; display: flex; align-items: center; justify-content: center;
  box-shadow: 0 4px 14px rgba(15, 23, 42, .18);}
.ll-grade-words {font-size: 1.25rem; font-weight: 700; color: #0f172a;}
.ll-grade-score {color: #475569; font-size: .95rem;}
.ll-step {background: #f8fafc; border: 1px solid #e2e8f0; border-radius: 14px;
  padding: 1rem 1.1rem; height: 100%;}
.ll-step b {font-size: 1.02rem;}
.ll-step p {color: #475569; margin: .35rem 0 0 0; font-size: .93rem;}
.ll-kpi-big {font-size: 2.2rem; font-weight: 800; line-height: 1;}
[data-testid="stSidebar"] .ll-brand {font-size: 1.35rem; font-weight: 800;
  letter-spacing: -0.01em;}
</style>
"""


def inject_css() -> None:
    st.markdown(CSS, unsafe_allow_html=True)


def header() -> None:
    st.markdown(
        '<div class="ll-hero"><h1>Will shoppers find and pick your product?</h1>'
        "<p>Drop your main product photos. In seconds you see what a marketplace would flag, "
        "why it matters, how to fix it, and where the photo would rank in a visual search.</p>"
        "</div>", unsafe_allow_html=True)


# The longest product title read (a listing title with its bullet points pasted fits).
TITLE_MAX = 2000


def sidebar() -> tuple[Settings, str | None]:
    """The settings the analysis depends on, and the chosen catalog folder's error (if any)."""
    with st.sidebar:
        st.markdown("### :material/center_focus_strong: Listing Lens")
        st.caption("Main-image checks and visual-search simulation for small sellers.")
        keys = marketplace_keys()
        mkey = st.selectbox("Marketplace", keys, index=keys.index(default_marketplace()),
                            format_func=lambda k: marketplace(k).label, key="marketplace",
                            help="Rules and severities follow this marketplace.")
        # no max_chars: the browser drops a paste longer than it whole, without a word (a
        # thirteenth new user's 366 characters), and its counter covers the text in the
        # sidebar (a fourteenth's); the title is cut at TITLE_MAX below instead
        title = st.text_input("Product title (optional)", key="product-title",
                              placeholder="e.g. Yoga starter kit",
                              help="A title that names a set, kit, bundle or a count "
                                   "(\"3-pack\") makes every item on the backdrop part of the "
                                   "product, not props. It applies to every photo you drop.")
        cover_art = st.checkbox(
            "Cover art (books, films, music, games)", key="cover-art",
            help="Tick when the photos are the front cover itself, edge to edge, as "
                 "marketplaces show media: the whole frame is then the product, so its "
                 "background and props are not judged and its printed words are the cover's "
                 "own. Leave it off for a case or book photographed on a table or a backdrop.")
        has_demo = demo_catalog_dir() is not None
        options = ["demo", "mine", "folder", "none"]
        labels = {"demo": "Demo catalog" + ("" if has_demo else " (not installed)"),
                  "mine": "My catalog (image URLs or CSV)",
                  "folder": "My catalog folder", "none": "None (quality only)"}
        cat_choice = st.radio("Reference catalog", options, format_func=labels.get,
                              key="catalog-choice",
                              help="The products your photo competes with in the simulated "
                                   "searches. Build your own with `listing-lens catalog build`.")
        catalog: str | None = None
        if cat_choice == "demo":
            catalog = DEMO
        elif cat_choice == "folder":
            catalog = st.text_input("Catalog folder", key="catalog-path",
                                    placeholder="/path/to/catalog")
        elif cat_choice == "mine":
            from analyzer.ui.my_catalog import render_my_catalog

            catalog = render_my_catalog()
        folder, err = resolve_catalog(catalog)
        if err and cat_choice == "folder":
            st.error(err, icon=":material/folder_off:")
        with st.expander("Settings"):
            use_model = st.toggle("Neural product mask (u2netp)", value=True, key="use-model",
                                  help="Off: a classical mask (faster, less precise on busy "
                                       "backgrounds).")
        with st.expander("How grades work"):
            cfg = thresholds()["overall"]
            bands = cfg["grades"]
            cap, wcap = cfg.get("cap_grade_with_error"), cfg.get("cap_grade_with_warning")
            st.markdown(
                f"The overall score is a weighted mean of the checks (0-100). "
                f"**A** ≥ {bands['A']}, **B** ≥ {bands['B']}, **C** ≥ {bands['C']}, "
                f"**D** ≥ {bands['D']}, else **F**."
                + (f" A *must fix* issue on the chosen marketplace caps the grade at "
                   f"**{cap}**: the listing can be suppressed, however sharp it is." if cap
                   else "")
                + (f" A *should fix* issue whose check scores under "
                   f"{cfg['cap_warning_below']} caps it at **{wcap}**: not ready to list "
                   "until it is fixed." if wcap else ""))
        lim = limits()
        st.caption(f"Images up to {lim['max_file_mb']} MB each, zips up to "
                   f"{lim['max_zip_mb']} MB (the uploader shows the zips' limit). Photos are "
                   "analysed on this machine; nothing is uploaded anywhere else.")
    settings = Settings(marketplace=mkey, use_model=use_model,
                        catalog=folder if folder else None,
                        title=(title or "").strip()[:TITLE_MAX], cover_art=bool(cover_art))
    return settings, err


def empty_state() -> None:
    cols = st.columns(3, gap="medium")
    steps = [
        ("1 · Drop your photos", "One photo, many, or a zip of your store's main images. "
         "JPEG, PNG, WebP, HEIC."),
        ("2 · See what is wrong", "A grade per photo, each check against the marketplace's "
         "rule, and the fix for every problem."),
        ("3 · See where it ranks", "Simulated shopper searches against a catalog: how often "
         "your photo lands on the first screen, and what a fix would win."),
    ]
    for col, (title, body) in zip(cols, steps, strict=True):
        col.markdown(f'<div class="ll-step"><b>{title}</b><p>{body}</p></div>',
                     unsafe_allow_html=True)
    st.write("")
    st.caption("Checks: sharpness · exposure & colour · pure-white background · framing & 85% "
               "fill · clutter · resolution & format · text & watermarks · visual-search rank · "
               "lookalikes and near-duplicates.")
