"""CPU latency of ESC variants and of the three attention backends; writes benchmarks/esc.md.

    python benchmarks/bench_esc_latency.py [--threads 2] [--hd-scales 4] [--no-flex]

Settings:
- seed Table 9 (MacBook Air M2): ESC-lt and ESC on a 128x128x3 input. The table does not name
  the scale; x4 is used here (the output is 512x512).
- main table (reported/figs/esc_MainDIV2K.png, Latency column): the official script
  (``scripts/test_direct_metrics``, called from the ``__main__`` of the arch files) runs a
  ``1 x 3 x 720/s x 1280/s`` input (a 1280x720 "HD" output), FP32, 100 repeats, on a GPU.
  Here ESC-FP / ESC-lt / ESC at x4 (180x320 input) on the CPU; other scales with --hd-scales.
- backends: matmul / sdpa / flex (torch.compile'd FlexAttention; compile time reported apart)
  inside the same process and interleaved, on the 128x128 input and on the HD x4 input.

Weights are random (latency does not depend on them). A cell is the median of timed forwards
(``torch.inference_mode``, float32, batch 1) after a warm-up forward. The machine may be
shared with other processes: the load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# Idle OpenMP workers sleep instead of spinning (shared machine); set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from repro.machine import cpu_name, load_average  # noqa: E402
from repro.models.esc.arch import build_esc  # noqa: E402
from repro.models.esc.attention import resolve_backend  # noqa: E402

OUT = Path(__file__).with_name("esc.md")
NAMES = {"fp": "ESC-FP", "light": "ESC-lt", "base": "ESC"}
# reported/figs/esc_MainDIV2K.png latency (ms, GPU), and seed Table 9 (ms, M2 Air, 128x128)
PAPER_HD = {
    2: {"fp": 94.3, "light": 73.2, "base": 120.9},
    3: {"fp": 34.8, "light": 25.2, "base": 41.4},
    4: {"fp": 21.7, "light": 13.3, "base": 21.9},
}
PAPER_M2 = {"light": 124.07, "base": 181.16}


def _time_models(models: dict, x: torch.Tensor, min_time: float, min_runs: int, max_runs: int):
    """Median seconds per forward of each model, timed round-robin after one warm-up each."""
    times: dict = {k: [] for k in models}
    warm: dict = {}
    with torch.inference_mode():
        for k, m in models.items():
            t0 = time.perf_counter()
            m(x)
            warm[k] = time.perf_counter() - t0
        while True:
            for k, m in models.items():
                t0 = time.perf_counter()
                m(x)
                times[k].append(time.perf_counter() - t0)
            n = len(next(iter(times.values())))
            total = sum(sum(v) for v in times.values())
            if n >= max_runs or (n >= min_runs and total >= min_time):
                break
    return {k: statistics.median(v) for k, v in times.items()}, warm, times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hd-scales", default="4", help="comma list of scales for the HD setting")
    ap.add_argument("--min-time", type=float, default=4.0)
    ap.add_argument("--min-runs", type=int, default=3)
    ap.add_argument("--max-runs", type=int, default=10)
    ap.add_argument("--no-flex", action="store_true", help="skip the compiled flex backend")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    auto = resolve_backend("auto", "cpu")
    load_before = load_average()
    started = time.time()
    lines: list[str] = []
    add = lines.append

    # ---- seed Table 9 setting: 128x128 input, x4
    x128 = torch.rand(1, 3, 128, 128)
    models = {v: build_esc(v, 4, backend=auto).eval() for v in ("light", "base")}
    med, _, _ = _time_models(models, x128, args.min_time, args.min_runs, args.max_runs)
    add("## Seed Table 9 setting: 128x128 input (x4 assumed), CPU")
    add("")
    add(f"| model | ours, CPU {args.threads} threads, `{auto}` (ms) | paper, MacBook Air M2 (ms) |")
    add("|---|---:|---:|")
    for v in models:
        add(f"| {NAMES[v]} | {med[v] * 1e3:.1f} | {PAPER_M2[v]:.2f} |")
    add(f"| ratio ESC / ESC-lt | {med['base'] / med['light']:.2f} | {181.16 / 124.07:.2f} |")
    add("")
    print("\n".join(lines[-8:]), flush=True)

    # ---- main table setting: 1280x720 output
    add("## Main table setting: 1280x720 output (input 720/s x 1280/s), CPU")
    add("")
    add(
        f"| scale | input | model | ours, CPU {args.threads} threads, `{auto}` (ms) | "
        "paper, GPU (ms) | ours / paper |"
    )
    add("|---|---|---|---:|---:|---:|")
    for s in [int(t) for t in args.hd_scales.split(",") if t]:
        xh = torch.rand(1, 3, 720 // s, 1280 // s)
        models = {v: build_esc(v, s, backend=auto).eval() for v in ("fp", "light", "base")}
        med, _, _ = _time_models(models, xh, args.min_time, args.min_runs, args.max_runs)
        for v in models:
            p = PAPER_HD[s][v]
            add(
                f"| x{s} | {720 // s}x{1280 // s} | {NAMES[v]} | {med[v] * 1e3:.0f} | {p} | "
                f"{med[v] * 1e3 / p:.0f}x |"
            )
        print("\n".join(lines[-3:]), flush=True)
    add("")

    # ---- attention backends, same process, interleaved
    backends = ["matmul", "sdpa"] + ([] if args.no_flex else ["flex"])
    add("## Attention backends on CPU (same process, interleaved)")
    add("")
    add(
        "| setting | model | "
        + " | ".join(f"{b} (ms)" for b in backends)
        + " | "
        + " | ".join(f"{b} / sdpa" for b in backends if b != "sdpa")
        + " |"
    )
    add("|---|---|" + "---:|" * (2 * len(backends) - 1))
    compile_notes = []
    for label, variant, x in (
        ("128x128, x4", "light", x128),
        ("128x128, x4", "base", x128),
        ("180x320 (HD), x4", "light", torch.rand(1, 3, 180, 320)),
    ):
        model = build_esc(variant, 4, backend="matmul").eval()
        per = {b: model for b in backends}  # one model; the backend is switched per call

        class _Switch(torch.nn.Module):
            def __init__(self, m, b):
                super().__init__()
                self.m, self.b = m, b

            def forward(self, inp):
                return self.m.set_backend(self.b)(inp)

        switched = {b: _Switch(per[b], b) for b in backends}
        med, warm, _ = _time_models(switched, x, args.min_time, args.min_runs, args.max_runs)
        cells = " | ".join(f"{med[b] * 1e3:.0f}" for b in backends)
        ratios = " | ".join(f"{med[b] / med['sdpa']:.2f}" for b in backends if b != "sdpa")
        add(f"| {label} | {NAMES[variant]} | {cells} | {ratios} |")
        if "flex" in warm:
            compile_notes.append(f"{label} {NAMES[variant]}: first flex call {warm['flex']:.1f} s")
        print(lines[-1], flush=True)
    add("")
    if compile_notes:
        add(
            "First call of `flex` (includes torch.compile when not yet compiled for that head "
            "count/shape): " + "; ".join(compile_notes) + "."
        )
        add("")

    add("## Environment")
    add("")
    add(
        f"- CPU: {cpu_name()}, torch.set_num_threads({args.threads}), "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}"
    )
    add(f"- torch {torch.__version__}, Python {platform.python_version()}, float32, batch 1")
    add(
        f"- load average (1/5/15 min) before: {load_before}; after: {load_average()} "
        f"(other processes shared the 2 cores; absolute numbers are noisy, same-process ratios "
        "less so)"
    )
    add(f"- wall time of this benchmark: {time.time() - started:.0f} s")
    add("")

    header = [
        "# ESC latency (CPU)",
        "",
        "Generated by `python benchmarks/bench_esc_latency.py`. Random weights; median of "
        "timed forwards after one warm-up; `auto` resolves to "
        f"`{auto}` on the CPU. The paper's latencies are GPU (main table) and Apple-silicon "
        "(Table 9) numbers: compare orderings and ratios, not absolute times.",
        "",
    ]
    args.out.write_text("\n".join(header + lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
