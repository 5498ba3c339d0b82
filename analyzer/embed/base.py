"""What every embedding backend provides, and the small helpers they share.

An embedder turns images (RGB uint8, any size) into rows of an L2-normalised float32 matrix, so
that the cosine similarity of two images is the dot product of their rows. Its ``id`` names the
model, the weights and the preprocessing: a catalog stores the id of the embedder that built it and
refuses queries from any other (vectors from different models live in different spaces).
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np

from analyzer.errors import ErrorCode, ListingLensError

# OpenMP worker threads that spin while waiting burn ~10x the CPU of the work itself on a busy
# machine (measured: 0.9 s vs 0.06 s of CPU per image with 2 threads). Passive waiting costs
# nothing when the cores are free. Only effective if torch is not imported yet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@runtime_checkable
class Embedder(Protocol):
    id: str
    dim: int
    device: str

    def embed(self, images: list[np.ndarray], masks: list[np.ndarray | None] | None = None,
              batch_size: int = 32) -> np.ndarray:
        """(n, dim) float32, rows L2-normalised; ``masks`` are optional product maps."""
        ...

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32 text embeddings in the image space (CLIP only)."""
        ...


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit Euclidean norm (a zero row stays zero)."""
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(n, eps)


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu"; "cuda" without a GPU is an error."""
    import torch

    device = (device or "auto").lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ListingLensError(ErrorCode.EMBEDDER_UNAVAILABLE,
                                   "device 'cuda' was asked for but no CUDA GPU is available")
        return device
    if device != "cpu":
        raise ListingLensError(ErrorCode.EMBEDDER_UNAVAILABLE,
                               f"unknown device '{device}'; use auto, cpu or cuda")
    return device


def configure_torch_threads() -> None:
    """Two intra-op threads at most: the machines this runs on are small and shared.

    ``LISTING_LENS_TORCH_THREADS`` overrides it (a dedicated build box may use more).
    """
    import torch

    n = int(os.environ.get("LISTING_LENS_TORCH_THREADS", "0") or 0)
    if n <= 0:
        n = min(2, os.cpu_count() or 1)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    limit_blas_threads()


def limit_blas_threads() -> None:
    """One BLAS thread for numpy (``LISTING_LENS_BLAS_THREADS`` overrides it).

    The search layer's matrix products are small (a few dozen queries against a catalog's
    vectors, the embedding head): OpenBLAS's second thread spins waiting for work that takes
    ~3 ms, and on a busy machine those spins cost more CPU than the products themselves
    (``enrich()``: 1.20 -> 0.95 s CPU per image with one BLAS thread, benchmarks/bench_rank.py).
    Set at run time with threadpoolctl: the environment variable works only before numpy loads,
    which in a worker process or the dashboard it already has.
    """
    n = int(os.environ.get("LISTING_LENS_BLAS_THREADS", "1") or 1)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=max(1, n), user_api="blas")


def check_images(images: list[np.ndarray]) -> None:
    for i, im in enumerate(images):
        if not isinstance(im, np.ndarray) or im.ndim != 3 or im.shape[2] != 3 \
                or im.dtype != np.uint8 or min(im.shape[:2]) < 1:
            raise ValueError(f"image {i}: expected an RGB uint8 H x W x 3 array, got "
                             f"{getattr(im, 'shape', None)} {getattr(im, 'dtype', None)}")
