"""Small constant tensors a forward needs (window grids, latitude maps, index tables), built
once per shape on the model's device and reused by every call.

A forward that builds such a tensor on the CPU and copies it to the GPU on each call pays a
host-device transfer per call and cannot be captured in a CUDA graph. :func:`device_table`
caches a builder per argument tuple (shape ints, dtype, device) and marks it constant for
``torch.compile``: dynamo calls it while tracing and embeds the tensor in the graph, so a compiled
forward holds no table-building ops either.

A builder makes its tensor on the given device from shapes and Python scalars only (``arange``,
``linspace``, ``fill_``; never ``torch.tensor(python_list)``), so even the first call copies
nothing from the host. The tensor is shared: callers must not modify it in place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch


def device_table(build: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """Decorator: ``build(*key)`` computed once per key (64 keys kept), constant under compile."""

    @functools.lru_cache(maxsize=64)
    def cached(*key) -> torch.Tensor:
        # a plain tensor even when first asked for under inference_mode: an inference tensor
        # could not be saved for backward by a later call with autograd on
        with torch.inference_mode(False), torch.no_grad():
            return build(*key)

    @torch.compiler.assume_constant_result
    @functools.wraps(build)
    def table(*key) -> torch.Tensor:
        return cached(*key)

    return table
