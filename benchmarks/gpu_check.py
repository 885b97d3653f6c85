"""The GPU measurements of issue 12 in one run; writes <out>/gpu.md and <out>/gpu.json.

    PYTHONPATH=. python benchmarks/gpu_check.py --out DIR

Without CUDA it stops at once with one line ("needs CUDA"). It needs the checkout only (no
../shared): weights are random, because a time or a peak memory does not depend on the weights'
values, and the golden check compares this GPU's output with the CPU's on the same weights.
Every number goes through the code a table run uses (``repro.eval.complexity.measure``, the
CAMixerSR counter, ``repro.models.timing``), with the settings of the committed specs:

1. ESC, ESC-lt, ESC-FP at x2 and x4: latency and peak memory under esc_main's latency setting
   (the official measurement: 1280x720 output, FP32, cuDNN autotuning, PyTorch's default TF32
   policy, median of 100 forwards after 100 warm-up; attention by sdpa).
2. CAMixerSR-B x4: latency(γ) / latency(γ=1) for γ 0.5 and 0.25 and the absolute times, at LR
   256x192 under camixer_tab1's GPU setting (default TF32 policy, and again with TF32 on), and
   at LR 1024x768 (default policy, fewer rounds: each forward is ~10x longer).
3. Golden equality: max |Δ| between the CUDA and the CPU output (TF32 off) of CAMixerSR-B (γ 1,
   and γ 0.5 deterministic), ESC and NAFSSR-T on a small input.

Each section is written to the md as soon as it is done, so a run cut short keeps what it has;
a section that fails is recorded with its error and the others still run (exit status 1).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
OUT = Path(__file__).resolve().parent
ESC_ROWS = [f"esc{v}-x{s}" for s in (2, 4) for v in ("", "-lt", "-fp")]
GAMMAS = (0.5, 0.25)
GOLDEN_TOLERANCE = 1e-4  # float32 on both sides, TF32 off: only summation order differs


def environment() -> dict:
    """The GPU and the software stack, as the md names them."""
    props = torch.cuda.get_device_properties(0)
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        driver = smi.stdout.strip().splitlines()[0] if smi.returncode == 0 else "n/a"
    except (OSError, subprocess.TimeoutExpired, IndexError):
        driver = "n/a"
    return {
        "gpu": torch.cuda.get_device_name(0),
        "memory_gib": round(props.total_memory / 2**30, 1),
        "capability": f"{props.major}.{props.minor}",
        "driver": driver,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "python": platform.python_version(),
    }


def esc_section() -> dict:
    """esc_main's latency and memory cells, measured as a table run measures them."""
    from repro.eval.complexity import measure
    from repro.models import build
    from repro.models.timing import latency_setting
    from repro.tables.spec import load_spec

    spec = load_spec("esc_main")
    rows = {r.id: r for r in spec.rows}
    cols = [c.metric for c in spec.columns]
    out = {"setting": dataclasses.asdict(latency_setting(spec.protocol, None)), "rows": []}
    for rid in ESC_ROWS:
        row = rows[rid]
        model = build(row.model, None, row.scale, **row.settings).eval().cuda()
        t0 = time.perf_counter()
        latency = measure("latency_ms", row, spec, model, None)
        memory = measure("memory_mb", row, spec, model, None)
        out["rows"].append(
            {
                "row": rid,
                "label": row.label,
                "latency_ms": latency,
                "memory_mib": memory,
                "paper_latency_ms": row.reported[cols.index("latency_ms")],
                "paper_memory_mb": row.reported[cols.index("memory_mb")],
                "wall_s": time.perf_counter() - t0,
            }
        )
        del model
        torch.cuda.empty_cache()
    return out


def camixer_section() -> dict:
    """CAMixerSR-B x4 γ ratios and absolute times through the table's counter and timing."""
    from repro.models import build, get
    from repro.models.timing import latency_setting, measure_latency
    from repro.tables.spec import load_spec

    spec = load_spec("camixer_tab1")
    base = latency_setting(spec.protocol, "tesla_t4")
    cases = [
        ("LR 256x192, default TF32 policy", base),
        ("LR 256x192, TF32 on", dataclasses.replace(base, tf32=True)),
        (
            "LR 1024x768, default TF32 policy",
            dataclasses.replace(base, input_lr=(768, 1024), warmup=1, repeats=10),
        ),
    ]
    counter = get("camixersr-b").complexity
    out = {"cases": []}
    for label, setting in cases:
        t0 = time.perf_counter()
        protocol = {"latency": {"case": dataclasses.asdict(setting)}}
        times, ratios = {}, {}
        for gamma in (1.0, *GAMMAS):
            model = build("camixersr-b", None, 4, ratio=gamma).eval().cuda()
            times[gamma] = measure_latency(model, setting, scale=4)
            if gamma != 1.0:
                ratios[gamma] = counter(
                    "latency_ratio", model, scale=4, protocol=protocol, variant="case"
                )
        out["cases"].append(
            {
                "case": label,
                "setting": dataclasses.asdict(setting),
                "latency_ms": {str(g): t for g, t in times.items()},
                "ratio": {str(g): r for g, r in ratios.items()},
                "wall_s": time.perf_counter() - t0,
            }
        )
    return out


def golden_section() -> dict:
    """max |Δ| between CUDA and CPU outputs of one model on one input, TF32 off."""
    from repro.models import build

    cases = [
        ("CAMixerSR-B x4, γ=1", "camixersr-b", 4, {"ratio": 1.0}, (1, 3, 64, 64)),
        (
            "CAMixerSR-B x4, γ=0.5 deterministic",
            "camixersr-b",
            4,
            {"ratio": 0.5, "mode": "deterministic"},
            (1, 3, 64, 64),
        ),
        ("ESC x2 (sdpa)", "esc", 2, {"backend": "sdpa"}, (1, 3, 48, 48)),
        ("NAFSSR-T x2", "nafssr-t", 2, {}, (1, 6, 32, 48)),
    ]
    cuda, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (cuda.allow_tf32, cudnn.allow_tf32)
    cuda.allow_tf32 = cudnn.allow_tf32 = False
    out = {"tolerance": GOLDEN_TOLERANCE, "cases": []}
    try:
        for label, model_id, scale, settings, shape in cases:
            torch.manual_seed(0)
            model = build(model_id, None, scale, **settings).eval()
            x = torch.rand(*shape)
            with torch.inference_mode():
                cpu = model(x)
                gpu = copy.deepcopy(model).cuda()(x.cuda()).cpu()
            delta = float((gpu.double() - cpu.double()).abs().max())
            out["cases"].append({"case": label, "shape": list(shape), "max_abs_delta": delta})
    finally:
        cuda.allow_tf32, cudnn.allow_tf32 = saved
    return out


def _heading(title: str, section: dict) -> list[str]:
    """A section's heading, then FAILED with its error when the section failed."""
    lines = [f"## {title}", ""]
    if "error" in section:
        lines += [f"FAILED: {section['error']}", ""]
    return lines


def render(env: dict, sections: dict, wall: float) -> str:
    """The md: environment first, then each section done so far."""
    lines = [
        "# GPU measurements (issue 12)",
        "",
        "Generated by `PYTHONPATH=. python benchmarks/gpu_check.py --out DIR`. Random weights: a "
        "time or a peak memory does not depend on the weights' values, and the golden check "
        "compares this GPU with the CPU on the same weights. The numbers come from the code a "
        "table run uses, under the committed specs' latency settings.",
        "",
        f"- GPU: {env['gpu']} ({env['memory_gib']} GiB, compute capability {env['capability']})",
        f"- driver {env['driver']}, torch {env['torch']}, CUDA {env['cuda']}, cuDNN "
        f"{env['cudnn']}, Python {env['python']}",
        f"- wall time so far: {wall:.0f} s",
        "",
    ]
    esc = sections.get("esc")
    if esc:
        lines += _heading(
            "ESC: latency and peak memory at a 1280x720 output (esc_main's setting)", esc
        )
        if "error" not in esc:
            lines += [
                f"Setting: `{_setting_text(esc['setting'])}`. Paper: RTX 4090 (latency, and "
                "max_memory_allocated including weights and input); here peak memory is counted "
                "above the weights and the input.",
                "",
                "| row | latency (ms) | paper (ms) | ours / paper | peak memory (MiB) | paper (MB) "
                "| ours / paper |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for r in esc["rows"]:
                lines.append(
                    f"| {r['label']} | {r['latency_ms']:.1f} | {r['paper_latency_ms']} | "
                    f"{r['latency_ms'] / r['paper_latency_ms']:.2f} | {r['memory_mib']:.0f} | "
                    f"{r['paper_memory_mb']} | {r['memory_mib'] / r['paper_memory_mb']:.2f} |"
                )
            lines.append("")
    cam = sections.get("camixer")
    if cam:
        lines += _heading("CAMixerSR-B x4: latency versus γ", cam)
        if "error" not in cam:
            lines += [
                "Paper (Urban100 averages, γ0.5/γ1 and γ0.25/γ1): T4 0.79 / 0.78, A10 0.86 / "
                "0.81, V100 0.93 / 0.91. Issue 12's targets on an H100: ≤ 0.85 / ≤ 0.80 at LR "
                "256x192, ≤ 0.80 / ≤ 0.70 at LR 1024x768.",
                "",
                "| case | γ=1 (ms) | γ=0.5 (ms) | γ=0.25 (ms) | γ0.5/γ1 | γ0.25/γ1 | setting |",
                "|---|---:|---:|---:|---:|---:|---|",
            ]
            for c in cam["cases"]:
                t, q = c["latency_ms"], c["ratio"]
                lines.append(
                    f"| {c['case']} | {t['1.0']:.1f} | {t['0.5']:.1f} | {t['0.25']:.1f} | "
                    f"{q['0.5']:.3f} | {q['0.25']:.3f} | `{_setting_text(c['setting'])}` |"
                )
            lines += [
                "",
                "Absolute times: the median of the setting's timed forwards; ratios: the median "
                "of per-round ratios, γ=1 and γ timed in alternation (repro.models.timing).",
                "",
            ]
    gold = sections.get("golden")
    if gold:
        lines += _heading(
            "Golden equality: CUDA versus CPU output, same random weights, TF32 off", gold
        )
        if "error" not in gold:
            lines += ["| model | input | max abs Δ | within 1e-4 |", "|---|---|---:|---|"]
            for c in gold["cases"]:
                ok = "yes" if c["max_abs_delta"] <= gold["tolerance"] else "NO"
                shape = "x".join(map(str, c["shape"]))
                lines.append(f"| {c['case']} | {shape} | {c['max_abs_delta']:.2e} | {ok} |")
            lines.append("")
    return "\n".join(lines)


def _setting_text(setting: dict) -> str:
    keep = ("input_lr", "output", "dtype", "tf32", "cudnn_benchmark", "backend", "warmup")
    parts = [f"{k}={setting[k]}" for k in keep if setting.get(k) is not None]
    parts += [f"repeats={setting['repeats']}", f"statistic={setting['statistic']}"]
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="folder for gpu.md and gpu.json")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else "no visible GPU"
        raise SystemExit(
            f"gpu_check: needs CUDA: torch {torch.__version__} has {build}; "
            "run it on a GPU machine (PYTHONPATH=. python benchmarks/gpu_check.py --out DIR)"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    env = environment()
    sections: dict = {}
    failed = False
    for name, run in (
        ("esc", esc_section),
        ("camixer", camixer_section),
        ("golden", golden_section),
    ):
        t0 = time.perf_counter()
        try:
            sections[name] = run()
        except Exception as exc:  # one section's failure must not lose the others' numbers
            failed = True
            first = (str(exc).splitlines() or [""])[0]
            sections[name] = {"error": f"{type(exc).__name__}: {first}"}
            traceback.print_exc()
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        wall = time.perf_counter() - start
        (args.out / "gpu.md").write_text(render(env, sections, wall), encoding="utf-8")
        document = {"environment": env, "wall_s": wall, **sections}
        (args.out / "gpu.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
