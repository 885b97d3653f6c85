"""SR images saved as files under the names of their HR images, so that the two folders pair up
by name (``repro score psnr --ref HR/ --dist SR/``) as BasicSR's saved results do.

A dataset image's SR takes its HR file's path from the part of the card's layout that holds the
image name on (``HR/{name}.png`` -> ``baby.png``; a stereo pair ``hr/{name}/hr{view}.png`` ->
``pair/hr0.png`` and ``pair/hr1.png``), as PNG whatever the HR's format (lossless). An LR image
without its HR (``--lr`` alone) drops the EDSR benchmark suffix (``babyx4.png`` -> ``baby.png``).
Folders of SR images are new folders that appear only when every image is written
(:func:`output_folder`); a table run's (``--save-sr DIR``) holds ``<row id>/<dataset>/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from repro.data.dataset import Dataset
from repro.data.schema import fill
from repro.errors import DataError, ReproError
from repro.eval import distributed
from repro.files import default_mode
from repro.imageio import write_image


def sr_paths(data: Dataset, name: str) -> list[Path]:
    """The relative paths of one image's SR files: one per view, named as its HR files."""
    template = data.layout.hr or "{name}.png"  # a set without HR: the image's own name
    parts = Path(template).parts
    start = next(i for i, part in enumerate(parts) if "{name}" in part)
    tail = str(Path(*parts[start:]))
    views = data.layout.views or ("",)
    return [
        Path(fill(tail, name=name, scale=data.scale, view=view)).with_suffix(".png")
        for view in views
    ]


def write_sr(folder: Path, data: Dataset, name: str, sr: np.ndarray) -> None:
    """Write one image's SR output (views side by side in the channel axis) under ``folder``."""
    paths = sr_paths(data, name)
    step = sr.shape[2] // len(paths)
    for i, rel in enumerate(paths):
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_image(target, sr[..., i * step : (i + 1) * step])


def sr_name(lr_name: str, scale: int) -> str:
    """The SR file of an LR image that has no HR beside it: ``babyx4.png`` -> ``baby.png``."""
    stem = Path(lr_name).stem
    suffix = f"x{scale}"
    if stem.lower().endswith(suffix) and len(stem) > len(suffix):
        stem = stem[: -len(suffix)]
    return f"{stem}.png"


def check_new(path: Path, option: str) -> None:
    """``path`` can become a new folder of SR images: absent or empty, and written by one
    process (under torchrun each process holds only its shard of the outputs)."""
    if distributed.sharded():
        raise ReproError(f"{option} writes from one process; run without torchrun to save images")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise DataError(f"{option} {path} exists and is not an empty folder; name a new folder")
    if not path.parent.is_dir():
        raise DataError(f"{option} {path}: its parent folder {path.parent} does not exist")


@contextlib.contextmanager
def output_folder(path: Path | None, option: str = "--out") -> Iterator[Path | None]:
    """A new folder's staging copy beside ``path``: renamed to ``path`` when all is written,
    removed on any error, so a failed run leaves no partial folder. Never overwrites
    (``option`` names the flag in messages)."""
    if path is None:
        yield None
        return
    check_new(path, option)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.partial-"))
    try:
        yield staging
        mode = default_mode()
        os.chmod(staging, mode | (mode & 0o444) >> 2)  # a folder is searchable where readable
        if path.exists():
            path.rmdir()
        os.replace(staging, path)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
