"""Perceptual and no-reference IQA metrics for the real-world SR tables (ESC Table 8).

The entries of :data:`METRICS` hold each metric's facts (kind, direction, range, decimals).
LPIPS (:mod:`repro.metrics.lpips`), DISTS (:mod:`repro.metrics.dists`) and NIQE
(:mod:`repro.metrics.niqe`) are plain torch/numpy; MUSIQ, MANIQA, CLIPIQA and FID run through
pyiqa (:mod:`repro.metrics.pyiqa_backend`, the optional ``iqa`` extra).

Calling conventions follow the registry: ``fn(sr, hr, **protocol)`` / ``fn(img, **protocol)``
with uint8 (H, W, C) images. Protocol keys read here (all optional; unknown keys are ignored):

- ``iqa_crop`` (default 0): border pixels removed before LPIPS/DISTS/NIQE. Deliberately not the
  fidelity ``crop`` key: the published real-world numbers use the IQA tools' defaults (no crop),
  while PSNR/SSIM in the same table crop ``scale`` pixels;
- ``niqe_color`` (default ``"ycbcr"``): NIQE luminance, ``"ycbcr"`` (BT.601 Y, MATLAB/BasicSR,
  reproduces the MATLAB oracle) or ``"yiq"`` (pyiqa's ``niqe`` default);
- ``iqa_device`` (default: CUDA when available): where the networks run;
- ``iqa_seed`` (default 0): torch/numpy RNG seed inside a pyiqa call, so that a metric with
  random sampling could never make a score depend on call order (none registered samples now).

FID is set-level (one value for two image sets). It is registered so that tables can name it,
but its per-image ``fn`` raises :class:`~repro.metrics.spec.SetLevelMetricError`; compute it
with ``fid(set_a, set_b)`` where each set is a folder or a sequence of uint8 images.

``get_metric(name).check_ready()`` tells a table runner, without computing anything, whether a
metric can run here: it raises :class:`~repro.errors.NotRun` (MISSING-EXTRA when the backend
library is not importable, MISSING-WEIGHTS when weights are not found locally).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

from repro.metrics import pyiqa_backend
from repro.metrics.dists import DISTS_WEIGHTS, dists
from repro.metrics.lpips import LPIPS_WEIGHTS, lpips
from repro.metrics.niqe import NIQE_WEIGHTS, niqe
from repro.metrics.pyiqa_backend import PYIQA_METRICS, pyiqa_score, require_pyiqa
from repro.metrics.spec import MetricKind, MetricSpec


def fid(
    set_a: str | os.PathLike | Sequence[np.ndarray],
    set_b: str | os.PathLike | Sequence[np.ndarray],
    *,
    device: str | torch.device | None = None,
    mode: str = "clean",
) -> float:
    """FID between two image sets: folders or sequences of uint8 (H, W, 3) images (via pyiqa).

    Typical use: ``fid(sr_folder, hr_folder)`` over a whole dataset. Lower is better. Raises
    :class:`~repro.errors.NotRun` when pyiqa is not importable, MissingWeightsError without the
    InceptionV3 weights (``pt_inception-2015-12-05-6726825d.pth`` in ``$REPRO_WEIGHTS/pyiqa/``).
    """
    return pyiqa_backend.fid(set_a, set_b, device=device, mode=mode)


def _pyiqa_impl(name: str):
    def impl(*images, device=None, seed=0):
        return pyiqa_score(name, *images, device=device, seed=seed)

    impl.__name__ = name
    return impl


_PYIQA_KEYS = {"iqa_device": "device", "iqa_seed": "seed"}


def _pyiqa(name: str, kind: MetricKind, higher: bool, top: float, description: str):
    return MetricSpec(
        name,
        kind,
        higher,
        (0.0, top),
        description,
        impl=_pyiqa_impl(name),
        protocol_keys=_PYIQA_KEYS,
        decimals=4 if top <= 1 else 3,
        weights=PYIQA_METRICS[name].weights,
        weights_label=f"weights for '{name}'",
        requires=partial(require_pyiqa, name),
    )


METRICS = (
    MetricSpec(
        "lpips",
        MetricKind.PERCEPTUAL,
        False,
        (0.0, math.inf),
        "LPIPS v0.1, AlexNet (official lpips / pyiqa 'lpips'), RGB in [-1, 1], whole image "
        "unless protocol key iqa_crop",
        impl=lpips,
        protocol_keys={"iqa_crop": "crop", "iqa_device": "device"},
        decimals=4,
        weights=LPIPS_WEIGHTS,
        weights_label="LPIPS weights",
    ),
    MetricSpec(
        "niqe",
        MetricKind.NO_REFERENCE,
        False,
        (0.0, math.inf),
        "NIQE (MATLAB niqe / BasicSR calculate_niqe): rounded BT.601 Y, 96x96 blocks, crop "
        "iqa_crop (0); niqe_color='yiq' for pyiqa's luminance",
        impl=niqe,
        protocol_keys={"iqa_crop": "crop", "niqe_color": "color"},
        weights=NIQE_WEIGHTS,
        weights_label="NIQE model",
    ),
    MetricSpec(
        "dists",
        MetricKind.PERCEPTUAL,
        False,
        (0.0, 1.0),
        "DISTS (Ding et al. 2020, original DISTS_pytorch / pyiqa 'dists'), VGG16, RGB in [0, 1], "
        "whole image unless protocol key iqa_crop",
        impl=dists,
        protocol_keys={"iqa_crop": "crop", "iqa_device": "device"},
        decimals=4,
        weights=DISTS_WEIGHTS,
        weights_label="DISTS weights",
    ),
    _pyiqa(
        "musiq",
        MetricKind.NO_REFERENCE,
        True,
        100.0,
        "MUSIQ (Ke et al. 2021), pyiqa 'musiq' (KonIQ-10k weights, multi-scale input)",
    ),
    _pyiqa(
        "maniqa",
        MetricKind.NO_REFERENCE,
        True,
        1.0,
        "MANIQA (Yang et al. 2022), pyiqa 'maniqa' (KonIQ-10k); mean over 20 224x224 crops on a "
        "fixed grid (deterministic)",
    ),
    _pyiqa(
        "clipiqa",
        MetricKind.NO_REFERENCE,
        True,
        1.0,
        "CLIP-IQA (Wang et al. 2023), pyiqa 'clipiqa' (CLIP RN50, antonym prompt pairs)",
    ),
    MetricSpec(
        "fid",
        MetricKind.PERCEPTUAL,
        False,
        (0.0, math.inf),
        "FID between two image sets (pyiqa 'fid', clean-fid resize); set-level: a table run "
        "scores a dataset's SR outputs against its HR images",
        impl=fid,
        protocol_keys={"iqa_device": "device"},
        set_level=True,
        weights=PYIQA_METRICS["fid"].weights,
        weights_label="weights for 'fid'",
        requires=partial(require_pyiqa, "fid"),
    ),
)
