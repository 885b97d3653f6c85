"""CPU latency of NAFSSR-T/S/B/L x4 with TLSC on and off; writes benchmarks/nafssr.md.

    python benchmarks/bench_nafssr_latency.py [--height 64 --width 192 --threads 2]

Weights are random (latency does not depend on their values). Each cell is the median of
several timed forwards (``torch.no_grad``, float32, batch 1) after one warm-up forward; a model
is timed until ``--min-time`` seconds have passed (at least ``--min-runs`` runs). The machine
may be shared with other processes: the load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# Idle OpenMP workers sleep instead of spinning: with 2 threads on a machine shared with other
# processes, spinning workers made one forward up to 15x slower. Set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from repro.machine import cpu_name, load_average  # noqa: E402
from repro.models.nafssr.arch import VARIANTS, build_nafssr  # noqa: E402

OUT = Path(__file__).with_name("nafssr.md")


def _time(model, x: torch.Tensor, min_time: float, min_runs: int) -> dict[bool, list[float]]:
    """Time TLSC on and off alternately (so a load change hits both), after one warm-up each."""
    times: dict[bool, list[float]] = {True: [], False: []}
    with torch.no_grad():
        for tlsc in (True, False):
            model.tlsc = tlsc
            model(x)  # warm-up
        while len(times[True]) < min_runs or sum(times[True]) < min_time:
            for tlsc in (True, False):
                model.tlsc = tlsc
                t0 = time.perf_counter()
                model(x)
                times[tlsc].append(time.perf_counter() - t0)
            if len(times[True]) >= 20:
                break
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=64, help="LR height (per view)")
    ap.add_argument("--width", type=int, default=192, help="LR width (per view)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=3.0)
    ap.add_argument("--min-runs", type=int, default=2)
    ap.add_argument("--variants", default="t,s,b,l")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.rand(1, 6, args.height, args.width)
    load_before = load_average()
    rows = []
    for v in args.variants.split(","):
        model = build_nafssr(v, 4).eval()
        params = sum(p.numel() for p in model.parameters())
        cells = {}
        timed = _time(model, x, args.min_time, args.min_runs)
        for tlsc, ts in timed.items():
            cells[tlsc] = (statistics.median(ts), min(ts), len(ts))
            print(
                f"nafssr-{v} x4 tlsc={tlsc}: median {cells[tlsc][0] * 1e3:.1f} ms "
                f"(min {cells[tlsc][1] * 1e3:.1f}, {len(ts)} runs)",
                flush=True,
            )
        rows.append((v, params, cells))
        del model
    load_after = load_average()

    h, w = args.height, args.width
    lines = [
        "# NAFSSR CPU latency (x4)",
        "",
        f"Written by `benchmarks/bench_nafssr_latency.py`. Input: one stereo pair, LR "
        f"1x6x{h}x{w} (each view {h}x{w}, output 1x6x{4 * h}x{4 * w}), float32, batch 1, "
        f"`torch.no_grad()`, `torch.set_num_threads({args.threads})`, "
        f"`OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}`, random weights. "
        "Median (min) of the timed runs after one warm-up forward; TLSC on and off alternate.",
        "",
        f"TLSC on: channel-attention pooling local with kernel (45, 135) (the official test); at "
        f"{h}x{w} the feature map is larger than the kernel along "
        + (
            "both dimensions"
            if h > 45 and w > 135
            else "the width only"
            if w > 135
            else "the height only"
            if h > 45
            else "neither dimension (global fallback: TLSC on = off)"
        )
        + ". TLSC off: global pooling. With local pooling the pooled map has the feature map's "
        "size, so the attention's 1x1 convolution runs on every pixel instead of once per "
        "channel vector (as in the official code), plus the two cumulative sums.",
        "",
        "| model | params | TLSC on (ms) | TLSC off (ms) | on / off | runs on/off |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for v, params, c in rows:
        on, off = c[True], c[False]
        lines.append(
            f"| NAFSSR-{v.upper()} ({VARIANTS[v][0]}w, {VARIANTS[v][1]}b) | {params:,} | "
            f"{on[0] * 1e3:.1f} ({on[1] * 1e3:.1f}) | {off[0] * 1e3:.1f} ({off[1] * 1e3:.1f}) | "
            f"{on[0] / off[0]:.2f} | {on[2]}/{off[2]} |"
        )
    lines += [
        "",
        f"Environment: torch {torch.__version__}, {cpu_name()}, {os.cpu_count()} logical CPUs "
        f"visible, Python {platform.python_version()}. Load average (1/5/15 min) before: "
        f"{load_before}; after: {load_after} (the benchmark itself adds about 1-2 with "
        "2 threads; a 1-minute load above the core count before the run means shared cores, and "
        "absolute numbers are then indicative). Compare within this table.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
