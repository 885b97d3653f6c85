"""Sharding across processes launched with ``torchrun`` (gloo on CPU, nccl on GPU)."""

from __future__ import annotations

import atexit
import os

import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size); initialises the process group on first use under torchrun."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return 0, 1
    if not dist.is_initialized():
        import torch

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
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
