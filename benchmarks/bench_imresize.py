"""Time torch ``imresize`` against a plain numpy implementation of the same math.

Usage: python benchmarks/bench_imresize.py > benchmarks/imresize.md

Sizes: Set14-sized (512x512x3, lenna/man/pepper) and B100-sized (321x480x3) HR images resized
by 1/4, and their LR (128x128, 81x120) resized by 4. float32 in [0, 1]; torch on 2 threads.
The numpy baseline (benchmarks/_numpy_imresize.py) loops over output rows/columns as BasicSR's
``imresize`` does. "torch warm" reuses the cached weight matrices; "torch cold" clears the cache
first (the cost of a new image size). Median of the repeats. A last column repeats "torch warm"
on 1 thread: on an oversubscribed machine two spinning OpenMP threads can be slower than one.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _numpy_imresize import imresize_np  # noqa: E402

import repro.data.imresize as imr  # noqa: E402


def timeit(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def cold(x: torch.Tensor, scale: float) -> None:
    imr._torch_tables.cache_clear()
    imr._dense_matrix.cache_clear()
    imr._contributions.cache_clear()
    imr.imresize(x, scale)


def main() -> int:
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    cases = [
        ("Set14-sized", (512, 512), 0.25),
        ("Set14-sized", (128, 128), 4.0),
        ("B100-sized", (321, 480), 0.25),
        ("B100-sized", (81, 120), 4.0),
    ]
    print("# torch imresize vs plain numpy (same math)\n")
    print("- command: `python benchmarks/bench_imresize.py`")
    print(f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(
        f"- torch {torch.__version__}, numpy {np.__version__}, {platform.processor() or 'cpu'}, "
        f"torch threads {torch.get_num_threads()}, os.cpu_count {os.cpu_count()}"
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"- load average at start (1/5/15 min): {load} -- above 2 the 2 cores are shared")
    print("- float32 (H, W, 3) input; median of repeats; ratio = numpy time / torch time\n")
    print(
        "| image | input HxW | scale | numpy ms | torch warm ms | torch cold ms "
        "| ratio warm | ratio cold | max abs diff | torch warm ms, 1 thread | ratio, 1 thread |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, (h, w), s in cases:
        img = rng.random((h, w, 3), dtype=np.float32)
        x = torch.from_numpy(img.transpose(2, 0, 1).copy())
        ref = imresize_np(img, s)
        got = imr.imresize(x, s).numpy().transpose(1, 2, 0)
        diff = float(np.abs(ref - got).max())
        t_np = timeit(lambda img=img, s=s: imresize_np(img, s), 5)
        t_warm = timeit(lambda x=x, s=s: imr.imresize(x, s), 20)
        t_cold = timeit(lambda x=x, s=s: cold(x, s), 10)
        torch.set_num_threads(1)
        t_one = timeit(lambda x=x, s=s: imr.imresize(x, s), 20)
        torch.set_num_threads(2)
        print(
            f"| {label} | {h}x{w} | {s:g} | {t_np * 1e3:.2f} | {t_warm * 1e3:.2f} "
            f"| {t_cold * 1e3:.2f} | {t_np / t_warm:.1f} | {t_np / t_cold:.1f} | {diff:.1e} "
            f"| {t_one * 1e3:.2f} | {t_np / t_one:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
