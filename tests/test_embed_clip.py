"""The CLIP backend's loading paths, with tiny random-weight models (no download, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

from analyzer.embed import get_embedder  # noqa: E402
from analyzer.embed.clip import ClipEmbedder, parse_spec  # noqa: E402
from analyzer.errors import ErrorCode, ListingLensError  # noqa: E402

# The smallest model worth the name: a 2-layer ViT and a 2-layer text transformer.
TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def _images(n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, size=(50 + 10 * i, 70, 3), dtype=np.uint8) for i in range(n)]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> tuple[str, Path]:
    """A registered tiny architecture and its random weights saved as a plain file."""
    d = tmp_path_factory.mktemp("clip_cfg")
    (d / "LLTinyTest.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(d / "LLTinyTest.json")
    torch.manual_seed(0)
    model = open_clip.create_model("LLTinyTest", pretrained=None)
    ckpt = d / "tiny.pt"
    torch.save(model.state_dict(), ckpt)
    return "LLTinyTest", ckpt


def test_parse_spec():
    assert parse_spec("clip:ViT-B-32:/m/w.pt") == ("ViT-B-32", "/m/w.pt")
    assert parse_spec("clip:x:local-dir:/a/b") == ("x", "local-dir:/a/b")
    with pytest.raises(ListingLensError):
        parse_spec("clip:ViT-B-32")


def test_checkpoint_file_images_and_text(tiny_checkpoint):
    name, ckpt = tiny_checkpoint
    emb = get_embedder(f"clip:{name}:{ckpt}", device="cpu")
    v = emb.embed(_images())
    t = emb.embed_text(["red leather handbag", "blue running shoe"])
    assert v.shape == (3, 32) and t.shape == (2, 32) and emb.dim == 32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(v, emb.embed(_images(), batch_size=1), atol=1e-4)
    assert emb.id.startswith(f"clip:{name}:tiny.pt#") and str(ckpt.parent) not in emb.id
    # The weights were really loaded: the same architecture with other weights differs.
    torch.manual_seed(1)
    other = open_clip.create_model(name, pretrained=None)
    ckpt2 = ckpt.with_name("other.pt")
    torch.save(other.state_dict(), ckpt2)
    emb2 = ClipEmbedder(f"clip:{name}:{ckpt2}", device="cpu")
    assert emb2.id != emb.id
    assert not np.allclose(emb2.embed(_images()), v, atol=1e-3)


def test_local_dir(tmp_path, tiny_checkpoint):
    name, ckpt = tiny_checkpoint
    d = tmp_path / "tinyclip"
    d.mkdir()
    (d / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CFG}))
    (d / "open_clip_pytorch_model.bin").write_bytes(ckpt.read_bytes())
    emb = ClipEmbedder(f"clip:tiny:local-dir:{d}", device="cpu")
    ref = ClipEmbedder(f"clip:{name}:{ckpt}", device="cpu")
    np.testing.assert_allclose(emb.embed(_images()), ref.embed(_images()), atol=1e-4)
    assert emb.id.startswith("clip:tiny:local-dir#")


def test_missing_weights_fail_at_once(tmp_path):
    for spec in (f"clip:ViT-B-32:{tmp_path / 'nope.pt'}",          # missing file
                 f"clip:ViT-B-32:local-dir:{tmp_path}",             # folder without config
                 "clip:NoSuchArch:whatever",                        # unknown architecture
                 "clip:ViT-B-32:no_such_tag"):                      # unknown tag
        with pytest.raises(ListingLensError) as e:
            ClipEmbedder(spec, device="cpu")
        assert e.value.code == ErrorCode.EMBEDDER_UNAVAILABLE, spec


def test_hub_tag_needs_download_permission(monkeypatch):
    import analyzer.embed.clip as clip_mod

    # As on a machine whose cache lacks the weights: refused before any network access.
    monkeypatch.setattr(clip_mod, "_cached_hub_file", lambda model, tag: False)
    with pytest.raises(ListingLensError) as e:
        ClipEmbedder("clip:ViT-B-32:laion2b_s34b_b79k", device="cpu")
    assert e.value.code == ErrorCode.EMBEDDER_UNAVAILABLE
    assert "downloads" in e.value.message
