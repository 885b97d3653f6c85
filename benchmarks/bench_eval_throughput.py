"""Throughput of ``repro eval`` (CAMixerSR-S x4) with and without read-ahead; writes
benchmarks/eval_throughput.md.

    python benchmarks/bench_eval_throughput.py [--device auto] [--urban100 20] [--made-lr 10]

The code path is ``repro eval``'s: :func:`repro.eval.quick.dataset_job` and
:func:`repro.eval.runner.evaluate` (verify, decode, predict, score; no cache), with the model
loaded once for the whole run. Each set is evaluated with ``prefetch=0`` (each image read when
its turn comes) and ``prefetch=2`` (the next images read by a background thread while the model
runs), in the same process, one after the other. The forward's share of the wall time is timed by
hooks on the model (on CUDA, synchronised before the clock is read). Both runs must give the
same rows (seconds aside). The machine may be shared with other processes: the load average
before and after is recorded.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

# Idle OpenMP workers sleep instead of spinning (shared machine); set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from repro.data.loaders import open_dataset  # noqa: E402
from repro.eval.loaded import load  # noqa: E402
from repro.eval.quick import dataset_job  # noqa: E402
from repro.eval.runner import evaluate, finite_mean  # noqa: E402
from repro.machine import device_provenance, load_average, resolve_device  # noqa: E402

OUT = Path(__file__).with_name("eval_throughput.md")
MODEL, SCALE = "camixersr-s", 4
METHOD = (
    "`repro eval`'s code path (dataset_job + evaluate: verify, decode, predict, score; no "
    "cache), the model loaded once and warmed up on one Set5 image. Each set runs with "
    "prefetch 0 (each image read when its turn comes) then 2 (the next images read by a "
    "background thread while the model runs), in one process. The forward share is the time "
    "inside the model's forward (hooks; synchronised on CUDA) over the wall time."
)


class ForwardClock:
    """Seconds spent inside the model's forward, summed (hooks on the top module)."""

    def __init__(self, module: torch.nn.Module, device: torch.device) -> None:
        self.seconds, self._start, self._device = 0.0, 0.0, device
        module.register_forward_pre_hook(self._enter)
        module.register_forward_hook(self._leave)

    def _sync(self) -> None:
        if self._device.type == "cuda":
            torch.cuda.synchronize(self._device)

    def _enter(self, module, inputs) -> None:
        self._sync()
        self._start = time.perf_counter()

    def _leave(self, module, inputs, output) -> None:
        self._sync()
        self.seconds += time.perf_counter() - self._start


def _run(loaded, clock, dataset: str, limit: int | None, lr: str, prefetch: int, device) -> dict:
    data = open_dataset(dataset, SCALE, lr_mode=lr).limit(limit)
    job = dataset_job(MODEL, SCALE, data)
    clock.seconds = 0.0
    start = time.perf_counter()
    rows, _ = evaluate(
        job, data, device=device, use_cache=False, progress=False, loaded=loaded, prefetch=prefetch
    )
    wall = time.perf_counter() - start
    return {
        "rows": [{k: v for k, v in r.items() if k != "seconds"} for r in rows],
        "images": len(rows),
        "wall": wall,
        "forward": clock.seconds,
        "psnr": finite_mean(r["psnr"] for r in rows),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--set14", type=int, default=None, help="first N images of Set14 (all)")
    ap.add_argument("--urban100", type=int, default=20, help="first N images of Urban100")
    ap.add_argument(
        "--made-lr", type=int, default=10, help="Urban100 images with LR made here (0: skip)"
    )
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    device = resolve_device(args.device)
    load_before = load_average()
    loaded = load(MODEL, SCALE, device=device)
    clock = ForwardClock(loaded.module, device)
    # warm-up: the first forwards pay for allocations (and, on CUDA, the context and kernels)
    _run(loaded, clock, "Set5", 1, "official", 0, device)
    cases = [("Set14", args.set14, "official"), ("Urban100", args.urban100, "official")]
    if args.made_lr:
        cases.append(("Urban100", args.made_lr, "bicubic"))
    lines = []
    for dataset, limit, lr in cases:
        runs = {p: _run(loaded, clock, dataset, limit, lr, p, device) for p in (0, 2)}
        same = runs[0]["rows"] == runs[2]["rows"]
        for p, r in runs.items():
            line = (
                f"| {dataset} | {lr} | {r['images']} | {p} | {r['wall']:.1f} | "
                f"{r['images'] / r['wall']:.3f} | {r['forward'] / r['wall']:.1%} | "
                f"{r['psnr']:.4f} | {'yes' if same else 'NO'} |"
            )
            lines.append(line)
            print(line, flush=True)
    load_after = load_average()
    prov = device_provenance(device)
    text = "\n".join(
        [
            "# `repro eval` throughput: CAMixerSR-S x4, read-ahead off and on",
            "",
            f"Written by `python benchmarks/{Path(__file__).name}` "
            f"(`{' '.join(sys.argv[1:]) or 'defaults'}`). {METHOD}",
            "",
            f"- device: {prov['device']} ({prov['device_name']}); {os.cpu_count()} CPU cores, "
            f"{prov['threads']} torch threads; torch {prov['torch']}, CUDA {prov['cuda']}, "
            f"Python {platform.python_version()}",
            f"- load average (1/5/15 min) before: {load_before}; after: {load_after}",
            "- LR `official`: the set's LR files (read = sha256 + PNG decode of HR and LR); "
            "`bicubic`: LR made here with MATLAB imresize (the read also resizes the HR)",
            "",
            "| set | LR | images | prefetch | wall s | images/s | forward share | PSNR (Y) | "
            "same rows |",
            "|---|---|---|---|---|---|---|---|---|",
            *lines,
            "",
        ]
    )
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
