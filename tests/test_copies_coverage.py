"""Near-duplicates that survive copiers (mirror, crop, text), OUTSIDE_CATALOG, and shopper-photo
backgrounds that fit the category."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from analyzer.search import coverage as cover
from analyzer.search import duplicates as copies
from analyzer.search.shopper_sim import background_kind, load_backgrounds
from tests.rank_helpers import main_image, tops_context

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from copy_families import FAMILIES, make_copy  # noqa: E402


def _textured(seed: int, size: tuple[int, int] = (120, 160)) -> np.ndarray:
    """An asymmetric picture (a bright blob on the left, gradient), so its mirror differs."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = size
    coarse = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)   # a random low-frequency picture
    img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    img[10:60, 5:45] = rng.integers(0, 255, 3)
    return img


def test_mirror_invariant_hash_distance():
    img = _textured(0)
    other = _textured(5)
    stored = [copies.query_signature(img).hex, copies.query_signature(other).hex, "bad", ""]
    sig_m = copies.query_signature(copies.mirror(img))
    d = copies.mirror_hash_distances(sig_m, stored)
    plain = np.array([bin(sig_m.hashes[0] ^ int(stored[0], 16)).count("1")])
    assert d[0] == 0 and plain[0] > 10          # the plain pHash misses the mirror image
    assert d[1] > 10


def test_copy_rule_and_find_copies():
    rule = copies.CopyRule(phash_max=12, similarity=0.9, phash_strict=6, similarity_strict=0.96)
    sig = copies.QuerySignature(hashes=(0, 0xFFFF))
    hashes = ["0000000000000007", "00000000000000ff", "ffffffffffffffff", "ffffffffffffffff",
              "zz"]
    # cosine per image: the mirror embedding's cosine counts too
    sims = copies.mirror_similarities(np.array([1.0, 0.0]), np.array([0.0, 1.0]),
                                      np.array([0.5, 0.95, 0.5, 0.2, 0.99]),
                                      np.array([[0.5, 0.1], [0.95, 0.2], [0.5, 0.97],
                                                [0.2, 0.3], [0.99, 0.1]]))
    assert sims.tolist() == pytest.approx([0.5, 0.95, 0.97, 0.3, 0.99])
    idx, dist, tried = copies.find_copies(sig, "", sims, hashes, ["a"] * 5, rule)
    # 0: hash 3 bits (strict); 1: hash 8 bits and cosine 0.95; 2: cosine 0.97 alone (mirror);
    # 3: nothing; 4: unparsable hash, cosine 0.99 alone
    assert sorted(idx.tolist()) == [0, 1, 2, 4] and idx[0] == 4
    assert dist[0] == 3 and dist[1] == 8 and tried == {}
    same, _, _ = copies.find_copies(sig, "a", np.zeros(5), hashes, ["x", "a", "x", "x", "x"],
                                 copies.CopyRule(0, 2.0, -1, 2.0))
    assert same.tolist() == [1]


def test_registration_finds_the_copy_the_signatures_miss_and_only_among_the_top_k():
    """Image 3 has a far hash and a low cosine (a cropped, stamped small photo): only its
    registration finds it; it is tried because it is among the top-k by cosine, and images the
    signatures already flag are not registered again."""
    from analyzer.vision.registration import NO_MATCH, CopyMatch

    good = CopyMatch(inliers=40, rotation=0.1, scale=1.05, ncc=0.9, colour=3.0, overlap=0.9)
    rule = copies.CopyRule(phash_max=12, similarity=0.9, phash_strict=6, similarity_strict=0.96,
                           verify_top_k=2)
    sig = copies.QuerySignature(hashes=(0, 0))
    hashes = ["0000000000000007", "ffffffffffffffff", "ffffffffffffffff", "ffffffffffffffff"]
    sims = np.array([0.5, 0.3, 0.2, 0.7])
    calls: list[int] = []

    def register(i: int) -> CopyMatch:
        calls.append(i)
        return good if i == 3 else NO_MATCH

    idx, _, tried = copies.find_copies(sig, "", sims, hashes, ["a"] * 4, rule, register)
    # top-2 by cosine: 3 (registered: a copy) and 0 (already a copy by its hash: not tried)
    assert idx.tolist() == [3, 0] and calls == [3] and set(tried) == {3}
    # each registration figure out of range turns it down
    for bad in ({"inliers": 5}, {"rotation": 8.0}, {"scale": 1.6}, {"ncc": 0.4},
                {"colour": 35.0}):
        assert not rule.is_registered_copy(CopyMatch(**{**good.__dict__, **bad}))
    assert rule.is_registered_copy(good)
    # verify_top_k = 0 (the old rule): nothing registered
    off = copies.CopyRule(12, 0.9, 6, 0.96)
    assert copies.find_copies(sig, "", sims, hashes, ["a"] * 4, off, register)[0].tolist() == [0]


def _package(seed: int) -> np.ndarray:
    """A 200 px "package shot": printed text and shapes on a carton, on white."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.full((220, 180, 3), 255, np.uint8)
    cv2.rectangle(img, (20, 15), (160, 205), tuple(int(x) for x in rng.integers(60, 200, 3)), -1)
    for k in range(9):
        cv2.putText(img, "".join(rng.choice(list("ABCDEFGHKMNPRSTUVWXYZ"), 5)),
                    (28, 40 + 18 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.5 + 0.1 * (k % 3),
                    tuple(int(x) for x in rng.integers(0, 256, 3)), 1, cv2.LINE_AA)
    cv2.circle(img, (120, 170), 22, (250, 240, 20), -1)
    return img


def test_registration_tells_a_copy_from_a_reshoot_and_a_recolour():
    import cv2

    from analyzer.vision import registration as reg

    rule = copies.CopyRule.from_dict(
        __import__("analyzer.config", fromlist=["thresholds"]).thresholds()["differentiation"])
    orig = _package(0)
    cand = reg.prepare(orig)

    def against(img: np.ndarray) -> reg.CopyMatch:
        q = reg.prepare(img)
        return reg.match(q, cand, reg.mirrored(q))

    # a copy: shrunk, mirrored, 8% cropped, a shop name stamped, JPEG
    rng = np.random.default_rng(1)
    copy = make_copy(orig, "mirror_crop_text", rng)
    m = against(copy)
    assert m.mirrored and rule.is_registered_copy(m), m
    # a "re-shoot": the same carton turned 12 degrees and in perspective, on another backdrop
    h, w = orig.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[14, 6], [w - 4, 20], [w - 18, h - 2], [6, h - 14]])
    turned = cv2.warpPerspective(orig, cv2.getPerspectiveTransform(src, dst), (w, h),
                                 borderValue=(150, 140, 120))
    turned = cv2.warpAffine(turned, cv2.getRotationMatrix2D((w / 2, h / 2), 12, 1.0), (w, h),
                            borderValue=(150, 140, 120))
    assert not rule.is_registered_copy(against(turned))
    # a recoloured variant: the same shot with the carton's hue turned half way round
    hsv = cv2.cvtColor(orig, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 90) % 180
    recol = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    m = against(recol)
    assert m.inliers >= 15 and m.colour > rule.verify_max_colour, m
    assert not rule.is_registered_copy(m)
    # another product entirely
    assert not rule.is_registered_copy(against(_package(7)))


def test_copy_families_change_the_photo_and_are_seeded():
    img = _textured(1, (200, 160))
    for f in FAMILIES:
        a = make_copy(img, f, np.random.default_rng(3))
        b = make_copy(img, f, np.random.default_rng(3))
        assert np.array_equal(a, b) and a.dtype == np.uint8 and a.ndim == 3
        assert a.shape != img.shape or np.abs(a.astype(int) - img).mean() > 0.5
    with pytest.raises(ValueError):
        make_copy(img, "nope", np.random.default_rng(0))


def test_coverage_rule():
    base = np.linspace(0.10, 0.20, 11)          # the catalog's own k-NN distances
    rule = cover.CoverageRule(quantile=0.9, max_ratio=1.2)
    ref = float(np.quantile(base, 0.9))
    inside = cover.assess(0.18, base, rule)
    outside = cover.assess(ref * 1.3, base, rule)
    assert inside.covered and not outside.covered
    assert outside.ratio == pytest.approx(1.3) and outside.reference == pytest.approx(ref)
    assert outside.to_dict()["covered"] is False
    # no baseline (a one-product catalog): nothing to compare with, covered
    assert cover.assess(0.9, np.array([0.1]), rule).covered
    r = cover.coverage_ratio(np.array([ref, 2 * ref]), base, 0.9)
    assert r.tolist() == pytest.approx([1.0, 2.0])


def test_coverage_needs_the_class_test_to_agree():
    base = np.linspace(0.10, 0.20, 11)
    rule = cover.CoverageRule(quantile=0.9, max_ratio=1.2, semantic_min_mass=0.2)
    far = float(np.quantile(base, 0.9)) * 1.5          # outside by the distance
    # A phone photo of a covered kind of product (most of its class mass on the catalog's
    # classes) is covered; a product of another kind is outside; unmeasured: distance alone.
    assert cover.assess(far, base, rule, class_mass=0.6).covered
    out = cover.assess(far, base, rule, class_mass=0.05)
    assert not out.covered and out.to_dict()["class_mass"] == pytest.approx(0.05)
    assert not cover.assess(far, base, rule, class_mass=None).covered
    no_sem = cover.CoverageRule(quantile=0.9, max_ratio=1.2, semantic=False)
    assert not cover.assess(far, base, no_sem, class_mass=0.6).covered
    # Near by the distance: covered whatever the classes say.
    assert cover.assess(0.12, base, rule, class_mass=0.0).covered


def test_class_profile_and_covered_mass():
    # Catalog images: classes 0-4 are each image's top-5 (class 5 is in none of them).
    cat = np.zeros((4, 8))
    cat[:, :5] = [0.3, 0.25, 0.2, 0.15, 0.1]
    cat[:2, 6] = 0.05
    prof = cover.class_profile(cat)
    assert prof[:5].tolist() == pytest.approx([1.0] * 5) and prof[5] == 0 and prof[7] == 0
    q = np.zeros(8)
    q[0], q[5] = 0.3, 0.7                               # mostly a class the catalog lacks
    assert cover.covered_mass(q, prof, 0.05) == pytest.approx(0.3)
    assert cover.covered_mass(np.stack([q, cat[0]]), prof, 0.05).tolist() == pytest.approx(
        [0.3, 1.0])


def test_backbone_classifier_gives_class_probabilities():
    from analyzer.embed.backbone import class_probabilities

    rng = np.random.default_rng(0)
    p = class_probabilities([rng.integers(0, 256, (120, 90, 3), dtype=np.uint8),
                             np.full((64, 64, 3), 255, np.uint8)])
    assert p.shape == (2, 1000) and np.allclose(p.sum(axis=1), 1.0, atol=1e-4)
    assert not np.allclose(p[0], p[1])


def test_background_kind_fits_the_category():
    assert background_kind("Grocery > Fruit") == "grocery"
    assert background_kind("Packages/Milk") == "grocery"
    assert background_kind("Shoes") == "clothing"
    assert background_kind("Tops") == "clothing"
    assert background_kind(None) == "clothing"
    rules = {"default": "x", "kinds": {"y": ["boot"]}}
    assert background_kind("Boots", rules) == "y" and background_kind("Hats", rules) == "x"
    shelves, floors = load_backgrounds(kind="grocery"), load_backgrounds(kind="clothing")
    everything = load_backgrounds()
    assert shelves and floors and len(shelves) + len(floors) == len(everything)
    assert not any(np.array_equal(a, b) for a in shelves for b in floors)


# --- on real photos: a small luma catalog ---------------------------------------------------


@pytest.fixture(scope="module")
def tops(shared_data, tmp_path_factory):
    return tops_context(shared_data, tmp_path_factory.getbasetemp(), n_queries=4,
                        n_peer_queries=4, n_baseline_products=0)


def _analyzed(data: bytes, name: str):  # type: ignore[no-untyped-def]
    from analyzer.engine import analyze

    return analyze(data, name=name, keep_image=True)


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.shared
@pytest.mark.slow
def test_mirrored_cropped_stamped_copy_is_a_near_duplicate(tops):
    from analyzer.io.loader import load_image

    ctx, _ = tops
    item = 5
    pid = str(ctx.catalog.meta["product_id"].iloc[item])
    rgb = load_image(ctx.catalog.image_path(item)).rgb
    copy = make_copy(rgb, "mirror_crop_text", np.random.default_rng(11))
    rep = _analyzed(_jpeg(copy), "copy.jpg")
    ctx.enrich(rep)
    dups = rep.differentiation["near_duplicates"]
    assert dups and dups[0]["product_id"] == pid and not dups[0]["same_file"]
    assert any(f.code == "NEAR_DUPLICATE" and pid in f.message for f in rep.flags)
    assert not rep.search["outside_catalog"]


@pytest.mark.shared
@pytest.mark.slow
def test_a_product_the_catalog_lacks_is_outside_and_a_new_top_is_not(tops, shared_data):
    ctx, rows = tops
    grocery = sorted((shared_data / "grocery" / "dataset" / "iconic-images-and-descriptions")
                     .rglob("*_Iconic.jpg"))[:2]
    for p in grocery:
        rep = _analyzed(p.read_bytes(), p.name)
        ctx.enrich(rep)
        assert rep.search["outside_catalog"] and not rep.search["coverage"]["covered"]
        codes = [f.code for f in rep.flags]
        assert "OUTSIDE_CATALOG" in codes
        assert "LOW_SEARCH_RANK" not in codes and "LOW_DIFFERENTIATION" not in codes
        flag = next(f for f in rep.flags if f.code == "OUTSIDE_CATALOG")
        assert "not meaningful" in flag.message and "catalog build" in flag.fix
    in_catalog = set(ctx.groups.product_ids)
    new_top = next(r for r in rows if r["product_key"] not in in_catalog)
    rep = _analyzed(main_image(shared_data, new_top).read_bytes(), "top.jpg")
    ctx.enrich(rep)
    assert not rep.search["outside_catalog"]
    assert "OUTSIDE_CATALOG" not in [f.code for f in rep.flags]


def _package_catalog(tmp_path: Path, n: int) -> Path:
    """A catalog of ``n`` synthetic package shots (:func:`_package`), built in ``tmp_path``."""
    from analyzer.search.catalog import build_catalog

    src = tmp_path / "src"
    src.mkdir()
    for i in range(n):
        Image.fromarray(_package(i)).save(src / f"pack{i}.jpg", quality=92)
    out = tmp_path / "cat"
    build_catalog(src, out, progress=False)
    return out


def test_search_flags_a_copy_by_registration_alone(tmp_path):
    """End to end, no shared data: a catalog of six package shots; with the signature thresholds
    switched off, a shrunk, mirrored, cropped and stamped copy of one is still a NEAR_DUPLICATE
    of that image, found by registering it (the JSON says so and the card's wording uses it),
    and another package is not a copy of anything."""
    from dataclasses import replace

    from analyzer.search.integration import SearchContext

    out = _package_catalog(tmp_path, 6)
    ctx = SearchContext.open(out, device="cpu")
    rule = replace(ctx.cfg.duplicates, phash_max=-1, phash_strict=-1, similarity=2.0,
                   similarity_strict=2.0)
    ctx.cfg = replace(ctx.cfg, duplicates=rule, n_queries=2, n_peer_queries=2,
                      n_baseline_products=0)
    copy = make_copy(_package(2), "mirror_crop_text", np.random.default_rng(4))
    res = ctx.evaluate(copy, seed=0, quality=90.0, flags=[])
    dups = res.differentiation["near_duplicates"]
    assert [d["image"] for d in dups] == [str(ctx.catalog.meta["image"].iloc[
        int(np.flatnonzero(ctx.catalog.meta["image"].str.contains("pack2"))[0])])]
    assert dups[0]["registered"]["mirrored"] and dups[0]["registered"]["inliers"] >= 15
    assert "NEAR_DUPLICATE" in {f.code for f in res.flags}
    other = ctx.evaluate(_package(9), seed=0, quality=90.0, flags=[])
    assert other.differentiation["near_duplicates"] == []


def test_catalog_class_profile_is_computed_once_and_cached_on_disk(tmp_path, monkeypatch):
    """The OUTSIDE_CATALOG class profile classifies up to 256 catalog images: the second context
    on the same catalog reads it from the catalog's cache instead (and a changed catalog gets a
    new one)."""
    from analyzer.embed import backbone
    from analyzer.search.integration import SearchContext

    out = _package_catalog(tmp_path, 4)
    calls: list[int] = []
    real = backbone.class_probabilities

    def counting(views, *a, **k):  # type: ignore[no-untyped-def]
        calls.append(len(views))
        return real(views, *a, **k)

    monkeypatch.setattr(backbone, "class_probabilities", counting)
    first = SearchContext.open(out, device="cpu").class_profile()
    assert first is not None and first.shape == (1000,) and calls == [4]
    assert len(list((out / "cache").glob("class_profile-*.npy"))) == 1
    again = SearchContext.open(out, device="cpu").class_profile()
    assert np.array_equal(first, again) and calls == [4]


def test_an_upload_unlike_every_catalog_photo_gets_its_category_from_its_content(monkeypatch):
    """Against studio shots an amateur photo's nearest products vote for a category near
    chance (a t-shirt ranked among bags): when even the nearest is less similar than
    category_vote_min_similarity, the category whose catalog images' classes hold the upload's
    class probability decides; above it the nearest products still do."""
    from dataclasses import replace

    from analyzer.search.integration import SearchContext
    from tests.conftest import DEMO_CATALOG

    ctx = SearchContext.open(DEMO_CATALOG, device="cpu")
    ctx.cfg = replace(ctx.cfg, n_queries=2, n_peer_queries=2, n_baseline_products=0)
    names, prof = ctx.category_profiles()
    assert prof.shape == (len(names), 1000) and "Bottoms" in names
    upload = cv2.GaussianBlur(np.random.default_rng(5).integers(0, 256, (300, 300, 3),
                                                               dtype=np.uint8), (0, 0), 3)

    def category(min_sim: float) -> str:
        ctx.cfg = replace(ctx.cfg, category_vote_min_similarity=min_sim)
        res = ctx.evaluate(upload, seed=0, quality=90.0, flags=[])
        assert res.differentiation["nearest"][0]["similarity"] < 0.45
        return res.search["stage2"]["in_category"]

    by_neighbours = category(-1.0)
    target = next(n for n in ("Bottoms", "Bags", "Tops") if n != by_neighbours)
    j = names.index(target)
    p = np.zeros(1000)
    p[int(np.argmax(prof[j] - np.delete(prof, j, axis=0).max(axis=0)))] = 1.0
    monkeypatch.setattr(ctx, "class_probs", lambda rgb: p)
    assert ctx.class_category(p) == target
    assert category(0.45) == target
    assert category(-1.0) == by_neighbours


def test_a_copy_of_a_catalog_photo_is_never_outside_the_catalog():
    """A photo three listings share (the demo catalog's stability balls): its copy is a
    NEAR_DUPLICATE of them, so the catalog covers the product, however far the products left
    after the copies are; the card once said both "not covered" and "a near-copy of ..."."""
    from dataclasses import replace

    from analyzer.search.integration import SearchContext
    from tests.conftest import DEMO_CATALOG

    ctx = SearchContext.open(DEMO_CATALOG, device="cpu")
    ctx.cfg = replace(ctx.cfg, n_queries=2, n_peer_queries=2, n_baseline_products=0)
    src = next(DEMO_CATALOG.glob("images/24-WG081*/*.jpg"))
    im = Image.open(src).convert("RGB")
    buf = io.BytesIO()
    im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(buf, "JPEG", quality=35)
    res = ctx.evaluate(np.asarray(Image.open(buf).convert("RGB")), seed=0, quality=90.0,
                       flags=[])
    codes = {f.code for f in res.flags}
    assert res.differentiation["near_duplicates"] and "NEAR_DUPLICATE" in codes
    assert not res.search["outside_catalog"] and "OUTSIDE_CATALOG" not in codes
    # ... and it competes in the category of the listings it copies, not its other neighbours'
    assert res.search["stage2"]["in_category"] == "Fitness Equipment"
