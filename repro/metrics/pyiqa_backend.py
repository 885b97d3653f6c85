"""DISTS, MUSIQ, MANIQA, CLIPIQA and FID through pyiqa (IQA-PyTorch), offline only.

pyiqa is optional. It needs torchvision (and timm, clip, ...), and a torchvision wheel only loads
beside the torch build it was made for; where that is not possible (this project's pinned CPU
torch 2.13.0 has no matching torchvision on PyPI), :func:`require_pyiqa` raises
:class:`~repro.errors.NotRun` (NOT-IMPLEMENTED) saying what to install, and so does every metric
here, without trying anything else.

Weights are never downloaded. Each metric declares the files pyiqa and its backbones would fetch
(``PYIQA_METRICS[name].weights``, :class:`~repro.weights.WeightsEntry` of ``kind="metric"``);
:mod:`repro.weights` looks them up by file name in ``<weights dir>/pyiqa/`` and
``<weights dir>/`` (``REPRO_WEIGHTS``, then shared/weights), then in pyiqa's and torchvision's
own caches (torch's hub folder), and Hugging Face repositories (timm backbones) in the HF cache.
A file whose sha256 is known (pinned in full, or the prefix a torch.hub-style name carries, e.g.
``-e95806b9``) is checked before use. :mod:`repro.metrics.pyiqa_hub` then shows pyiqa only
those files. Metrics are created once per (name, device) and cached.

FID is a set-level metric: :func:`fid` takes two folders (or two lists of uint8 images) and
returns one number; it cannot be averaged over images.

The facts of each metric as a metric (kind, direction, range, description) are on its registry
entry (:mod:`repro.metrics.iqa`); :class:`PyiqaMetric` holds only how pyiqa runs it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from repro.errors import DataError, MissingWeightsError, NotRun, NotRunCode
from repro.metrics.pyiqa_hub import offline_hub, stage
from repro.weights import WeightsEntry, placement, require_all

__all__ = ["PYIQA_METRICS", "PyiqaMetric", "fid", "pyiqa_score", "require_pyiqa"]

INSTALL_HINT = (
    "pip install pyiqa, with a torchvision build matching this torch "
    f"({torch.__version__}) installed first (pyiqa imports torchvision, timm and clip)"
)


@dataclass(frozen=True)
class PyiqaMetric:
    """How one metric runs through pyiqa."""

    name: str  # our registry name
    pyiqa_name: str  # name for pyiqa.create_metric
    weights: tuple[WeightsEntry, ...]  # the files pyiqa (or a backbone it builds) would download


def _file(id_: str, filename: str, what: str, **kw) -> WeightsEntry:
    """A file pyiqa or torchvision keeps in torch's hub folder."""
    return WeightsEntry.metric_file(id_, filename, what, subdir="pyiqa", cache="torch", **kw)


_VGG16 = _file(
    "torchvision-vgg16", "vgg16-397923af.pth", "torchvision VGG16 IMAGENET1K_V1, DISTS backbone"
)
PYIQA_METRICS: dict[str, PyiqaMetric] = {
    m.name: m
    for m in (
        PyiqaMetric(
            "dists",
            "dists",
            (_file("pyiqa-dists", "DISTS_weights-f5e65c96.pth", "DISTS alpha/beta"), _VGG16),
        ),
        PyiqaMetric(
            "musiq",
            "musiq",
            (
                _file(
                    "pyiqa-musiq-koniq",
                    "musiq_koniq_ckpt-e95806b9.pth",
                    "MUSIQ trained on KonIQ-10k",
                ),
            ),
        ),
        PyiqaMetric(
            "maniqa",
            "maniqa",
            (
                _file("pyiqa-maniqa-koniq", "ckpt_koniq10k.pt", "MANIQA trained on KonIQ-10k"),
                WeightsEntry.metric_file(
                    "timm-vit-b8",
                    "timm/vit_base_patch8_224.augreg2_in21k_ft_in1k",
                    "timm ViT-B/8 that pyiqa builds before loading MANIQA",
                    cache="hf",
                ),
            ),
        ),
        PyiqaMetric(
            "clipiqa",
            "clipiqa",
            (
                _file(
                    "clip-rn50",
                    "RN50.pt",
                    "OpenAI CLIP RN50",
                    sha256="afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762",
                    sha256_source="openai/CLIP clip/clip.py _MODELS (the download URL names it)",
                ),
            ),
        ),
        PyiqaMetric(
            "fid",
            "fid",
            (
                _file(
                    "pyiqa-fid-inception",
                    "pt_inception-2015-12-05-6726825d.pth",
                    "FID InceptionV3 (pytorch-fid)",
                ),
            ),
        ),
    )
}


# --------------------------------------------------------------------------------------------
# readiness


@functools.lru_cache(maxsize=1)
def _import_failure() -> str | None:
    """Why pyiqa cannot be imported here (None: it can). Tried once per process."""
    try:
        importlib.import_module("pyiqa")
    except Exception as exc:  # ImportError, or torchvision failing to load its C++ ops
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return f"{type(exc).__name__}: {first}"
    return None


def require_pyiqa(name: str | None = None) -> None:
    """Raise NotRun(NOT-IMPLEMENTED) with what to install when pyiqa cannot be imported here.

    With a metric ``name`` the message also says which weight files to provide for it.
    """
    why = _import_failure()
    if why is None:
        return
    detail = f"needs pyiqa, which cannot be imported here ({why}): {INSTALL_HINT}"
    if name is not None:
        files = placement(PYIQA_METRICS[name].weights)
        detail = f"metric '{name}' {detail}; then provide its weights offline: {files}"
    raise NotRun(NotRunCode.NOT_IMPLEMENTED, detail)


def _require(name: str) -> PyiqaMetric:
    """The metric, once pyiqa imports and its weight files are here and verified."""
    metric = PYIQA_METRICS[name]
    require_pyiqa(name)
    require_all(metric.weights, f"weights for '{name}'")
    return metric


# --------------------------------------------------------------------------------------------
# creation (offline) and scoring


def _device(device: str | torch.device | None) -> str:
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


@functools.lru_cache(maxsize=8)
def _create(name: str, device: str):
    metric = _require(name)
    with offline_hub(stage(metric.weights)):
        import pyiqa

        try:
            return pyiqa.create_metric(
                metric.pyiqa_name, device=torch.device(device), as_loss=False
            )
        except OSError as exc:  # a download attempted despite the checks
            raise MissingWeightsError(
                f"pyiqa tried to fetch a file for '{name}' that is not local ({exc}); "
                f"expected files: {placement(metric.weights)}"
            ) from None


def _to_tensor(img: np.ndarray, device: str) -> torch.Tensor:
    arr = np.asarray(img)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise DataError(f"expected a uint8 (H, W, 1|3) image, got {arr.dtype} {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    t = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)[None]
    return (t.float() / 255.0).to(device)


def pyiqa_score(
    name: str,
    *images: np.ndarray,
    device: str | torch.device | None = None,
    seed: int | None = 0,
) -> float:
    """Score one image (no-reference) or one (sr, hr) pair (full-reference) with pyiqa.

    Inputs are uint8 (H, W, C) RGB arrays, passed to pyiqa as [0, 1] float tensors; how many is
    the metric's kind, on its registry entry. ``seed`` fixes torch's RNG inside the call
    (MANIQA's random crops) without touching the global state.
    """
    _require(name)  # the install / weights message first, whatever the arguments
    dev = _device(device)
    net = _create(name, dev)
    tensors = [_to_tensor(im, dev) for im in images]
    devices = [torch.device(dev)] if dev.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices), torch.inference_mode():
        if seed is not None:
            torch.manual_seed(int(seed))
        value = net(*tensors)
    return float(torch.as_tensor(value).reshape(-1)[0].item())


def _as_folder(images, stack: contextlib.ExitStack) -> str:
    if isinstance(images, (str, os.PathLike)):
        folder = Path(images)
        if not folder.is_dir():
            raise DataError(f"FID image folder not found: {folder}")
        return str(folder)
    from repro.imageio import write_image

    tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="repro_fid_"))
    n = 0
    for i, img in enumerate(images):
        write_image(Path(tmp) / f"{i:06d}.png", np.asarray(img))
        n += 1
    if n == 0:
        raise DataError("FID got an empty image set")
    return tmp


def fid(
    set_a: str | os.PathLike | Sequence[np.ndarray],
    set_b: str | os.PathLike | Sequence[np.ndarray],
    *,
    device: str | torch.device | None = None,
    mode: str = "clean",
    batch_size: int = 32,
    num_workers: int = 0,
) -> float:
    """FID between two image sets (folders, or sequences of uint8 RGB images), via pyiqa.

    ``mode``: pyiqa's ``'clean'`` (clean-fid resize to 299, default), ``'legacy_pytorch'`` or
    ``'legacy_tensorflow'``. Set-level: one number for the two sets; lower is better. (pyiqa's
    inference wrapper passes its own device to the FID network.)
    """
    dev = _device(device)
    net = _create("fid", dev)
    with contextlib.ExitStack() as stack:
        a, b = _as_folder(set_a, stack), _as_folder(set_b, stack)
        value = net(
            a,
            b,
            mode=mode,
            batch_size=batch_size,
            num_workers=num_workers,
            verbose=False,
        )
    return float(torch.as_tensor(value).reshape(-1)[0].item())
