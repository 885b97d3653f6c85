"""Sharding across processes launched with ``torchrun``: NCCL when the run's device is CUDA, gloo
on the CPU (also for ``--device cpu`` on a GPU machine); one GPU per rank (``cuda:LOCAL_RANK``,
see :func:`repro.machine.resolve_device`)."""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist


def backend_for(device: str | torch.device) -> str:
    """The process-group backend for a run on ``device``."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def sharded() -> bool:
    """Launched by torchrun with more than one process (asked before joining any group)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world(device: str | torch.device | None = None) -> tuple[int, int]:
    """(rank, world size); the first call under torchrun joins the process group.

    That first call names the run's device (:func:`repro.eval.runner.evaluate` does): a group
    joined without one (nothing evaluated yet) is gloo, which gathers Python objects anywhere.
    """
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return 0, 1
    if not dist.is_initialized():
        device = torch.device(device or "cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)  # NCCL gathers through the current device: this rank's
        dist.init_process_group(backend=backend_for(device))
        atexit.register(_shutdown)
    return dist.get_rank(), dist.get_world_size()


def _shutdown() -> None:
    """Leave together: a rank that exits while a peer still talks to it aborts the peer."""
    if dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def gather(obj):
    """All processes' objects, in rank order (only the local one when not distributed)."""
    rank, size = world()
    if size == 1:
        return [obj]
    out = [None] * size
    dist.all_gather_object(out, obj)
    return out


def is_main() -> bool:
    return world()[0] == 0
