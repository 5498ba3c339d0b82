"""The clutter check: edges and colours outside the product, several salient objects."""

from __future__ import annotations

import numpy as np
import pytest
from quality_controls import context, paste_on, rgb_of

from analyzer.config import check_thresholds
from analyzer.quality import clutter
from analyzer.quality.clutter import color_stats, count_components, edge_map, measure_clutter

TH = check_thresholds("clutter")


def _instore(shared_data, n: int, seed: int) -> list:
    base = shared_data / "grocery" / "dataset"
    lines = [ln.split(",")[0].strip() for ln in (base / "train.txt").read_text().splitlines()
             if ln.strip()]
    rng = np.random.default_rng(seed)
    return [base / lines[i] for i in rng.choice(len(lines), n, replace=False)]


# ---- measure functions -----------------------------------------------------------------------

def test_color_stats_plain_and_two_colours() -> None:
    rgb = np.full((20, 20, 3), 255, np.uint8)
    region = np.ones((20, 20), bool)
    assert color_stats(rgb, region) == (0.0, 1.0)
    rgb[:, 10:] = (20, 120, 200)
    entropy, groups = color_stats(rgb, region)
    assert entropy == pytest.approx(1.0)
    assert groups == 2.0


def test_edge_map_is_empty_on_a_noisy_plain_backdrop_and_not_on_stripes() -> None:
    rng = np.random.default_rng(0)
    noisy = np.clip(240 + rng.normal(0, 2, (128, 128, 1)), 0, 255).repeat(3, 2).astype(np.uint8)
    assert edge_map(noisy).mean() < 0.001
    stripes = np.full((128, 128, 3), 255, np.uint8)
    stripes[:, ::8] = 0
    assert edge_map(stripes).mean() > 0.1


def test_count_components_ignores_small_specks() -> None:
    m = np.zeros((100, 100), bool)
    m[10:40, 10:40] = True
    m[60:90, 60:90] = True
    m[5:7, 90:92] = True
    assert count_components(m, rel=0.1, abs_frac=0.005) == 2


def test_measures_on_a_plain_synthetic_product() -> None:
    rgb = np.full((200, 200, 3), 255, np.uint8)
    rgb[50:150, 60:140] = (200, 30, 40)
    mask = np.zeros((200, 200), bool)
    mask[50:150, 60:140] = True
    m, edges = measure_clutter(rgb, mask, TH)
    assert m["edge_density_bg"] == 0.0
    assert m["color_complexity_bg"] == 1.0
    assert m["salient_components"] == 1.0
    assert edges.shape == (200, 200) and edges.any()  # the product's own outline


# ---- real photos and controls ----------------------------------------------------------------

@pytest.mark.shared
@pytest.mark.slow
def test_catalog_shots_score_above_in_store_photos(luma_main_images, shared_data) -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(11)
    good = [luma_main_images[i] for i in rng.choice(len(luma_main_images), 6, replace=False)]
    iconic = sorted((shared_data / "grocery" / "dataset" /
                     "iconic-images-and-descriptions").rglob("*.jpg"))
    good += [iconic[i] for i in rng.choice(len(iconic), 6, replace=False)]
    bad = _instore(shared_data, 12, 11)
    gs = [clutter.check(context(rgb_of(p, 512), fmt="JPEG")).score for p in good]
    bs = [clutter.check(context(rgb_of(p, 512), fmt="JPEG")) for p in bad]
    auc = roc_auc_score([1] * len(gs) + [0] * len(bs), gs + [r.score for r in bs])
    assert auc >= 0.85, (gs, [r.score for r in bs])
    flagged = sum(any(f.code == "CLUTTERED_BACKGROUND" for f in r.flags) for r in bs)
    assert flagged >= 8


@pytest.mark.shared
@pytest.mark.parametrize("use_model", [True, False], ids=["u2netp", "classical"])
def test_product_pasted_on_a_busy_shelf_is_cluttered(luma_main_images, shared_data,
                                                     use_model) -> None:
    studio = rgb_of(luma_main_images[5])
    shelf = rgb_of(_instore(shared_data, 1, 2)[0])
    busy = paste_on(studio, shelf)
    clean = clutter.check(context(studio, use_model=use_model))
    r = clutter.check(context(busy, "amazon", use_model=use_model, fmt="JPEG"))
    assert not clean.flags
    flag = next(f for f in r.flags if f.code == "CLUTTERED_BACKGROUND")
    assert f"{r.metrics['edge_density_bg']:.1%} of it is edges" in flag.message
    assert flag.fix
    assert r.score < clean.score - 40
    assert r.maps["edges"].shape == busy.shape[:2]
    etsy = clutter.check(context(busy, "etsy", use_model=use_model, fmt="JPEG"))
    assert etsy.flags[0].severity == "info"


# ---- props vs a multi-piece product (issue 14), on synthetic scenes --------------------------

def _item(h: int, w: int, color: tuple[int, int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tile = np.empty((h, w, 3), np.uint8)
    tile[:] = color
    noise = rng.normal(0, 12, (h, w, 1))
    return np.clip(tile + noise, 0, 255).astype(np.uint8)


def _scene(items: list[tuple[np.ndarray, int, int]], size: tuple[int, int] = (600, 800)
           ) -> np.ndarray:
    canvas = np.full((*size, 3), 255, np.uint8)
    for tile, y, x in items:
        canvas[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
    return canvas


def test_props_beside_the_product_are_clutter() -> None:
    product = _item(360, 260, (40, 60, 140), 0)
    prop_a = _item(120, 150, (200, 40, 40), 1)      # a red box
    prop_b = _item(90, 90, (230, 180, 40), 2)       # a yellow cushion
    clean = _scene([(product, 120, 270)])
    busy = _scene([(product, 120, 270), (prop_a, 350, 60), (prop_b, 380, 640)])
    r_clean = clutter.check(context(clean, use_model=False))
    r_busy = clutter.check(context(busy, use_model=False))
    assert r_clean.metrics["other_objects"] == 0 and not r_clean.flags
    assert r_busy.metrics["other_objects"] == 2
    assert [f for f in r_busy.flags if f.code == "CLUTTERED_BACKGROUND"]
    assert "2 other objects" in r_busy.flags[0].message
    assert r_busy.score <= r_clean.score - 50


def test_props_cap_the_grade_on_amazon_only() -> None:
    """Amazon suppresses a main image with props ("additional items", "propping"): there the
    flag is an error and the grade is capped at C (as a warning, 24 of 30 held props-beside
    copies were still graded A or B); Etsy documents no such rule: no error there."""
    import io

    from PIL import Image

    from analyzer.engine import analyze

    product = _item(360, 260, (40, 60, 140), 0)
    busy = _scene([(product, 120, 270), (_item(120, 150, (200, 40, 40), 1), 350, 60),
                   (_item(90, 90, (230, 180, 40), 2), 380, 640)])
    buf = io.BytesIO()
    Image.fromarray(busy).save(buf, format="PNG")
    amazon = analyze(buf.getvalue(), marketplace="amazon", use_model=False)
    etsy = analyze(buf.getvalue(), marketplace="etsy", use_model=False)
    def severities(rep):
        return [f.severity for f in rep.flags if f.code == "CLUTTERED_BACKGROUND"]

    assert severities(amazon) == ["error"] and amazon.grade in ("C", "D", "F"), amazon.flags
    assert severities(etsy) and "error" not in severities(etsy)


def test_a_title_that_names_a_set_makes_the_items_the_product(tmp_path, capsys) -> None:
    """A kit of a ball, a strap and a block is one product: given a title that names a set
    (the issue: "the one the seller's title names"), the other objects on the backdrop are its
    pieces, through analyze(), the CLI's --title and an audit CSV's title column; without
    it they are props."""
    import csv
    import io
    import json

    from PIL import Image

    from analyzer.cli import main
    from analyzer.engine import analyze
    from analyzer.quality.title import names_a_set

    th = check_thresholds("clutter")
    for t in ("Sprite Yoga Companion Kit", "Socks 3-pack", "pack of 2 mugs", "5 pcs knife set",
              "Bundle: mat + strap"):
        assert names_a_set(t, th), t
    for t in ("Ice pack", "Fanny Pack", "One-piece swimsuit", "Backpack", "Setting spray",
              "Aim Analog Watch", ""):
        assert not names_a_set(t, th), t
    busy = _scene([(_item(360, 260, (40, 60, 140), 0), 120, 270),
                   (_item(120, 150, (200, 40, 40), 1), 350, 60),
                   (_item(90, 90, (230, 180, 40), 2), 380, 640)])
    buf = io.BytesIO()
    Image.fromarray(busy).save(buf, format="PNG")

    def props(rep) -> list:
        return [f for f in rep.flags if f.code == "CLUTTERED_BACKGROUND"]

    alone = analyze(buf.getvalue(), use_model=False)
    kit = analyze(buf.getvalue(), use_model=False, title="Yoga starter kit")
    assert props(alone) and alone.metrics["clutter.title_names_set"] == 0.0
    assert "sold together" in props(alone)[0].fix
    assert not props(kit) and kit.metrics["clutter.title_names_set"] == 1.0
    assert kit.metrics["clutter.product_pieces"] == 3 and kit.metrics["clutter.other_objects"] == 0
    assert kit.scores["clutter"] > alone.scores["clutter"] + 40
    # the command line and the audit's CSV title column reach the checks too
    photo = tmp_path / "kit.png"
    photo.write_bytes(buf.getvalue())
    assert main(["analyze", str(photo), "--no-model", "--workers", "1", "--format", "json",
                 "--title", "Yoga starter kit"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["metrics"]["clutter.title_names_set"] == 1.0
    sheet = tmp_path / "shop.csv"
    with sheet.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "title"])
        w.writerow([str(photo), "Yoga starter kit"])
        w.writerow([str(photo.with_name("kit2.png")), "Yoga mat"])
    photo.with_name("kit2.png").write_bytes(buf.getvalue() + b"\0")  # another content hash
    out = tmp_path / "audit"
    main(["audit", str(sheet), "--out", str(out), "--workers", "1", "--no-model", "--quiet"])
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines() if x]
    by_title = {r["title"]: r["metrics"]["clutter.title_names_set"] for r in rows}
    assert by_title == {"Yoga starter kit": 1.0, "Yoga mat": 0.0}
    # the same photos under other titles: graded again on the next run, not resumed
    with sheet.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "title"])
        w.writerow([str(photo), "Yoga mat"])
        w.writerow([str(photo.with_name("kit2.png")), "Yoga mat"])
    main(["audit", str(sheet), "--out", str(out), "--workers", "1", "--no-model", "--quiet"])
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines() if x]
    latest = {r["content_hash"]: r for r in rows}  # the log keeps the newest result per photo
    assert sorted(r["metrics"]["clutter.title_names_set"] for r in latest.values()) == [0.0, 0.0]
    # one photo on two listings in one sheet: each title gets its own verdict; the same photo
    # under the same title again is a duplicate listing, graded once
    with sheet.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "title"])
        for title in ("Yoga mat", "Yoga starter kit", "Yoga starter kit"):
            w.writerow([str(photo), title])
    out2 = tmp_path / "audit2"
    main(["audit", str(sheet), "--out", str(out2), "--workers", "1", "--no-model", "--quiet"])
    rows = [json.loads(x) for x in (out2 / "results.jsonl").read_text().splitlines() if x]
    assert [(r["title"], r["metrics"]["clutter.title_names_set"]) for r in rows] == [
        ("Yoga mat", 0.0), ("Yoga starter kit", 1.0), ("Yoga starter kit", 1.0)]
    summary = json.loads((out2 / "audit.json").read_text())
    assert summary["analysed"] == 2 and summary["duplicates"] == 1


def test_a_pair_is_not_clutter_but_a_different_object_of_its_size_is() -> None:
    shoe = _item(220, 240, (40, 60, 140), 0)
    pair = _scene([(shoe, 190, 130), (shoe[:, ::-1], 200, 420)])  # the mirror beside it
    r_pair = clutter.check(context(pair, use_model=False))
    assert r_pair.metrics["other_objects"] == 0, r_pair.metrics
    assert r_pair.metrics["product_pieces"] == 2
    assert not r_pair.flags and r_pair.score >= 80
    other = _scene([(shoe, 190, 130), (_item(220, 240, (220, 160, 30), 5), 200, 420)])
    r_other = clutter.check(context(other, use_model=False))
    assert r_other.metrics["other_objects"] == 1 and r_other.flags


def test_parts_the_mask_split_off_the_product_are_not_props() -> None:
    # A U-shaped garment with a differently coloured zip inside its outline, and a model's arm
    # (another colour) beside it, both cut by the top of the frame: one product, no props.
    body = _item(420, 300, (40, 60, 140), 0)
    body[:200, 110:190] = 255                       # the U's opening
    zip_ = _item(160, 40, (230, 120, 40), 3)        # inside the U, another colour
    arm = _item(260, 60, (200, 160, 130), 4)        # skin, touching the top edge
    scene = _scene([(body, 0, 250), (zip_, 20, 380), (arm, 0, 180)], size=(600, 800))
    r = clutter.check(context(scene, use_model=False))
    assert r.metrics["other_objects"] == 0, r.metrics
    assert not r.flags
    # the same two parts away from the product's outline and the frame edge are props
    loose = _scene([(body, 150, 250), (zip_, 300, 40), (arm, 300, 640)], size=(600, 800))
    r_loose = clutter.check(context(loose, use_model=False))
    assert r_loose.metrics["other_objects"] == 2, r_loose.metrics
    assert r_loose.flags


def test_part_of_product_rules() -> None:
    from analyzer.quality.clutter import _frame_edges, part_of_product
    from analyzer.vision.mask_ops import convex_hull

    h, w = 100, 100
    main = np.zeros((h, w), bool)
    main[0:60, 30:70] = True
    main[0:40, 45:55] = False                       # a notch: its hull covers it
    hull = convex_hull(main)
    notch = np.zeros((h, w), bool)
    notch[5:30, 47:53] = True
    st_notch = np.array([47, 5, 6, 25])
    beside = np.zeros((h, w), bool)
    beside[70:90, 75:95] = True
    st_beside = np.array([75, 70, 20, 20])
    edges = _frame_edges(np.array([30, 0, 40, 60]), h, w)
    assert edges == {"top"}
    assert part_of_product(notch, st_notch, hull, edges, 0.0, 5.0, h, w, 0.5)
    assert not part_of_product(beside, st_beside, hull, edges, 10.0, 5.0, h, w, 0.5)
    top = np.zeros((h, w), bool)
    top[0:20, 72:80] = True
    st_top = np.array([72, 0, 8, 20])
    assert part_of_product(top, st_top, hull, edges, 2.0, 5.0, h, w, 0.5)
    assert not part_of_product(top, st_top, hull, edges, 9.0, 5.0, h, w, 0.5)  # too far
    assert not part_of_product(top, st_top, hull, {"bottom"}, 2.0, 5.0, h, w, 0.5)


def test_a_cap_cut_off_by_a_white_shoulder_is_the_product_and_a_prop_beside_is_not() -> None:
    """A bottle's white shoulder, as white as the backdrop, cuts its cap off in both masks (two
    yoghurt bottles of the store split were flagged cluttered so): a part straight above or
    below the product, within its width and small, is a cap or a lid, whatever its colour; the
    same part beside the product is another object."""
    from analyzer.quality.clutter import other_objects, stacked_on_product

    th = check_thresholds("clutter")
    h, w = 200, 200
    rgb = np.full((h, w, 3), 255, np.uint8)
    objects = np.zeros((h, w), bool)
    rgb[40:195, 70:130] = (230, 210, 90)            # the bottle's body, yellow
    objects[40:195, 70:130] = True
    cap = np.zeros((h, w), bool)
    cap[18:34, 85:115] = True                       # blue cap, 6 px of white shoulder under it
    rgb_cap = rgb.copy()
    rgb_cap[cap] = (30, 40, 160)
    assert other_objects(rgb_cap, objects | cap, th) == (0, 1)
    # the same blue part beside the body, as far from it: a prop
    side = np.zeros((h, w), bool)
    side[150:166, 136:166] = True
    rgb_side = rgb.copy()
    rgb_side[side] = (30, 40, 160)
    assert other_objects(rgb_side, objects | side, th) == (1, 0)
    # the rule itself: within the width, small, close; not beside, not large, not far
    main = np.array([70, 40, 60, 155])
    assert stacked_on_product(np.array([85, 18, 30, 16]), main, 0.05, 10.0, 0.15)
    assert stacked_on_product(np.array([85, 196, 30, 4]), main, 0.01, 10.0, 0.15)   # below
    assert not stacked_on_product(np.array([136, 150, 30, 16]), main, 0.05, 10.0, 0.15)
    assert not stacked_on_product(np.array([60, 18, 30, 16]), main, 0.05, 10.0, 0.15)  # overhangs
    assert not stacked_on_product(np.array([85, 18, 30, 16]), main, 0.30, 10.0, 0.15)  # large
    assert not stacked_on_product(np.array([85, 2, 30, 16]), main, 0.05, 10.0, 0.15)   # far


def _glossy_scene(reflect: bool, blur: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A striped product on white and, 4 px under it, either its mirror image fading from 40%
    to nothing (a glossy surface) or a blue box of the same size (a prop in front of it)."""
    import cv2

    h, w = 300, 240
    rgb = np.full((h, w, 3), 255, np.uint8)
    prod = np.zeros((150, 100, 3), np.uint8)
    prod[:] = (200, 60, 40)
    prod[::12] = (30, 30, 30)                     # stripes: rows a mirror must line up
    prod[:, 40:60] = (240, 200, 20)
    rgb[40:190, 70:170] = prod
    below = np.zeros((h, w), bool)
    if reflect:
        mirror = prod[::-1][:70].astype(np.float32)
        fade = np.linspace(0.4, 0.0, 70, dtype=np.float32)[:, None, None]
        part = 255 - fade * (255 - mirror)
        if blur:
            part = cv2.GaussianBlur(part, (0, 0), blur)
        rgb[194:264, 70:170] = part.round().astype(np.uint8)
        below[194:240, 70:170] = True              # the faint tail is backdrop to the mask
    else:
        rgb[200:250, 90:150] = (40, 60, 200)
        below[200:250, 90:150] = True
    objects = np.zeros((h, w), bool)
    objects[40:190, 70:170] = True
    return rgb, objects | below


def test_a_reflection_on_a_glossy_surface_is_the_product_and_a_prop_there_is_not() -> None:
    """The product's mirror image under it, faded toward the backdrop, is not another object
    (sharp or blurred); a different object in the same place is a prop."""
    from analyzer.quality.clutter import other_objects

    th = check_thresholds("clutter")
    for blur in (0.0, 1.0):
        rgb, objects = _glossy_scene(True, blur)
        assert other_objects(rgb, objects, th) == (0, 1), blur
    rgb, objects = _glossy_scene(False)
    assert other_objects(rgb, objects, th) == (1, 0)


def test_reflection_rule_geometry() -> None:
    """Only below the product, within its box, close to the product's pixels in the part's own
    columns (one leg's reflection beside the other's, which joined the product), and fading."""
    import cv2

    from analyzer.quality.clutter import reflection_of_product

    white = np.full(3, 255.0)
    rgb, objects = _glossy_scene(True)
    n, labels, st, _ = cv2.connectedComponentsWithStats(objects.astype(np.uint8), connectivity=8)
    main = 1 + int(np.argmax(st[1:, cv2.CC_STAT_AREA]))
    part = 3 - main

    def is_reflection(stat: np.ndarray, main_stat: np.ndarray, gap: float = 18.0,
                      image: np.ndarray = rgb) -> bool:
        return reflection_of_product(image, labels, main, part, stat, main_stat, white, gap,
                                     0.85, 0.8)

    assert is_reflection(st[part], st[main])
    assert not is_reflection(st[part], st[main], gap=2.0)      # farther under it than that
    shifted = st[part].copy()
    shifted[0] += 30                                            # sticks out of the product's box
    assert not is_reflection(shifted, st[main])
    # the product's box lengthened by a joined reflection: the part's columns decide
    tall = st[main].copy()
    tall[3] += 60
    assert is_reflection(st[part], tall)
    # the same mirror image at one constant opacity (a pale copy standing there) does not fade
    flat = rgb.copy()
    mirror = flat[40:190, 70:170][::-1][:70].astype(np.float32)
    flat[194:264, 70:170] = (255 - 0.4 * (255 - mirror)).round().astype(np.uint8)
    assert not is_reflection(st[part], st[main], image=flat)


def test_a_grey_box_under_a_black_product_is_a_prop() -> None:
    """A uniform product's rows match any uniform part under it at some opacity: the outline
    and the fade must match too."""
    from analyzer.quality.clutter import other_objects

    th = check_thresholds("clutter")
    rgb = np.full((300, 240, 3), 255, np.uint8)
    objects = np.zeros((300, 240), bool)
    rgb[40:190, 70:170] = (30, 30, 30)
    objects[40:190, 70:170] = True
    rgb[200:250, 80:160] = (120, 120, 120)
    objects[200:250, 80:160] = True
    assert other_objects(rgb, objects, th) == (1, 0)


def test_a_sticker_the_mask_took_goes_and_a_product_a_box_grazes_stays() -> None:
    mask = np.zeros((100, 100), bool)
    mask[10:30, 70:95] = True       # a sticker, inside its box
    mask[40:95, 20:70] = True       # the product, its corner under the box's edge
    pasted = np.zeros_like(mask)
    pasted[5:45, 65:98] = True
    out = clutter._without_pasted(mask, pasted)
    assert not out[10:30, 70:95].any()
    assert out[40:95, 20:70].all()  # kept whole, not cut by the box


def test_an_inset_picture_is_the_overlays_checks_and_not_a_prop(studio_photo) -> None:
    """A picture-in-picture in a corner (a close-up of the product, outlined) was flagged twice:
    INSET_IMAGE, and CLUTTERED_BACKGROUND as "1 other object beside the product" (30-50% of the
    inset family's copies). The clutter check now leaves the overlay finders' graphics out."""
    import io

    from PIL import Image, ImageDraw

    from analyzer.engine import analyze

    im = Image.open(studio_photo).convert("RGB")
    W, H = im.size
    iw = round(W * 0.26)
    detail = im.crop((W // 3, H // 3, W // 3 + W // 3, H // 3 + W // 3)).resize((iw, iw))
    out = im.copy()
    out.paste(detail, (W - iw - 20, 20))
    ImageDraw.Draw(out).rectangle([W - iw - 20, 20, W - 21, 20 + iw - 1], outline=(60, 60, 60),
                                  width=3)
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=92)
    r = analyze(buf.getvalue(), name="inset.jpg")
    codes = {f.code for f in r.flags}
    assert "INSET_IMAGE" in codes, codes
    assert "CLUTTERED_BACKGROUND" not in codes, r.flags
    assert r.checks["clutter"].metrics["other_objects"] == 0
