"""What machine a number was measured on: CPU model and load (for provenance and benchmarks)."""

from __future__ import annotations

import os
import platform


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    """1/5/15-minute load average; above the core count, timings share the CPU."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def check_device(device: str) -> str:
    """Refuse a device this torch cannot use, before anything runs or is recorded."""
    import torch

    from repro.errors import ReproError

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else "no visible GPU"
            raise ReproError(
                f"--device {device}: this torch ({torch.__version__}) has {build}; "
                "run with --device cpu, or install a CUDA build of torch on a GPU machine"
            )
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ReproError(
                f"--device {device}: only {torch.cuda.device_count()} GPU(s) are visible"
            )
    elif device != "cpu":
        raise ReproError(f"unknown device '{device}'; use cpu or cuda[:N]")
    return device
