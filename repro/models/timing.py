"""Wall-clock latency of a model's forward pass, and the protocol's latency settings.

Low in the layers (models and eval both time forwards), so that no model family imports eval.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch


def latency_setting(protocol: Mapping[str, Any], variant: str | None) -> dict:
    """The protocol's latency block for a column variant (``protocol.latency.<variant>``)."""
    block = protocol.get("latency") or {}
    if variant and isinstance(block.get(variant), dict):
        return block[variant]
    return {k: v for k, v in block.items() if not isinstance(v, dict)}


def measure_latency(
    model: torch.nn.Module,
    input_lr: Sequence[int],
    *,
    channels: int = 3,
    device: str = "cpu",
    threads: int | None = None,
    repeats: int = 3,
) -> float:
    """Median wall time (ms) of one forward on a random ``1 x C x H x W`` input, after a warm-up."""
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        x = torch.rand(1, channels, int(input_lr[0]), int(input_lr[1]), device=device)
        times = []
        with torch.inference_mode():
            for i in range(repeats + 1):
                if device != "cpu":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                model(x)
                if device != "cpu":
                    torch.cuda.synchronize()
                if i:  # the first call warms up
                    times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)
    finally:
        torch.set_num_threads(old_threads)
