"""What machine a number was measured on: the device a run uses, and what provenance records
of it (CPU or GPU, driver, torch/CUDA/cuDNN versions, dtype, TF32 policy, threads)."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import torch

from repro.errors import ReproError

DEVICES = "auto, cpu or cuda[:N]"
# every model runs in float32: the predictor feeds float32 and nothing autocasts
DTYPE = "float32"
NVIDIA_PROC = Path("/proc/driver/nvidia/version")  # the kernel module's version, on Linux
NVIDIA_SMI_TIMEOUT_S = 5.0  # a wedged driver can hang nvidia-smi: provenance never waits on it


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


def _local_rank() -> int | None:
    """This process's index on its node under torchrun (one GPU per rank), else None."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    return int(os.environ.get("LOCAL_RANK", "0"))


def _refuse_without_cuda(asked: str) -> None:
    if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        build = "a CPU-only build" if torch.version.cuda is None else "no visible GPU"
        raise ReproError(
            f"--device {asked}: this torch ({torch.__version__}) has {build}; run with "
            "--device cpu (or auto), or install a CUDA build of torch on a GPU machine"
        )


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """The device a run really uses; refuse one this torch cannot use, before anything runs.

    ``auto``: CUDA when a GPU is visible, else the CPU. ``cuda``: this rank's GPU (``cuda:
    LOCAL_RANK`` under torchrun, else ``cuda:0``). ``cuda:N``: that GPU; under torchrun each rank
    takes its own, so N must be the rank's LOCAL_RANK. Idempotent on its own results.
    """
    asked = str(name)
    if asked == "cpu":
        return torch.device("cpu")
    if asked == "auto":
        if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
            return torch.device("cpu")
        asked = "cuda"
    match = re.fullmatch(r"cuda(?::(\d+))?", asked)
    if match is None:
        raise ReproError(f"unknown device '{asked}'; use {DEVICES}")
    _refuse_without_cuda(asked)
    rank = _local_rank()
    index = int(match.group(1)) if match.group(1) is not None else (rank or 0)
    if rank is not None and index != rank:
        raise ReproError(
            f"--device {asked}: under torchrun each process takes its own GPU (this one, "
            f"LOCAL_RANK {rank}, takes cuda:{rank}); pass --device cuda"
        )
    visible = torch.cuda.device_count()
    if index >= visible:
        raise ReproError(
            f"--device {asked}: only {visible} GPU(s) are visible (cuda:0..cuda:{visible - 1}); "
            "pick one of them, or check CUDA_VISIBLE_DEVICES"
        )
    return torch.device("cuda", index)


def gpu_driver_version() -> str:
    """The NVIDIA driver's version, or "unknown"; torch does not expose it."""
    try:  # the kernel module says it without running anything
        text = NVIDIA_PROC.read_text(encoding="utf-8")
        found = re.search(r"Kernel Module(?: for \S+)?\s+(\d[\d.]*)", text)
        if found:
            return found.group(1)
    except OSError:
        pass
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "unknown"
    try:
        out = subprocess.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    lines = out.stdout.split()
    return lines[0] if out.returncode == 0 and lines else "unknown"


def tf32_policy() -> dict[str, bool]:
    """Whether float32 matmuls and cuDNN convolutions may use TF32 on this process's GPUs."""
    return {
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32),
    }


def device_provenance(
    device: str | torch.device, attention_backend: str | None = None
) -> dict[str, object]:
    """What ran: the device and its name (GPU or CPU model), the GPU driver, the torch, CUDA and
    cuDNN versions, dtype, TF32 policy, CPU threads and, for a model that has one, the attention
    backend it resolved to on that device."""
    device = torch.device(device)
    on_gpu = device.type == "cuda"
    out: dict[str, object] = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if on_gpu else cpu_name(),
        "driver": gpu_driver_version() if on_gpu else None,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if on_gpu else None,
        "dtype": DTYPE,
        **tf32_policy(),
        "threads": torch.get_num_threads(),
    }
    if attention_backend is not None:
        out["attention_backend"] = attention_backend
    return out
