"""Make pyiqa find its weight files locally and never download: a private torch hub folder.

The verified local files (:func:`repro.weights.require`) are linked into
``<REPRO_CACHE>/pyiqa_hub/{pyiqa,checkpoints}/`` (pyiqa keeps its downloads in the first,
torchvision in the second); while a metric is created ``torch.hub`` points there and
``HF_HUB_OFFLINE=1`` is set, so pyiqa finds everything it would fetch and cannot fetch.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from repro.paths import cache_dir
from repro.weights import WeightsEntry, require


def stage(weights: Sequence[WeightsEntry]) -> Path:
    """A private torch hub folder with links to the verified local ``weights``."""
    folder = cache_dir() / "pyiqa_hub"
    for entry in weights:
        if entry.cache == "hf":  # a Hugging Face snapshot: read from the HF cache itself
            continue
        src = require(entry).resolve()
        for sub in ("pyiqa", "checkpoints"):
            dst = folder / sub / entry.filename
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.is_symlink() or dst.exists():
                if dst.resolve() == src:
                    continue
                dst.unlink()
            try:
                dst.symlink_to(src)
            except OSError:  # file systems without symlinks
                shutil.copyfile(src, dst)
    return folder


@contextlib.contextmanager
def offline_hub(folder: Path) -> Iterator[None]:
    """torch.hub (and pyiqa's download folder) at ``folder``, the Hugging Face Hub offline."""
    old_dir = torch.hub.get_dir()
    old_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    torch.hub.set_dir(str(folder))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        dl = importlib.import_module("pyiqa.utils.download_util")
        old_cache = getattr(dl, "DEFAULT_CACHE_DIR", None)
        if old_cache is not None:  # fixed at pyiqa's import time
            dl.DEFAULT_CACHE_DIR = str(folder / "pyiqa")
        try:
            yield
        finally:
            if old_cache is not None:
                dl.DEFAULT_CACHE_DIR = old_cache
    finally:
        torch.hub.set_dir(old_dir)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
