"""MUSIQ, MANIQA, CLIPIQA and FID through pyiqa (IQA-PyTorch), offline only.

pyiqa is optional: the ``iqa`` extra (pyiqa, torchvision, ``setuptools<81`` for the ``clip``
package's ``pkg_resources``). Its licence is PolyForm-Noncommercial-1.0.0, so the base install
never needs it. A torchvision wheel only loads beside the torch build it was made for; where
pyiqa cannot be imported, :func:`require_pyiqa` raises :class:`~repro.errors.NotRun`
(MISSING-EXTRA) saying what to install, and so does every metric here.

Weights are never downloaded by a run. Each metric declares the files pyiqa would fetch
(``PYIQA_METRICS[name].weights``, :class:`~repro.weights.WeightsEntry` of ``kind="metric"``,
with the Hub repository and pinned commit, or the official URL, that ``repro pull`` fetches them
from); :mod:`repro.weights` finds them by file name in ``<weights dir>/pyiqa/`` and
``<weights dir>/`` (``REPRO_WEIGHTS``, then shared/weights), ``repro pull``'s cache, then pyiqa's
own cache (``$TORCH_HOME/hub/pyiqa/``). A file is checked against its full sha256 where one is
published, else the prefix its name carries (``-e95806b9``), before pyiqa reads it (pyiqa
unpickles with ``weights_only=False``). :mod:`repro.metrics.pyiqa_hub` then shows pyiqa only
those files and refuses any download. Metrics are created once per (name, device) and cached.

No metric here draws random numbers at inference (pyiqa >= 0.1.13 scores MANIQA on 20 crops on a
uniform grid); ``seed`` still fixes torch's and numpy's RNGs inside a call, restoring both, so
the caller's random state never changes.

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
import pickle
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from repro.errors import DataError, NotRun, NotRunCode, WeightsError
from repro.metrics.pyiqa_hub import offline_hub, stage
from repro.weights import WeightsEntry, placement, require_all

__all__ = [
    "IQA_WEIGHTS_REPO",
    "IQA_WEIGHTS_REVISION",
    "PYIQA_METRICS",
    "PyiqaMetric",
    "fid",
    "pyiqa_score",
    "require_pyiqa",
]

INSTALL_HINT = (
    'install the iqa extra (pip install -e ".[iqa]": pip install pyiqa torchvision '
    f'"setuptools<81") with a torchvision built for this torch ({torch.__version__}); pyiqa is '
    "licensed PolyForm-Noncommercial-1.0.0"
)
# pyiqa's weights repository (pyiqa.archs.arch_util.get_url_from_name), pinned to a commit.
IQA_WEIGHTS_REPO = "chaofengc/IQA-PyTorch-Weights"
IQA_WEIGHTS_REVISION = "0df2df423c65f6a64209309695f3845727431027"


@dataclass(frozen=True)
class PyiqaMetric:
    """How one metric runs through pyiqa."""

    name: str  # our registry name
    pyiqa_name: str  # name for pyiqa.create_metric
    weights: tuple[WeightsEntry, ...]  # the files pyiqa would download
    # create_metric option that takes the path of weights[0] (CLIP-IQA's ``backbone``: pyiqa's
    # own CLIP loader would re-download a file whose sha256 it does not like); None: the files
    # are shown to pyiqa in its cache folder
    path_option: str | None = None


def _hub_file(id_: str, filename: str, what: str, **kw) -> WeightsEntry:
    """A file of pyiqa's weights repository, kept in pyiqa's cache as it is named there."""
    return WeightsEntry.metric_file(
        id_,
        filename,
        f"{what}, from {IQA_WEIGHTS_REPO}",
        subdir="pyiqa",
        cache="torch",
        hub_repo=IQA_WEIGHTS_REPO,
        hub_revision=IQA_WEIGHTS_REVISION,
        **kw,
    )


_CLIP_RN50_SHA256 = "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762"
PYIQA_METRICS: dict[str, PyiqaMetric] = {
    m.name: m
    for m in (
        PyiqaMetric(
            "musiq",
            "musiq",
            (
                _hub_file(
                    "pyiqa-musiq-koniq",
                    "musiq_koniq_ckpt-e95806b9.pth",
                    "MUSIQ trained on KonIQ-10k",
                    sha256="e95806b9eae5f3814c410f574ba8e552362bd5bc63d758ed5b97860f5d6185aa",
                    sha256_source=(
                        f"a public project, with the pinned revision {IQA_WEIGHTS_REVISION} "
                        f"of {IQA_WEIGHTS_REPO} (the Hub's LFS sha256)"
                    ),
                ),
            ),
        ),
        PyiqaMetric(
            "maniqa",
            "maniqa",
            # the whole network, its timm ViT-B/8 backbone included (see pyiqa_hub)
            (_hub_file("pyiqa-maniqa-koniq", "ckpt_koniq10k.pt", "MANIQA trained on KonIQ-10k"),),
        ),
        PyiqaMetric(
            "clipiqa",
            "clipiqa",
            (
                WeightsEntry.metric_file(
                    "clip-rn50",
                    "RN50.pt",
                    "OpenAI CLIP RN50 (TorchScript)",
                    subdir="pyiqa",
                    cache="torch",
                    urls=(
                        f"https://openaipublic.azureedge.net/clip/models/{_CLIP_RN50_SHA256}/"
                        "RN50.pt",
                    ),
                    sha256=_CLIP_RN50_SHA256,
                    sha256_source="openai/CLIP clip/clip.py _MODELS (the download URL names it)",
                ),
            ),
            path_option="backbone",
        ),
        PyiqaMetric(
            "fid",
            "fid",
            (
                _hub_file(
                    "pyiqa-fid-inception",
                    "pt_inception-2015-12-05-6726825d.pth",
                    "FID InceptionV3 (pytorch-fid)",
                    # the full digest, not only the 32-bit prefix of the name (which a crafted
                    # file can match in ~2^32 tries)
                    sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
                    sha256_source=(
                        "public projects that pin pytorch-fid's release file fid_weights/"
                        "pt_inception-2015-12-05-6726825d.pth (95,628,359 bytes; also "
                        "torch-fidelity's weights-inception-2015-12-05-6726825d.pth)"
                    ),
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
    """Raise NotRun(MISSING-EXTRA) with what to install when pyiqa cannot be imported here.

    With a metric ``name`` the message also says which weight files to provide for it.
    """
    why = _import_failure()
    if why is None:
        return
    detail = f"needs pyiqa, which cannot be imported here ({why}): {INSTALL_HINT}"
    if name is not None:
        files = placement(PYIQA_METRICS[name].weights)
        detail = f"metric '{name}' {detail}; then provide its weights offline: {files}"
    raise NotRun(NotRunCode.MISSING_EXTRA, detail)


def _require(name: str) -> tuple[PyiqaMetric, list[Path]]:
    """The metric and its verified weight files, once pyiqa imports."""
    metric = PYIQA_METRICS[name]
    require_pyiqa(name)
    return metric, require_all(metric.weights, f"weights for '{name}'")


# --------------------------------------------------------------------------------------------
# creation (offline) and scoring


def _device(device: str | torch.device | None) -> str:
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


# what torch.load and load_state_dict raise for a file that is not the network's checkpoint
_LOAD_ERRORS = (RuntimeError, KeyError, EOFError, pickle.UnpicklingError)


@functools.lru_cache(maxsize=8)
def _create(name: str, device: str):
    metric, paths = _require(name)
    options = {metric.path_option: str(paths[0])} if metric.path_option else {}
    # pyiqa prints what it loads: to stderr, since stdout holds results (``--json``)
    with offline_hub(stage(metric.weights)), contextlib.redirect_stdout(sys.stderr):
        import pyiqa

        try:
            return pyiqa.create_metric(
                metric.pyiqa_name, device=torch.device(device), as_loss=False, **options
            )
        except _LOAD_ERRORS as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
            raise WeightsError(
                f"pyiqa cannot load the weights of '{name}' ({type(exc).__name__}: {first}); "
                f"replace them with the official files: {placement(metric.weights)}"
            ) from None


@contextlib.contextmanager
def _seeded(seed: int | None, device: str) -> Iterator[None]:
    """torch's and numpy's global RNGs seeded for the block (pyiqa crops draw from numpy's),
    then restored."""
    devices = [torch.device(device)] if device.startswith("cuda") else []
    state = np.random.get_state()
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.manual_seed(int(seed))
            np.random.seed(int(seed))
        try:
            yield
        finally:
            np.random.set_state(state)


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
    the metric's kind, on its registry entry. ``seed`` fixes torch's and numpy's RNGs inside the
    call without touching their global state.
    """
    _require(name)  # the install / weights message first, whatever the arguments
    dev = _device(device)
    net = _create(name, dev)
    tensors = [_to_tensor(im, dev) for im in images]
    with _seeded(seed, dev), torch.inference_mode():
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
