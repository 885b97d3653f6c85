"""Benchmark: repro's MATLAB-kind SSIM against a plain implementation, in one process.

The plain implementation is BasicSR's classic numpy/OpenCV ``_ssim`` (2-D 11x11 Gaussian window
with ``cv2.filter2D``, five filterings per channel, valid region by slicing) when OpenCV is
importable (``pip install opencv-python-headless``; not a dependency of repro), else the same
algorithm with ``scipy.ndimage.correlate`` (2-D window, loop over channels).

Images: B100 (321x480, all 100) and Set14 (14), HR from ``../shared/data``; the "SR" image is the
official LR x4 upscaled with bicubic interpolation (content does not change the timing).
Both implementations get the same uint8 inputs and do their own Y conversion and cropping.
Threads: OpenCV is limited to one thread, as scipy uses one.

Run: ``python benchmarks/bench_ssim.py`` (writes ``benchmarks/ssim.md``).
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from repro.files import atomic_write_text  # noqa: E402
from repro.imageio import read_image, to_rgb3  # noqa: E402
from repro.metrics.color import rgb_to_y  # noqa: E402
from repro.metrics.fidelity import ssim  # noqa: E402
from repro.paths import shared_root  # noqa: E402

try:
    import cv2

    cv2.setNumThreads(1)
    PLAIN = f"BasicSR-style cv2.filter2D (OpenCV {cv2.__version__}, 1 thread)"
except ImportError:  # pragma: no cover - depends on the environment
    cv2 = None
    PLAIN = "scipy.ndimage.correlate, 2-D window, loop over channels"

SCALE = 4
REPEATS = 3


def _window() -> np.ndarray:
    x = np.arange(11) - 5.0
    k = np.exp(-(x**2) / (2 * 1.5**2))
    k /= k.sum()
    return np.outer(k, k)


WINDOW = _window()


def _filter(img: np.ndarray) -> np.ndarray:
    if cv2 is not None:
        return cv2.filter2D(img, -1, WINDOW)[5:-5, 5:-5]
    from scipy.ndimage import correlate

    return correlate(img, WINDOW, mode="reflect")[5:-5, 5:-5]


def _plain_ssim_channel(img1: np.ndarray, img2: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = _filter(img1), _filter(img2)
    mu1_sq, mu2_sq, mu1_mu2 = mu1**2, mu2**2, mu1 * mu2
    sigma1_sq = _filter(img1**2) - mu1_sq
    sigma2_sq = _filter(img2**2) - mu2_sq
    sigma12 = _filter(img1 * img2) - mu1_mu2
    ssim_map = ((2 * mu1_mu2 + c1) * (2 * sigma12 + c2)) / (
        (mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2)
    )
    return float(ssim_map.mean())


def plain_ssim(sr: np.ndarray, hr: np.ndarray, channel: str, crop: int) -> float:
    a, b = sr.astype(np.float64), hr.astype(np.float64)
    if crop:
        a, b = a[crop:-crop, crop:-crop], b[crop:-crop, crop:-crop]
    if channel == "y":
        a, b = rgb_to_y(a)[..., None], rgb_to_y(b)[..., None]
    return float(np.mean([_plain_ssim_channel(a[..., c], b[..., c]) for c in range(a.shape[2])]))


def _upscale(lr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if cv2 is not None:
        return cv2.resize(lr, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    from PIL import Image

    return np.asarray(Image.fromarray(lr).resize((shape[1], shape[0]), Image.BICUBIC))


def load_pairs(name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    root = shared_root() / "data" / name
    pairs = []
    for hr_path in sorted((root / "HR").glob("*.png")):
        hr = to_rgb3(read_image(hr_path))
        lrs = list((root / "LR_bicubic" / f"X{SCALE}").glob(f"{hr_path.stem}*.png"))
        h, w = (hr.shape[0] // SCALE) * SCALE, (hr.shape[1] // SCALE) * SCALE
        hr = np.ascontiguousarray(hr[:h, :w])
        if lrs:
            lr = to_rgb3(read_image(lrs[0]))
        else:  # no official LR: decimate (timing only)
            lr = np.ascontiguousarray(hr[::SCALE, ::SCALE])
        pairs.append((np.ascontiguousarray(_upscale(lr, (h, w))), hr))
    return pairs


def _time(fns, pairs) -> list[tuple[float, list[float]]]:
    """Best-of-REPEATS seconds per pass over ``pairs`` for each function, passes interleaved
    (ours, plain, ours, plain, ...) so that load from other processes hits both alike."""
    best = [float("inf")] * len(fns)
    values: list[list[float]] = [[] for _ in fns]
    for _ in range(REPEATS):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            values[i] = [fn(sr, hr) for sr, hr in pairs]
            best[i] = min(best[i], time.perf_counter() - t0)
    return list(zip(best, values, strict=True))


def main() -> int:
    rows = []
    for dataset in ("B100", "Set14"):
        pairs = load_pairs(dataset)
        if not pairs:
            print(f"skipping {dataset}: no images under {shared_root() / 'data' / dataset}")
            continue
        size = f"{pairs[0][1].shape[0]}x{pairs[0][1].shape[1]}"
        for channel, crop in (("y", SCALE), ("rgb", 0)):
            (t_ours, v_ours), (t_plain, v_plain) = _time(
                [
                    lambda s, h, c=channel, b=crop: ssim(s, h, channel=c, crop=b),
                    lambda s, h, c=channel, b=crop: plain_ssim(s, h, c, b),
                ],
                pairs,
            )
            diff = float(np.max(np.abs(np.array(v_ours) - np.array(v_plain))))
            n = len(pairs)
            rows.append(
                (dataset, size, n, channel, crop, 1e3 * t_ours / n, 1e3 * t_plain / n, diff)
            )
            print(
                f"{dataset:6s} {channel:3s} crop {crop}: ours {1e3 * t_ours / n:7.2f} ms/img, "
                f"plain {1e3 * t_plain / n:7.2f} ms/img, ratio plain/ours "
                f"{t_plain / t_ours:5.2f}, max |diff| {diff:.1e}"
            )
    lines = [
        "# SSIM benchmark (`python benchmarks/bench_ssim.py`)",
        "",
        "repro's MATLAB-kind SSIM (`repro.metrics.fidelity.ssim`: separable 11-tap Gaussian via "
        "`scipy.ndimage.correlate1d`, the five moments filtered in one stacked call) against a "
        f"plain implementation: {PLAIN}. Same process, same uint8 inputs, best of {REPEATS} "
        "passes over the dataset (interleaved); both do their own Y conversion and cropping.",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}; measured while other jobs shared the 2 cores, so the ratio is "
        "more telling than the absolute times.",
        "",
        "| dataset | size (HxW, first image) | images | channel | crop | repro ms/img | "
        "plain ms/img | ratio (plain / repro) | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset, size, n, channel, crop, t_o, t_p, diff in rows:
        lines.append(
            f"| {dataset} | {size} | {n} | {channel} | {crop} | {t_o:.2f} | {t_p:.2f} | "
            f"{t_p / t_o:.2f} | {diff:.1e} |"
        )
    if rows and cv2 is not None:
        ratios = [t_p / t_o for *_, t_o, t_p, _ in rows]
        lines += [
            "",
            'Reading: OpenCV\'s `filter2D` is itself SIMD C code, so this "plain" baseline is a '
            f"strong one; repro's separable scipy version runs at {min(ratios):.1f}-"
            f"{max(ratios):.1f}x its speed with no OpenCV dependency, agrees to "
            f"{max(d for *_, d in rows):.0e}, and works in bounded-memory bands of rows on large "
            "(8K) images.",
        ]
    out = Path(__file__).with_name("ssim.md")
    atomic_write_text(out, "\n".join(lines) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
