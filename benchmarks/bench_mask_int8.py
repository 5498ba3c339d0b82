"""Would int8 u2netp meet the 350 ms aim? Static quantisation of the mask network, measured.

The dynamic-size u2netp graph (the one the engine runs, at ``segmentation.mask.model_size``) is
converted to opset 13 and quantised statically with onnxruntime (QDQ, per-channel int8 weights,
uint8 activations) with MinMax and 99.99th-percentile calibration on real photos (14 luma, 14
grocery, 14 clothing). Reported on 26 other photos of each set: CPU ms per forward pass on one
thread, and the IoU of the binary mask (min-max normalised output >= 0.5) with the float model's.
It is a measurement, not a shipped path: the engine keeps the float model (README, Speed).

Usage::

    .venv/bin/python benchmarks/bench_mask_int8.py [--size 224]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.vision import mask as M  # noqa: E402

DATA = REPO.parent / "shared" / "data"
WORK = Path("/tmp/ll_bench_mask_int8")
cv2.setNumThreads(1)


def photo_sets(seed: int = 0) -> tuple[list[Path], list[list[Path]]]:
    """14 calibration photos per set and 26 test photos per set (disjoint)."""
    pools = [sorted((DATA / "luma").rglob("*.jpg")),
             sorted((DATA / "grocery" / "dataset").rglob("*.jpg")),
             sorted((DATA / "clothing" / "images").glob("*.jpg"))]
    rng = random.Random(seed)
    cal: list[Path] = []
    test: list[list[Path]] = []
    for pool in pools:
        pick = rng.sample(pool, 40)
        cal += pick[:14]
        test.append(pick[14:])
    return cal, test


def prep(path: Path, size: int) -> np.ndarray:
    """The engine's u2netp input (mask.u2netp_prob) for one photo."""
    rgb = np.asarray(Image.open(path).convert("RGB"))
    x = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    x /= max(float(x.max()), 1.0)
    x = (x - M._MEAN) / M._STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def session(path: Path):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def binary(sess, name: str, x: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = sess.run(None, {name: x})[0][0, 0]
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6) >= 0.5


def cpu_ms(sess, name: str, xs: list[np.ndarray]) -> float:  # type: ignore[no-untyped-def]
    times = []
    for x in xs:
        t = time.process_time()
        sess.run(None, {name: x})
        times.append(time.process_time() - t)
    return 1000 * float(np.median(times))


def main() -> None:
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=224)
    args = ap.parse_args()
    src = M.u2netp_path()
    if src is None:
        raise SystemExit("u2netp is not installed")
    dyn = M._dynamic_model(src)
    if dyn is None:
        raise SystemExit("could not make the dynamic-size graph")
    WORK.mkdir(parents=True, exist_ok=True)
    model = onnx.load_from_string(dyn) if isinstance(dyn, bytes) else onnx.load(dyn)
    f32 = WORK / "u2netp-op13.onnx"
    # Per-channel QDQ needs DequantizeLinear's axis attribute (opset 13); the shipped graph is 11.
    onnx.save(version_converter.convert_version(model, 13), f32)
    pre = WORK / "u2netp-op13-pre.onnx"
    quant_pre_process(str(f32), str(pre))
    base = session(f32)
    name = base.get_inputs()[0].name
    cal, test = photo_sets()
    cal_x = [prep(p, args.size) for p in cal]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter([{name: x} for x in cal_x])

        def get_next(self) -> dict | None:
            return next(self._it, None)

    xs = [[prep(p, args.size) for p in ps] for ps in test]
    ref = [[binary(base, name, x) for x in s] for s in xs]
    print(f"u2netp at {args.size} px, one thread, CPU ms per forward pass (median of 15)")
    print(f"float32: {cpu_ms(base, name, xs[0][:15]):.0f} ms")
    print("| int8 calibration | CPU ms | IoU luma | IoU grocery | IoU clothing | min IoU |")
    print("|---|---|---|---|---|---|")
    for label, method, extra in (
            ("MinMax", CalibrationMethod.MinMax, {}),
            ("percentile 99.99", CalibrationMethod.Percentile, {"CalibPercentile": 99.99})):
        out = WORK / f"u2netp-int8-{label.split()[0].lower()}.onnx"
        quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, calibrate_method=method, extra_options=extra)
        q = session(out)
        ious = []
        for s, r in zip(xs, ref, strict=True):
            per = []
            for x, b0 in zip(s, r, strict=True):
                b = binary(q, name, x)
                union = int((b | b0).sum())
                per.append(float((b & b0).sum()) / union if union else 1.0)
            ious.append(per)
        print(f"| {label} | {cpu_ms(q, name, xs[0][:15]):.0f} | "
              + " | ".join(f"{np.mean(p):.2f}" for p in ious)
              + f" | {min(min(p) for p in ious):.2f} |")


if __name__ == "__main__":
    main()
