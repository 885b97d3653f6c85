"""DISTS, MUSIQ, MANIQA, CLIPIQA and FID through pyiqa (IQA-PyTorch), offline only.

pyiqa is optional. It needs torchvision (and timm, clip, ...), and a torchvision wheel only loads
beside the torch build it was made for; where that is not possible (this project's pinned CPU
torch 2.13.0 has no matching torchvision on PyPI), :func:`pyiqa_status` says so and every
metric here raises :class:`MetricBackendError` (a :class:`~repro.errors.ReproError`) with what to
install, and :func:`backend_available` returns ``(False, "NOT-IMPLEMENTED: ...")`` without trying.

Weights are never downloaded. Each metric lists the files pyiqa and its backbones would fetch
(:data:`PYIQA_METRICS`); they are looked up, by file name, in:

1. ``<weights dir>/pyiqa/`` and ``<weights dir>/`` for each of :func:`repro.paths.weights_dirs`
   (``REPRO_WEIGHTS``, then shared/weights);
2. pyiqa's own cache ``<torch hub dir>/pyiqa/`` and torchvision's ``<torch hub dir>/checkpoints/``
   (``torch.hub.get_dir()``, i.e. ``$TORCH_HOME/hub``, default ``~/.cache/torch/hub``);
3. for Hugging Face repositories (timm backbones): the Hugging Face cache
   (``$HF_HUB_CACHE``, ``$HF_HOME/hub``, default ``~/.cache/huggingface/hub``).

A file whose sha256 is known (pinned in full, or the hash prefix that torch.hub-style names
carry, e.g. ``-e95806b9``) is checked before use; a missing file makes the metric
``MISSING-WEIGHTS``. At creation the found files are linked into a private torch hub folder
(``<REPRO_CACHE>/pyiqa_hub``), ``torch.hub`` is pointed there and ``HF_HUB_OFFLINE=1`` is set, so
pyiqa finds everything locally and cannot download. Metrics are created once per
(name, device) and cached.

FID is a set-level metric: :func:`fid` takes two folders (or two lists of uint8 images) and
returns one number; it cannot be averaged over images.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from repro.checksums import sha256_file
from repro.errors import DataError, MissingWeightsError, ReproError, WeightsError
from repro.paths import cache_dir, weights_dirs

__all__ = [
    "PYIQA_METRICS",
    "MetricBackendError",
    "PyiqaMetric",
    "WeightFile",
    "backend_available",
    "fid",
    "find_weight",
    "pyiqa_score",
    "pyiqa_status",
]

INSTALL_HINT = (
    "pip install pyiqa, with a torchvision build matching this torch "
    f"({torch.__version__}) installed first (pyiqa imports torchvision, timm and clip)"
)


class MetricBackendError(ReproError):
    """A metric whose backend library is not importable here (NOT-IMPLEMENTED for the tables)."""

    reason = "NOT-IMPLEMENTED"


@dataclass(frozen=True)
class WeightFile:
    """A file pyiqa (or a backbone it builds) would download."""

    name: str  # file name (or "org/repo" for a Hugging Face repository, cache="hf")
    cache: str  # "pyiqa" (torch hub dir/pyiqa), "torch" (torch hub dir/checkpoints), "hf"
    what: str
    sha256: str | None = None  # full digest where published; else the prefix in the name

    @property
    def expected_prefix(self) -> str | None:
        if self.sha256:
            return self.sha256
        stem = self.name.rsplit(".", 1)[0]
        tail = stem.rsplit("-", 1)[-1] if "-" in stem else ""
        if len(tail) >= 8 and all(c in "0123456789abcdef" for c in tail):
            return tail
        return None


@dataclass(frozen=True)
class PyiqaMetric:
    name: str  # our registry name
    pyiqa_name: str  # name for pyiqa.create_metric
    kind: str  # "full-reference" | "no-reference" | "set-level"
    higher_is_better: bool
    range: tuple[float, float]
    files: tuple[WeightFile, ...]
    description: str


_VGG16 = WeightFile(
    "vgg16-397923af.pth", "torch", "torchvision VGG16 IMAGENET1K_V1 (DISTS backbone)"
)
PYIQA_METRICS: dict[str, PyiqaMetric] = {
    m.name: m
    for m in (
        PyiqaMetric(
            "dists",
            "dists",
            "full-reference",
            False,
            (0.0, 1.0),
            (WeightFile("DISTS_weights-f5e65c96.pth", "pyiqa", "DISTS alpha/beta"), _VGG16),
            "DISTS (Ding et al. 2020), pyiqa 'dists' (VGG16); full image, RGB",
        ),
        PyiqaMetric(
            "musiq",
            "musiq",
            "no-reference",
            True,
            (0.0, 100.0),
            (WeightFile("musiq_koniq_ckpt-e95806b9.pth", "pyiqa", "MUSIQ trained on KonIQ-10k"),),
            "MUSIQ (Ke et al. 2021), pyiqa 'musiq' (KonIQ-10k weights, multi-scale input)",
        ),
        PyiqaMetric(
            "maniqa",
            "maniqa",
            "no-reference",
            True,
            (0.0, 1.0),
            (
                WeightFile("ckpt_koniq10k.pt", "pyiqa", "MANIQA trained on KonIQ-10k"),
                WeightFile(
                    "timm/vit_base_patch8_224.augreg2_in21k_ft_in1k",
                    "hf",
                    "timm ViT-B/8 that pyiqa builds before loading MANIQA",
                ),
            ),
            "MANIQA (Yang et al. 2022), pyiqa 'maniqa' (KonIQ-10k); mean of 20 random 224 "
            "crops, seeded (protocol key iqa_seed, default 0)",
        ),
        PyiqaMetric(
            "clipiqa",
            "clipiqa",
            "no-reference",
            True,
            (0.0, 1.0),
            (
                WeightFile(
                    "RN50.pt",
                    "pyiqa",
                    "OpenAI CLIP RN50",
                    sha256="afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762",
                ),
            ),
            "CLIP-IQA (Wang et al. 2023), pyiqa 'clipiqa' (CLIP RN50, antonym prompt pairs)",
        ),
        PyiqaMetric(
            "fid",
            "fid",
            "set-level",
            False,
            (0.0, float("inf")),
            (
                WeightFile(
                    "pt_inception-2015-12-05-6726825d.pth", "pyiqa", "FID InceptionV3 (pytorch-fid)"
                ),
            ),
            "FID between two image sets (pyiqa 'fid', clean-fid resize); set-level: use "
            "repro.metrics.iqa.fid(set_a, set_b)",
        ),
    )
}


# --------------------------------------------------------------------------------------------
# availability


@functools.lru_cache(maxsize=1)
def pyiqa_status() -> tuple[bool, str]:
    """(True, version) when pyiqa imports; (False, why) otherwise. Imported once per process."""
    try:
        mod = importlib.import_module("pyiqa")
    except Exception as exc:  # ImportError, or torchvision failing to load its C++ ops
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return False, f"{type(exc).__name__}: {first}"
    return True, str(getattr(mod, "__version__", "unknown"))


def _torch_hub_dir() -> Path:
    return Path(torch.hub.get_dir())


def _hf_cache_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        dirs.append(Path(os.environ["HF_HOME"]) / "hub")
    dirs.append(Path.home() / ".cache" / "huggingface" / "hub")
    return dirs


def _search_dirs(f: WeightFile) -> list[Path]:
    dirs: list[Path] = []
    for root in weights_dirs():
        dirs += [root / "pyiqa", root]
    hub = _torch_hub_dir()
    dirs += [hub / "pyiqa", hub / "checkpoints"] if f.cache != "hf" else []
    return dirs


def find_weight(f: WeightFile) -> Path | None:
    """The local file (or HF cache snapshot folder) for ``f``, or None."""
    if f.cache == "hf":
        folder = "models--" + f.name.replace("/", "--")
        for root in [*(d / "hf" for d in weights_dirs()), *_hf_cache_dirs()]:
            snaps = root / folder / "snapshots"
            if snaps.is_dir() and any(snaps.iterdir()):
                return root / folder
        return None
    for d in _search_dirs(f):
        cand = d / f.name
        if cand.is_file():
            return cand
    return None


def _where(f: WeightFile) -> str:
    if f.cache == "hf":
        return f"the Hugging Face cache (~/.cache/huggingface/hub, repository {f.name})"
    return f"$REPRO_WEIGHTS/pyiqa/{f.name}"


def _missing(metric: PyiqaMetric) -> list[WeightFile]:
    return [f for f in metric.files if find_weight(f) is None]


def _files_hint(metric: PyiqaMetric) -> str:
    return "; ".join(f"{f.what} -> {_where(f)}" for f in metric.files)


def backend_available(name: str) -> tuple[bool, str]:
    """(True, "") when the pyiqa metric ``name`` can run here; else (False, "CODE: why")."""
    metric = PYIQA_METRICS[name]
    ok, why = pyiqa_status()
    if not ok:
        return False, f"NOT-IMPLEMENTED: {_not_importable_message(metric, why)}"
    missing = _missing(metric)
    if missing:
        return False, f"MISSING-WEIGHTS: {_missing_weights_message(metric, missing)}"
    return True, ""


def _not_importable_message(metric: PyiqaMetric, why: str) -> str:
    return (
        f"metric '{metric.name}' needs pyiqa, which cannot be imported here ({why}): "
        f"{INSTALL_HINT}; then provide its weights offline: {_files_hint(metric)}"
    )


def _missing_weights_message(metric: PyiqaMetric, missing: Sequence[WeightFile]) -> str:
    return (
        f"weights for '{metric.name}' not found locally (no download is attempted): "
        + "; ".join(f"{f.what} -> {_where(f)}" for f in missing)
    )


# --------------------------------------------------------------------------------------------
# creation (offline) and scoring


def _verify(f: WeightFile, path: Path) -> None:
    want = f.expected_prefix
    if not want or f.cache == "hf":
        return
    digest = sha256_file(path)
    if not digest.startswith(want):
        raise WeightsError(
            f"{path} has sha256 {digest[:12]}..., expected {want[:12]}...; the file is corrupt "
            f"or a different checkpoint: replace it ({f.what})"
        )


def _stage(metric: PyiqaMetric) -> Path:
    """A private torch hub folder with links to the verified local files."""
    stage = cache_dir() / "pyiqa_hub"
    for f in metric.files:
        if f.cache == "hf":
            continue
        src = find_weight(f)
        if src is None:
            raise MissingWeightsError(_missing_weights_message(metric, [f]))
        _verify(f, src)
        for sub in ("pyiqa", "checkpoints"):
            dst = stage / sub / f.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.is_symlink() or dst.exists():
                if dst.resolve() == src.resolve():
                    continue
                dst.unlink()
            try:
                dst.symlink_to(src.resolve())
            except OSError:  # file systems without symlinks
                import shutil

                shutil.copyfile(src, dst)
    return stage


@contextlib.contextmanager
def _offline_hub(stage: Path) -> Iterator[None]:
    old_dir = torch.hub.get_dir()
    old_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    torch.hub.set_dir(str(stage))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        dl = importlib.import_module("pyiqa.utils.download_util")
        old_cache = getattr(dl, "DEFAULT_CACHE_DIR", None)
        if old_cache is not None:  # fixed at pyiqa's import time
            dl.DEFAULT_CACHE_DIR = str(stage / "pyiqa")
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


def _require(name: str) -> PyiqaMetric:
    metric = PYIQA_METRICS[name]
    ok, why = pyiqa_status()
    if not ok:
        raise MetricBackendError(_not_importable_message(metric, why))
    missing = _missing(metric)
    if missing:
        raise MissingWeightsError(_missing_weights_message(metric, missing))
    return metric


def _device(device: str | torch.device | None) -> str:
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


@functools.lru_cache(maxsize=8)
def _create(name: str, device: str):
    metric = _require(name)
    stage = _stage(metric)
    with _offline_hub(stage):
        import pyiqa

        try:
            return pyiqa.create_metric(
                metric.pyiqa_name, device=torch.device(device), as_loss=False
            )
        except OSError as exc:  # a download attempted despite the checks
            raise MissingWeightsError(
                f"pyiqa tried to fetch a file for '{name}' that is not local ({exc}); "
                f"put it in $REPRO_WEIGHTS/pyiqa/ (expected files: {_files_hint(metric)})"
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

    Inputs are uint8 (H, W, C) RGB arrays, passed to pyiqa as [0, 1] float tensors. ``seed``
    fixes torch's RNG inside the call (MANIQA's random crops) without touching the global state.
    """
    metric = _require(name)  # the install / weights message first, whatever the arguments
    if metric.kind == "set-level":
        raise DataError(f"'{name}' is set-level; call repro.metrics.iqa.fid(set_a, set_b)")
    want = 2 if metric.kind == "full-reference" else 1
    if len(images) != want:
        raise DataError(f"'{name}' takes {want} image(s), got {len(images)}")
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
