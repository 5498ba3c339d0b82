"""The dashboard's "My catalog": paste image URLs or upload a CSV, build a reference catalog.

A seller rarely has a folder of competitors' photos, but can copy the main-image URLs off a
marketplace results page. The pasted text is either a CSV with an ``image`` column (and
optionally ``product_id,title,category``, as for ``listing-lens catalog build``) or one URL per
line (each its own product). The catalog is built once per distinct source (folder named by its
sha256 under ``~/.cache/listing-lens/my_catalogs``), with the same URL fetching as the CLI;
re-building the same source reuses the downloaded files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path
from typing import Any

from analyzer.errors import ErrorCode, ListingLensError

MAX_ROWS = 5000   # a dashboard build; larger catalogs belong to the CLI (or its Ray engine)


def my_catalogs_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "listing-lens" / "my_catalogs"


def source_csv(text: str) -> bytes:
    """The catalog-source CSV (UTF-8 bytes) for pasted or uploaded text: a CSV with an ``image``
    column is kept as it is; otherwise every non-empty line is one image (URL or path), a
    product of its own. Raises BAD_CSV when there is nothing to build from."""
    text = (text or "").replace("\r\n", "\n").strip().lstrip("\ufeff")
    if not text:
        raise ListingLensError(ErrorCode.BAD_CSV, "paste image URLs (one per line) or a CSV "
                               "with an 'image' column")
    first = text.split("\n", 1)[0]
    header = [c.strip().lower() for c in next(csv.reader([first]))]
    if "image" in header:
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        lines = [ln.strip().strip(",").strip('"') for ln in text.split("\n") if ln.strip()]
        rows = [{"image": ln, "product_id": f"item-{i:04d}"}
                for i, ln in enumerate(lines, start=1)]
    rows = [r for r in rows if (r.get("image") or "").strip()]
    if not rows:
        raise ListingLensError(ErrorCode.BAD_CSV, "no image URLs found")
    if len(rows) > MAX_ROWS:
        raise ListingLensError(ErrorCode.BAD_CSV,
                               f"{len(rows)} images; the dashboard builds up to {MAX_ROWS} "
                               "(use `listing-lens catalog build` for more)")
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=["image", "product_id", "title", "category"],
                       extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (r.get(k) or "").strip() for k in ("image", "product_id", "title",
                                                           "category")})
    return out.getvalue().encode("utf-8")


def catalog_dir_for(csv_bytes: bytes, root: Path | None = None) -> Path:
    return (root or my_catalogs_root()) / hashlib.sha256(csv_bytes).hexdigest()[:16]


def nothing_usable(skipped: list[dict[str, str]], shown: int = 3) -> ListingLensError:
    """The error of a build that could use none of its images, with the first reasons (a new
    user's try got only "none of the 3 images could be used", offline, a line not a URL)."""
    n = len(skipped)
    why = "; ".join(f"{s.get('file', '?')}: {s.get('message', s.get('code', ''))}"
                    for s in skipped[:shown]) + (f"; {n - shown} more" if n > shown else "")
    if n and all(s.get("code") == ErrorCode.DOWNLOAD_FAILED.value for s in skipped):
        return ListingLensError(ErrorCode.DOWNLOAD_FAILED,
                                f"none of the {n} images could be downloaded (check that this "
                                f"machine is online and the URLs open in a browser): {why}")
    return ListingLensError(ErrorCode.FILE_NOT_FOUND,
                            f"none of the {n} images could be used: {why}" if n else
                            "no images could be used")


def build_my_catalog(csv_bytes: bytes, root: Path | None = None, embedder: str = "builtin",
                     download_config: Any = None) -> tuple[Path, list[dict[str, str]]]:
    """Build (or find, when already built) the catalog of ``csv_bytes``; returns its folder and
    the skipped images. Raises ListingLensError when nothing could be built."""
    import json

    from analyzer.search.catalog import MANIFEST, build_catalog

    out = catalog_dir_for(csv_bytes, root)
    done = out / "build.json"
    if (out / MANIFEST).is_file() and done.is_file():
        return out, list(json.loads(done.read_text(encoding="utf-8")).get("skipped", []))
    out.mkdir(parents=True, exist_ok=True)
    src = out / "source.csv"
    src.write_bytes(csv_bytes)
    res = build_catalog(src, out, embedder=embedder, progress=False, overwrite=True,
                        download_config=download_config)
    if res.items == 0:
        raise nothing_usable(res.skipped)
    done.write_text(json.dumps(res.to_dict()), encoding="utf-8")
    return out, res.skipped


def render_my_catalog() -> str | None:
    """Sidebar widget: paste or upload, build, and return the built catalog's folder."""
    import streamlit as st

    st.caption("Paste your competitors' main-image URLs (one per line, copied from a results "
               "page) or a CSV with columns image, product_id, title, category.")
    text = st.text_area("Image URLs or CSV", key="mycat-text", height=120,
                        placeholder="https://cdn.example.com/shoe-1.jpg\n"
                                    "https://cdn.example.com/shoe-2.jpg")
    up = st.file_uploader("…or upload a CSV", type=["csv", "txt"], key="mycat-csv")
    if up is not None:
        text = up.getvalue().decode("utf-8", errors="replace")
    built = st.session_state.get("mycat-built")
    if st.button("Build my catalog", key="mycat-build", type="primary"):
        try:
            data = source_csv(text)
            with st.spinner("Downloading and embedding the images…"):
                folder, skipped = build_my_catalog(data)
        except ListingLensError as e:
            st.error(f"{e.code.value}: {e.message}", icon=":material/error:")
            return built
        st.session_state["mycat-built"] = built = str(folder)
        st.session_state["mycat-skipped"] = skipped
    skipped = st.session_state.get("mycat-skipped") or []
    if built:
        st.success(f"Catalog ready: {built}", icon=":material/inventory_2:")
    if skipped:
        with st.expander(f"{len(skipped)} image(s) skipped"):
            for s in skipped[:200]:
                st.markdown(f"- `{s['code']}` {s['file']}: {s['message']}")
    return built
