"""Benchmark: time per image of every per-image quality metric on Set14 (CPU, one thread).

For each Set14 image the "SR" image is the official LR x4 (``LR_bicubic/X4``) upscaled with
MATLAB bicubic (:func:`repro.data.imresize.imresize_uint8`, x4) and the HR is mod-cropped to the
same size. Each metric is called through its registry entry as a real-world table calls it
(PSNR/SSIM: Y, crop 4, MATLAB SSIM; LPIPS, DISTS: SR vs HR, whole image; NIQE, MUSIQ, MANIQA,
CLIP-IQA: the SR alone), one image per call, with torch limited to one intra-op thread.
Networks are loaded by a first untimed call. Metrics that cannot run here (pyiqa not
importable, weights absent) are listed with the reason; FID is set-level and timed over the
whole set (per image: the total divided by 14).

Each metric runs ``REPEATS`` times per image, interleaved; the best time counts. The machine's
two cores are shared with other jobs, so absolute times are noisy (the load average is printed).

Run: ``python benchmarks/bench_iqa.py`` (writes ``benchmarks/iqa.md``); in the ``iqa`` extra's
venv the pyiqa metrics are timed too.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import torch  # noqa: E402

from repro.data.imresize import imresize_uint8, modcrop  # noqa: E402
from repro.errors import NotRun  # noqa: E402
from repro.files import atomic_write_text  # noqa: E402
from repro.imageio import read_image  # noqa: E402
from repro.metrics import get_metric  # noqa: E402
from repro.paths import shared_root  # noqa: E402

SCALE = 4
REPEATS = 2
OUT = Path(__file__).with_name("iqa.md")


def _pairs():
    root = shared_root() / "data" / "Set14"
    for hr_path in sorted((root / "HR").glob("*.png")):
        lr = read_image(root / "LR_bicubic" / f"X{SCALE}" / f"{hr_path.stem}x{SCALE}.png")
        sr = imresize_uint8(lr, float(SCALE))
        hr = modcrop(read_image(hr_path), SCALE)
        if hr.shape != sr.shape:
            raise SystemExit(f"{hr_path.name}: HR {hr.shape} vs upscaled LR {sr.shape}")
        yield hr_path.stem, sr, hr


def _timed(fn, *args) -> tuple[float, float]:
    t0 = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - t0, float(value)


def _one_thread(fn, *args, **kwargs):
    """Run ``fn`` with torch limited to one intra-op thread (restored afterwards)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn(*args, **kwargs)
    finally:
        torch.set_num_threads(n)


METRICS = ("psnr", "ssim", "lpips", "dists", "niqe", "musiq", "maniqa", "clipiqa")
PROTOCOL = {"channel": "y", "crop": SCALE, "ssim": "matlab", "iqa_device": "cpu"}


def _scorer(name: str):
    spec = get_metric(name)
    if spec.needs_reference:
        return lambda sr, hr: spec.fn(sr, hr, **PROTOCOL)
    return lambda sr, hr: spec.fn(sr, **PROTOCOL)


def _ready(names) -> tuple[dict, dict]:
    """The metrics that run here (networks loaded by an untimed call) and why the others not."""
    ready, skipped = {}, {}
    first = next(_pairs())
    for name in names:
        try:
            get_metric(name).check_ready()
            fn = _scorer(name)
            _one_thread(fn, first[1][:224, :224], first[2][:224, :224])
        except NotRun as exc:
            skipped[name] = f"{exc.code}: {exc.detail.split(';')[0]}"
            continue
        ready[name] = fn
    return ready, skipped


def _fid_seconds(pairs) -> tuple[float, float] | None:
    spec = get_metric("fid")
    try:
        spec.check_ready()
    except NotRun:
        return None
    srs, hrs = [p[1] for p in pairs], [p[2] for p in pairs]
    return _one_thread(_timed, lambda: spec.score_sets(srs, hrs, iqa_device="cpu"))


def main() -> None:
    metrics, skipped = _ready(METRICS)
    rows = []
    for name, sr, hr in _pairs():
        best = dict.fromkeys(metrics, float("inf"))
        values = {}
        for _ in range(REPEATS):
            for key, fn in metrics.items():
                dt, values[key] = _one_thread(_timed, fn, sr, hr)
                best[key] = min(best[key], dt)
        rows.append((name, sr.shape, best, values))
        print(name, sr.shape, {k: f"{v * 1e3:.1f} ms" for k, v in best.items()}, flush=True)
    fid = _fid_seconds(list(_pairs()))

    px = [r[1][0] * r[1][1] for r in rows]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    names = list(metrics)
    lines = [
        "# IQA metrics benchmark (`python benchmarks/bench_iqa.py`)",
        "",
        f"Time per Set14 image ({len(rows)} images, {min(px)} to {max(px)} pixels after x4 "
        f"bicubic of the official LR), best of {REPEATS} interleaved runs, CPU, one torch "
        "thread, one image per call, through the metrics' registry entries. PSNR/SSIM: Y, crop "
        "4 (MATLAB SSIM); LPIPS (AlexNet v0.1), DISTS (VGG16): SR vs HR, whole image; NIQE: SR, "
        "BT.601 Y, crop 0; MUSIQ, MANIQA, CLIP-IQA: SR (pyiqa).",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, torch "
        f"{torch.__version__}, numpy {np.__version__}; load average {load:.1f} on "
        f"{os.cpu_count()} cores while measuring (shared machine, absolute times are noisy).",
        "",
        "| image | HxW | "
        + " | ".join(f"{n} ms" for n in names)
        + " | "
        + " | ".join(names)
        + " |",
        "|---|---|" + "---|" * (2 * len(names)),
    ]
    for name, shape, best, v in rows:
        lines.append(
            f"| {name} | {shape[0]}x{shape[1]} | "
            + " | ".join(f"{best[n] * 1e3:.1f}" for n in names)
            + " | "
            + " | ".join(f"{v[n]:.4f}" for n in names)
            + " |"
        )
    mpix = np.mean(px) / 1e6
    lines.append(
        f"| **mean** | {mpix:.3f} MP | "
        + " | ".join(f"{np.mean([r[2][n] for r in rows]) * 1e3:.1f}" for n in names)
        + " | "
        + " | ".join(f"{np.mean([r[3][n] for r in rows]):.4f}" for n in names)
        + " |"
    )
    lines.append("")
    if fid is not None:
        lines.append(
            f"FID (set-level, Set14 SR vs HR): {fid[1]:.3f}, {fid[0]:.2f} s for the set "
            f"({fid[0] / len(rows) * 1e3:.0f} ms per image)."
        )
    for name, why in {**skipped, **({} if fid else {"fid": "not run here"})}.items():
        lines.append(f"- not timed here: {name} ({why})")
    lines += [
        "",
        "Notes: the means are bicubic-baseline numbers (SR = MATLAB bicubic x4 of the official "
        "LR). NIQE is vectorised over 96x96 blocks; LPIPS and "
        "DISTS run both images through their trunk in one batch of two.",
        "",
    ]
    atomic_write_text(OUT, "\n".join(lines))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
