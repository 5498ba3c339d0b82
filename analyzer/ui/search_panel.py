"""Search simulation and differentiation panels (need a catalog; explain themselves without one).

Reads what :meth:`analyzer.search.integration.SearchContext.enrich` put in ``report.search`` and
``report.differentiation`` (documented in that module), plus the simulation's pictures kept by
:func:`analyzer.ui.state.search_extras`. Missing fields degrade to a note, never a crash.
"""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

from analyzer.config import marketplace, marketplace_keys
from analyzer.results import ImageReport
from analyzer.search.summary import RankFigures, SearchSummary
from analyzer.ui import charts
from analyzer.ui.state import CatalogMap, SearchHandle
from analyzer.ui.text import md_escape, ordinal, pct, sentence

FIX_LABELS = {
    "whiten_background": "Make the background pure white",
    "crop_to_fill": "Crop so the product fills 85% of the frame",
    "all": "All fixes together",
}


def _no_search(report: ImageReport | None, search: SearchHandle) -> bool:
    if report is None:
        st.info("Upload a photo to simulate shopper searches.")
        return True
    if search.loading:
        st.info("Opening the catalog (first start only)… the search simulation follows in a "
                "moment.", icon=":material/hourglass_top:")
        return True
    if not search.ok:
        if search.catalog_dir is None and not search.chosen:
            st.info("Pick the demo catalog or a catalog folder in the sidebar to see where this "
                    "photo would rank in shoppers' visual searches.",
                    icon=":material/travel_explore:")
        else:
            st.info("The search simulation is off: the catalog could not be used (see the note "
                    "above the tabs).", icon=":material/travel_explore:")
        return True
    if not report.search:
        st.info("No search simulation for this photo (see the notes on the report card).",
                icon=":material/travel_explore:")
        return True
    return False


def whatif_scenarios(search: dict[str, Any]) -> list[dict[str, Any]]:
    """[{key, label, before, after, median_before, median_after}] on the first-screen share.

    One row per simulated fix (when there are several) and one for all fixes together.
    """
    wi = search.get("what_if")
    pk = str(search.get("primary_k", 10))
    before = (search.get("top_k_share") or {}).get(pk)
    if not wi or before is None:
        return []
    rows = []
    by_fix = wi.get("by_fix") or {}
    for key, v in by_fix.items():
        after = (v.get("top_k_share") or {}).get(pk)
        if after is not None:
            rows.append({"key": key, "label": FIX_LABELS.get(key, key.replace("_", " ")),
                         "before": float(before), "after": float(after),
                         "median_before": search.get("median_rank"),
                         "median_after": v.get("median_rank")})
    after_all = (wi.get("top_k_share") or {}).get(pk)
    if after_all is not None:
        fixes = wi.get("fixes") or []
        label = (FIX_LABELS["all"] if len(fixes) > 1
                 else FIX_LABELS.get(fixes[0], "the fix") if fixes else "the fix")
        rows.append({"key": "all", "label": label, "before": float(before),
                     "after": float(after_all), "median_before": search.get("median_rank"),
                     "median_after": wi.get("median_rank")})
    return rows


def change_text(before: float, after: float) -> str:
    """'12% → **47%** (+35 points)', or that it does not change the share."""
    d = round(100 * (after - before))
    if d == 0:
        return f"stays at {pct(before)} (the fix does not change the rank here)"
    sign = "+" if d > 0 else "−"  # noqa: RUF001
    color = "green" if d > 0 else "red"
    # a simulated fix that lowers the share is said to be this catalog's reading, not advice
    # against the rule (a thirteenth new user read "Crop so the product fills 85%: 69% -> 56%"
    # as being told to crop)
    lower = (": lower against this catalog's photos, though the marketplace's rule still asks "
             "for it" if d < 0 else "")
    return f"{pct(before)} → **{pct(after)}** :{color}[({sign}{abs(d)} points{lower})]"


def still_hidden_text(search: dict[str, Any]) -> str | None:
    """Why the simulated fixes leave the listing hidden, or None: the marketplace hides the
    photo (``stage2.suppression``) and still does after all the simulated fixes together
    (``what_if.suppressed``, the simulation's own re-grade of the fixed copy). Without it, "All
    fixes together: stays at 0%" read as if no fix could help (a thirteenth new user's try:
    props the simulation took for product, which the real fix removes, moving it to rank 1)."""
    st2 = search.get("stage2") or {}
    sup = st2.get("suppression") or {}
    if not sup.get("suppressed") or not (search.get("what_if") or {}).get("suppressed"):
        return None
    return (f"{_market_label(st2)} would still hide this photo after the simulated fixes (they "
            f"whiten the backdrop and crop to fill; it is hidden for "
            f"{', '.join(sup.get('codes') or [])}): what they cannot repair, props taken for "
            "the product or blur, stays. The report card's Fix it makes a copy that answers "
            "what an edit can.")


def headline(search: dict[str, Any]) -> str:
    sm = SearchSummary.from_result({"search": search})
    share = sm.expected.top_k_share if sm else None
    if sm is None or share is None or not sm.n_queries:
        return "The search simulation did not produce a rank."
    return (f"In **{sm.n_queries} simulated shopper searches** (shoppers photographing this "
            f"product), your listing shows on the **first screen (top {sm.primary_k}) in "
            f"{pct(share)}** of them.")


def _market_label(stage2: dict[str, Any]) -> str:
    """The marketplace's display name ("eBay", not "Ebay"); a result saved before the label was
    stored falls back to the rules' own label for its key."""
    if stage2.get("marketplace_label"):
        return str(stage2["marketplace_label"])
    key = stage2.get("marketplace")
    if key in marketplace_keys():
        return marketplace(key).label
    return "The marketplace"


def no_whatif_message(search: dict[str, Any]) -> tuple[str, str]:
    """(kind, text) of the what-if panel when no simulated fix applies. The simulated fixes are
    the backdrop and the framing; a listing hidden from search for another reason (a
    compressed or blurred photo, an overlay) must not read as all clear."""
    st2 = search.get("stage2") or {}
    sup = st2.get("suppression") or {}
    if sup.get("suppressed"):
        codes = ", ".join(sup.get("codes") or [])
        market = _market_label(st2)
        return ("warning", f"{market} hides this photo from search until it is fixed "
                           f"({codes}). The simulated fixes cover the backdrop and the framing "
                           "only; the report card says how to fix the rest.")
    return ("success", "No simulated fix applies: the background is already white and the "
                       "product fills the frame.")


def two_stage_lines(search: dict[str, Any]) -> list[str]:
    """The visual match rank and the expected search position side by side, and the stage-2
    assumption (quality prior, suppression) that separates them, as markdown lines."""
    sm = SearchSummary.from_result({"search": search})
    st2 = search.get("stage2") or {}
    if sm is None or sm.visual is None or not st2:
        return []
    pk = sm.primary_k

    def fig(f: RankFigures) -> str:
        med = f.median_rank
        return f"median rank {'–' if med is None else f'{med:g}'}, top {pk} {pct(f.top_k_share)}"  # noqa: RUF001

    lines = [f"**Visual match rank** (stage 1, how alike the photos look): {fig(sm.visual)}",
             "**Expected search position** (stage 2, the marketplace's ranking): "
             f"{fig(sm.expected)}"]
    sup = st2.get("suppression") or {}
    if sup.get("suppressed"):
        lines.append(f"Suppressed: {_market_label(st2)} hides main images "
                     f"that break its rules from search ({', '.join(sup.get('codes') or [])}; "
                     f"{sup.get('kind')} source: {sup.get('source')}).")
    pr = st2.get("quality_prior") or {}
    if pr:
        q = st2.get("quality")
        lines.append(f"Assumption *{pr.get('name')}*: search engines rank with image features "
                     f"that track click-through ({pr.get('source')}); modelled as "
                     f"`{pr.get('formula')}` with weight {pr.get('weight')} and reference score "
                     f"{pr.get('reference_score')}. Your photo's quality score "
                     f"{'–' if q is None else f'{q:.0f}'} shifts it by "  # noqa: RUF001
                     f"{st2.get('score_shift') or 0:+.3f}.")
    return lines


def render_outside_catalog(report: ImageReport) -> None:
    """OUTSIDE_CATALOG: say so, and how to get a catalog that covers the product."""
    flag = next((f for f in report.flags if f.code == "OUTSIDE_CATALOG"), None)
    # the flag's message opens with what the heading already says: the rest, as a sentence
    lead = "this catalog does not cover this product: "
    msg = flag.message if flag else ""
    msg = msg[len(lead):] if msg.startswith(lead) else msg
    st.warning("**Not covered by this catalog.**"
               + (f" {md_escape(sentence(msg, capitalize=True))}" if msg else ""),
               icon=":material/travel_explore:")
    st.info("Build a catalog of your category: choose **My catalog** in the sidebar and paste "
            "your competitors' main-image URLs from a marketplace results page, or run "
            "`listing-lens catalog build competitors.csv --out my_catalog`.",
            icon=":material/lightbulb:")


def render_search(report: ImageReport | None, search: SearchHandle,
                  extras: dict[str, Any] | None = None) -> None:
    if _no_search(report, search):
        return
    s = report.search or {}
    if s.get("outside_catalog"):
        # The warning first; the figures only on request, labelled as not meaningful.
        render_outside_catalog(report)
        with st.expander(NOT_MEANINGFUL):
            _search_figures(report, s, extras)
        return
    _search_figures(report, s, extras)


NOT_MEANINGFUL = "Figures against this catalog anyway (not meaningful for this product)"


def _search_figures(report: ImageReport, s: dict[str, Any],
                    extras: dict[str, Any] | None) -> None:
    extras = extras or {}
    pk = int(s.get("primary_k", 10))
    shares = s.get("top_k_share") or {}
    st.markdown(headline(s))
    c = st.columns(4)
    c[0].metric(f"First screen (top {pk})", pct(shares.get(str(pk))),
                help="Share of simulated shopper searches with your listing in the first "
                     f"{pk} results.")
    med = s.get("median_rank")
    n_prod = s.get("n_products")
    c[1].metric("Median rank", "–" if med is None else f"{med:g}",  # noqa: RUF001
                help=f"Among {n_prod} catalog products (1 = top)." if n_prod else None)
    p = s.get("percentile")
    c[2].metric("Percentile vs catalog", "–" if p is None else ordinal(p),  # noqa: RUF001
                help="Beats this share of the catalog's own products put through the same "
                     "simulation.")
    sc = report.scores.get("search")
    c[3].metric("Search score", "–" if sc is None else f"{sc:.0f} / 100")  # noqa: RUF001

    for line in two_stage_lines(s):
        st.caption(line)

    scen = whatif_scenarios(s)
    wi = s.get("what_if") or {}
    left, right = st.columns([1.15, 1], gap="large")
    with left:
        st.markdown("##### Where your listing ranks")
        if s.get("ranks"):
            st.plotly_chart(charts.rank_histogram(s["ranks"], pk),
                            config={"displayModeBar": False}, key=f"rank-{report.content_hash}")
        else:
            st.plotly_chart(charts.topk_bars(shares, wi.get("top_k_share"), pk),
                            config={"displayModeBar": False}, key=f"topk-{report.content_hash}")
        lo, hi = s.get("rank_p25"), s.get("rank_p75")
        if lo is not None and hi is not None and round(lo) == round(hi):
            st.caption(f"Half of the searches or more put your listing at rank {lo:.0f}.")
        elif lo is not None and hi is not None:
            st.caption(f"Half of the searches put your listing between rank {lo:.0f} and "
                       f"{hi:.0f} (median {med:.0f}).")
    with right:
        st.markdown("##### What if you fix it?")
        if not scen:
            kind, text = no_whatif_message(s)
            if kind == "warning":
                st.warning(text, icon=":material/visibility_off:")
            else:
                st.success(text, icon=":material/check_circle:")
        else:
            orig = report.image.rgb if report.image is not None else None
            fixed = extras.get("what_if_image")
            a, b = st.columns(2)
            if orig is not None:
                a.image(orig, caption=f"Now: first screen {pct(scen[-1]['before'])}",
                        width="stretch")
            if fixed is not None:
                b.image(fixed, caption=f"Fixed: first screen {pct(scen[-1]['after'])}",
                        width="stretch")
            for row in scen:
                st.markdown(f"- **{md_escape(row['label'])}**: first-screen share "
                            f"{change_text(row['before'], row['after'])}")
            hidden = still_hidden_text(s)
            if hidden:
                st.warning(hidden, icon=":material/visibility_off:")
    if len(scen) > 1:
        st.plotly_chart(charts.whatif_bars(scen), config={"displayModeBar": False},
                        key=f"whatif-{report.content_hash}")

    peer = s.get("peer") or {}
    if peer.get("n_queries"):
        ps = (peer.get("top_k_share") or {}).get(str(pk))
        cat = peer.get("category") or "its category"
        how = "inferred from the lookalikes" if peer.get("category_source") == "inferred" \
            else "given"
        st.caption(f"Browsing by similar products: when shoppers search with photos of "
                   f"{peer['n_queries']} other products in *{md_escape(cat)}* ({how}), your "
                   f"listing is in their first {pk} results {pct(ps)} of the time.")
    qs = extras.get("queries") or []
    if qs:
        st.markdown("##### What shoppers' photos look like")
        st.caption("The search engine matches photos like these (simulated from yours: other "
                   "backgrounds, angles, light and phone blur) against every listing.")
        cols = st.columns(len(qs))
        for col, q in zip(cols, qs, strict=True):
            col.image(q, width="stretch")


def render_differentiation(report: ImageReport | None, search: SearchHandle,
                           cmap: CatalogMap | None = None,
                           extras: dict[str, Any] | None = None) -> None:
    """Uniqueness, near-duplicates, the nearest lookalikes and the catalog map; the upload's
    star on the map is the embedding the search simulation ranked (``extras["embedding"]``)."""
    if _no_search(report, search):
        return
    d = report.differentiation or {}
    nbrs = d.get("nearest") or []
    dups = d.get("near_duplicates") or []
    uniq = d.get("uniqueness")
    if (report.search or {}).get("outside_catalog"):
        render_outside_catalog(report)
        with st.expander(NOT_MEANINGFUL):
            _lookalike_figures(report, search, cmap, extras, nbrs, dups, uniq)
        return
    _lookalike_figures(report, search, cmap, extras, nbrs, dups, uniq)


def duplicate_lines(dups: list[dict]) -> list[str]:
    """One warning per catalog product the upload copies (a product's photos are often the same
    shot recoloured, each a copy): its most similar photo speaks for it, with the evidence that
    found it and a count of the others."""
    by_product: dict[str, list[dict]] = {}
    for dup in dups:
        by_product.setdefault(str(dup.get("product_id") or dup.get("image")), []).append(dup)
    lines = []
    for group in by_product.values():
        dup = group[0]
        what = md_escape(html.unescape(str(dup.get("title") or dup.get("product_id")
                                           or "a catalog item")))
        how = "the same file as" if dup.get("same_file") else "a near-copy of"
        reg = dup.get("registered") or {}
        why = (f"its pixels line up with a {'mirrored, ' if reg.get('mirrored') else ''}"
               f"resized or cropped copy of that photo at {int(reg.get('inliers') or 0)} "
               f"matching points" if reg else
               f"similarity {float(dup.get('similarity') or 0):.2f}, pHash distance "
               f"{dup.get('phash_distance', '?')}/64")
        more = (f" It also copies {len(group) - 1} other photo"
                f"{'s' if len(group) > 2 else ''} of that listing." if len(group) > 1 else "")
        lines.append(f"This photo is {how} **{what}** ({why}).{more} Marketplaces hide "
                     "duplicate images.")
    return lines


def _lookalike_figures(report: ImageReport, search: SearchHandle, cmap: CatalogMap | None,
                       extras: dict[str, Any] | None, nbrs: list, dups: list,
                       uniq: Any) -> None:
    c = st.columns(3)
    c[0].metric("Uniqueness", "–" if uniq is None else f"{uniq:.0f} / 100",  # noqa: RUF001
                help="How far your photo is from its nearest catalog products, as a "
                     "percentile of the catalog (higher = stands out more).")
    # a near-copy is left out of the lookalikes (it is the same photo, warned about below):
    # say so, or "closest 0.69" reads as contradicting "a near-copy, similarity 0.99"
    c[1].metric("Closest other lookalike" if dups else "Closest lookalike",
                "–" if not nbrs else f"{float(nbrs[0].get('similarity', 0)):.2f}",  # noqa: RUF001
                help="Cosine similarity of the visual-search embeddings (1 = identical)"
                     + (", leaving out the near-copies below." if dups else "."))
    c[2].metric("Near-duplicates", len(dups))
    for line in duplicate_lines(dups):
        st.warning(line, icon=":material/content_copy:")
    if nbrs:
        st.markdown("##### Nearest lookalikes in the catalog"
                    + (" (besides the near-copies above)" if dups else ""))
        cols = st.columns(max(5, len(nbrs[:6])))
        for col, nb in zip(cols, nbrs[:6], strict=False):
            with col:
                path = _thumb(search, nb.get("item_id"))
                if path is not None:
                    st.image(str(path), width="stretch")
                title = md_escape(html.unescape(str(nb.get("title") or nb.get("product_id")
                                                    or "")))
                st.caption(f"{title}  \nsimilarity **{float(nb.get('similarity') or 0):.2f}**")
    if cmap is None:
        return
    meta = search.catalog.meta
    titles = [html.unescape(t) for t in
              (meta["title"].astype(str) + " · " + meta["product_id"].astype(str))] \
        if "title" in meta else [""] * len(meta)
    cats = meta["category"].fillna("").astype(str).tolist() if "category" in meta else None
    emb = (extras or {}).get("embedding")
    xy = cmap.project(emb) if emb is not None else None
    nb_ids = [int(nb["item_id"]) for nb in nbrs if nb.get("item_id") is not None]
    st.markdown("##### Where your photo sits in the catalog")
    ev = sum(cmap.explained)
    st.caption("Each dot is a catalog photo, placed by its visual-search embedding (PCA to 2-D, "
               f"{ev:.0%} of the variance); close dots look alike to a search engine. Hover "
               "for the product; the star is your photo, circles its nearest lookalikes.")
    st.plotly_chart(charts.catalog_scatter(cmap.coords, titles, cats, xy, report.file, nb_ids),
                    config={"displayModeBar": False}, key=f"map-{report.content_hash}")


def _thumb(search: SearchHandle, item_id: Any) -> Any:
    if item_id is None or search.catalog is None:
        return None
    try:
        p = search.catalog.thumbnail_path(int(item_id))
    except Exception:
        return None
    return p if p is not None and p.is_file() else None
