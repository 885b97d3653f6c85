"""The suite's overhead on a spandrel model: ``repro eval`` of SwinIR-light x4 on Set14 against
spandrel's own model called directly on the same LR images, in one process; writes
benchmarks/spandrel_overhead.md. Needs the zoo extra (run it with .venv-iqa's python).

    .venv-iqa/bin/python benchmarks/bench_spandrel_overhead.py [--rounds 2] [--device cpu]

The checkpoint is SwinIR-light x4 of the official shape (embed_dim 60, depths and heads
[6, 6, 6, 6], window 8, mlp ratio 2, pixelshuffledirect), random weights (the real checkpoint is
not downloadable here; the time does not depend on the values), saved as safetensors.

- suite: ``repro.eval.loaded.load`` (sha256 of the file, spandrel's detection, the checks) then
  ``evaluate`` (verify and decode every HR/LR file, predict, score PSNR and SSIM on Y; no cache),
  i.e. ``repro eval --model spandrel --weights FILE --scale 4 --dataset Set14`` without the
  process start and the printing;
- direct: ``spandrel.ModelLoader().load_from_file`` then the descriptor called on each LR image
  (decoded beforehand, outside the clock), the output taken to the host.

overhead = (suite - direct) / suite: everything the suite does besides running the network
(reading, hashing, decoding, scoring, uint8 conversions, bookkeeping). The rounds alternate
direct and suite; the machine may be shared, so its load average is recorded.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP workers sleep (shared CPU)

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from repro.data.loaders import open_dataset  # noqa: E402
from repro.eval.loaded import load  # noqa: E402
from repro.eval.quick import dataset_job  # noqa: E402
from repro.eval.runner import evaluate, finite_mean  # noqa: E402
from repro.machine import device_provenance, load_average, resolve_device  # noqa: E402

OUT = Path(__file__).with_name("spandrel_overhead.md")
SCALE = 4


def swinir_light(path: Path) -> None:
    """Random weights of the official SwinIR-light x4 shape, as a safetensors file."""
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(0)
    net = SwinIR(
        img_size=64,
        embed_dim=60,
        depths=[6, 6, 6, 6],
        num_heads=[6, 6, 6, 6],
        window_size=8,
        mlp_ratio=2.0,
        upscale=SCALE,
        upsampler="pixelshuffledirect",
        resi_connection="1conv",
    )
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))


def direct(path: Path, lrs: list[torch.Tensor], device: torch.device) -> tuple[float, float]:
    """(wall seconds, forward seconds) of spandrel's own model over the LR images."""
    import spandrel

    start = time.perf_counter()
    model = spandrel.ModelLoader(device).load_from_file(str(path)).eval()
    forward = 0.0
    for lr in lrs:
        begin = time.perf_counter()
        out = model(lr.to(device)).cpu()
        forward += time.perf_counter() - begin
        del out
    return time.perf_counter() - start, forward


def suite(path: Path, device: torch.device, forward: list[float]) -> tuple[float, float, float]:
    """(wall seconds, forward seconds, mean PSNR) of repro's eval path."""
    start = time.perf_counter()
    loaded = load("spandrel", SCALE, weights_path=str(path), device=device)
    module = loaded.module
    clock = {"t": 0.0}
    module.register_forward_pre_hook(lambda m, i: clock.__setitem__("t", time.perf_counter()))
    module.register_forward_hook(lambda m, i, o: forward.append(time.perf_counter() - clock["t"]))
    data = open_dataset("Set14", SCALE)
    job = dataset_job("spandrel", SCALE, data, weights_path=str(path))
    rows, _ = evaluate(job, data, device=device, use_cache=False, progress=False, loaded=loaded)
    return time.perf_counter() - start, sum(forward), finite_mean(r["psnr"] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    device = resolve_device(args.device)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="repro-bench-spandrel-") as tmp:
        path = Path(tmp) / "SwinIR-light_x4_random.safetensors"
        swinir_light(path)
        data = open_dataset("Set14", SCALE)
        lrs = [
            torch.from_numpy(data.load(n).lr).permute(2, 0, 1)[None].float().div(255)
            for n in data.names
        ]
        direct(path, lrs[:1], device)  # warm-up: first-call allocations
        lines = []
        for r in range(1, args.rounds + 1):
            d_wall, d_fwd = direct(path, lrs, device)
            s_wall, s_fwd, psnr = suite(path, device, [])
            line = (
                f"| {r} | {len(lrs)} | {d_wall:.1f} | {d_fwd:.1f} | {s_wall:.1f} | {s_fwd:.1f} | "
                f"{(s_wall - d_wall) / s_wall:+.1%} | {(s_wall - s_fwd) / s_wall:.1%} | "
                f"{psnr:.3f} |"
            )
            lines.append(line)
            print(line, flush=True)
    load_after = load_average()
    prov = device_provenance(device)
    text = "\n".join(
        [
            "# The suite's overhead on a spandrel model: SwinIR-light x4 on Set14",
            "",
            f"Written by `{Path(sys.executable).parent.parent.name}/bin/python benchmarks/"
            f"{Path(__file__).name}` (`{' '.join(sys.argv[1:]) or 'defaults'}`); the method is "
            "the script's docstring.",
            "",
            f"- device: {prov['device']} ({prov['device_name']}); {os.cpu_count()} CPU cores, "
            f"{prov['threads']} torch threads; torch {prov['torch']}, Python "
            f"{platform.python_version()}",
            f"- load average (1/5/15 min) before: {load_before}; after: {load_after}",
            "- overhead: (suite wall - direct wall) / suite wall; outside forward: the share of "
            "the suite's wall time not spent in the network's forward (hooks on the model)",
            "",
            "| round | images | direct wall s | direct forward s | suite wall s | suite forward s "
            "| overhead | outside forward | PSNR (Y) |",
            "|---|---|---|---|---|---|---|---|---|",
            *lines,
            "",
        ]
    )
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
