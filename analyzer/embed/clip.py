"""A CLIP embedder through open_clip (Ilharco et al., OpenCLIP, 2021; Radford et al., "Learning
transferable visual models from natural language supervision", ICML 2021): images and text in one
space, so "red leather handbag" can be a query.

Spec: ``clip:MODEL:WEIGHTS`` where WEIGHTS is

* a local checkpoint file (``clip:ViT-B-32:/models/vit_b32.pt``): MODEL is an open_clip
  architecture name;
* ``local-dir:PATH``: a folder with ``open_clip_config.json`` and the weights (open_clip's own
  local format); MODEL is then only a label;
* a pretrained tag (``clip:ViT-B-32:laion2b_s34b_b79k``) only when downloads are allowed, or when
  the weights are already in the Hugging Face cache. Offline is the default: the hub is put in
  offline mode so nothing waits on a network that is not there, and a missing download fails at
  once with EMBEDDER_UNAVAILABLE.

The ``id`` names the architecture and the weights by a fingerprint of the checkpoint's bytes (its
size and hashes of its head and tail), not by its path, so a catalog moved to another machine with
the same weights still opens. Preprocessing is the model's own (resize, centre crop, its mean/std).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np

from analyzer.embed.base import check_images, configure_torch_threads, l2_normalize, resolve_device
from analyzer.errors import ErrorCode, ListingLensError

log = logging.getLogger(__name__)
LOCAL_DIR = "local-dir:"
_OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def parse_spec(spec: str) -> tuple[str, str]:
    """``clip:MODEL:WEIGHTS`` -> (MODEL, WEIGHTS); WEIGHTS may itself contain colons."""
    body = spec[len("clip:"):] if spec.startswith("clip:") else spec
    model, sep, weights = body.partition(":")
    if not sep or not model or not weights:
        raise ListingLensError(
            ErrorCode.EMBEDDER_UNAVAILABLE,
            f"bad CLIP embedder spec '{spec}'; use clip:MODEL:WEIGHTS, where WEIGHTS is a "
            "checkpoint file, local-dir:PATH or (with downloads allowed) a pretrained tag")
    return model, weights


def file_fingerprint(path: Path, chunk: int = 1 << 22) -> str:
    """12 hex digits from the size and the first and last 4 MB of a file: cheap on a 600 MB
    checkpoint, and different for any two real checkpoints."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(chunk))
        if size > chunk:
            f.seek(max(chunk, size - chunk))
            h.update(f.read(chunk))
    return h.hexdigest()[:12]


def _unavailable(msg: str, cause: Exception | None = None) -> ListingLensError:
    err = ListingLensError(ErrorCode.EMBEDDER_UNAVAILABLE, msg)
    if cause is not None:
        err.__cause__ = cause
    return err


def _cached_hub_file(model: str, tag: str) -> bool:
    """Whether the pretrained ``tag`` for ``model`` is already on disk (HF cache)."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        return False
    if cfg.get("file"):
        return Path(cfg["file"]).is_file()
    hub = cfg.get("hf_hub", "")
    if not hub:
        return False
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    repo, filename = os.path.split(hub)
    for name in ([filename] if filename else
                 ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]):
        hit = try_to_load_from_cache(repo.rstrip("/"), name)
        if isinstance(hit, str) and Path(hit).is_file():
            return True
    return False


class ClipEmbedder:
    """open_clip image and text towers; embeddings are L2-normalised."""

    def __init__(self, spec: str, device: str = "auto", allow_download: bool = False) -> None:
        self.device = resolve_device(device)
        self.spec = spec
        model, weights = parse_spec(spec)
        self.model_name = model
        self._lock = threading.Lock()
        if not allow_download:
            for k in _OFFLINE_ENV:
                os.environ[k] = "1"
        try:
            import open_clip
        except ImportError as e:
            raise _unavailable("CLIP needs the 'open_clip_torch' package; pip install it", e) from e
        configure_torch_threads()

        if weights.startswith(LOCAL_DIR):
            folder = Path(weights[len(LOCAL_DIR):]).expanduser()
            if not (folder / "open_clip_config.json").is_file():
                raise _unavailable(f"no open_clip_config.json in {folder} (local-dir weights)")
            ckpts = sorted(p for p in folder.iterdir()
                           if p.suffix in (".safetensors", ".bin", ".pth"))
            if not ckpts:
                raise _unavailable(f"no .safetensors/.bin/.pth weights in {folder}")
            fp = hashlib.sha256(
                (folder / "open_clip_config.json").read_bytes()
                + "".join(file_fingerprint(p) for p in ckpts).encode()).hexdigest()[:12]
            create_args: dict = {"model_name": f"{LOCAL_DIR}{folder}"}
            tokenizer_name = f"{LOCAL_DIR}{folder}"
            weights_id = f"local-dir#{fp}"
        else:
            if model not in open_clip.list_models():
                raise _unavailable(f"unknown open_clip architecture '{model}'")
            path = Path(weights).expanduser()
            if path.is_file():
                weights_id = f"{path.name}#{file_fingerprint(path)}"
                create_args = {"model_name": model, "pretrained": str(path)}
            elif weights.startswith(("/", ".", "~")) or path.suffix in (".pt", ".pth", ".bin",
                                                                         ".safetensors"):
                raise _unavailable(f"CLIP weights file not found: {weights}")
            else:
                if not open_clip.get_pretrained_cfg(model, weights):
                    raise _unavailable(f"'{weights}' is neither a weights file nor a known "
                                       f"pretrained tag for {model}")
                if not allow_download and not _cached_hub_file(model, weights):
                    raise _unavailable(
                        f"CLIP weights {model}/{weights} are not on this machine and downloads "
                        "are off; pass a local checkpoint (clip:MODEL:/path/to/weights) or "
                        "allow downloads")
                weights_id = weights
                create_args = {"model_name": model, "pretrained": weights}
            tokenizer_name = model
        try:
            net, _, preprocess = open_clip.create_model_and_transforms(
                **create_args, device=self.device)
            self._tokenizer = open_clip.get_tokenizer(tokenizer_name)
        except ListingLensError:
            raise
        except Exception as e:  # open_clip raises many types; all mean "cannot use these weights"
            raise _unavailable(f"CLIP model {model} could not be loaded from {weights}: "
                               f"{type(e).__name__}: {e}", e) from e
        net.eval()
        self._model = net
        self._preprocess = preprocess
        self.dim = int(getattr(net, "embed_dim", 0) or self._probe_dim())
        self.id = f"clip:{model}:{weights_id}"

    def _probe_dim(self) -> int:
        return int(self.embed_text(["a"]).shape[1])

    def embed(self, images: list[np.ndarray], masks: list[np.ndarray | None] | None = None,
              batch_size: int = 32) -> np.ndarray:
        """CLIP image embeddings of ``images`` (``masks`` unused: CLIP sees the whole photo)."""
        import torch
        from PIL import Image

        if not images:
            return np.zeros((0, self.dim), np.float32)
        check_images(images)
        out = []
        for s in range(0, len(images), batch_size):
            x = torch.stack([self._preprocess(Image.fromarray(im))
                             for im in images[s:s + batch_size]]).to(self.device)
            with self._lock, torch.inference_mode():
                out.append(self._model.encode_image(x).float().cpu().numpy())
        return l2_normalize(np.concatenate(out))

    def embed_text(self, texts: list[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), np.float32)
        tokens = self._tokenizer(list(texts)).to(self.device)
        with self._lock, torch.inference_mode():
            t = self._model.encode_text(tokens).float().cpu().numpy()
        return l2_normalize(t)
