"""Perceptual and no-reference IQA metrics for the real-world SR tables (ESC Table 8).

Registered here (imported lazily by :mod:`repro.metrics.registry`):

========  ==============  =========  ==============  ============================================
name      kind            better     range           implementation
========  ==============  =========  ==============  ============================================
lpips     full-reference  lower      [0, inf)        :mod:`repro.metrics.lpips`, plain torch
niqe      no-reference    lower      [0, inf)        :mod:`repro.metrics.niqe`, numpy/scipy
dists     full-reference  lower      [0, 1]          pyiqa (:mod:`repro.metrics.pyiqa_backend`)
musiq     no-reference    higher     [0, 100]        pyiqa
maniqa    no-reference    higher     [0, 1]          pyiqa
clipiqa   no-reference    higher     [0, 1]          pyiqa
fid       set-level       lower      [0, inf)        pyiqa; :func:`fid`, not per image
========  ==============  =========  ==============  ============================================

Calling conventions follow the registry: ``fn(sr, hr, **protocol)`` / ``fn(img, **protocol)``
with uint8 (H, W, C) images. Protocol keys read here (all optional; unknown keys are ignored):

- ``iqa_crop`` (default 0): border pixels removed before LPIPS/NIQE. Deliberately not the
  fidelity ``crop`` key: the published real-world numbers use the IQA tools' defaults (no crop),
  while PSNR/SSIM in the same table crop ``scale`` pixels;
- ``niqe_color`` (default ``"ycbcr"``): NIQE luminance, ``"ycbcr"`` (BT.601 Y, MATLAB/BasicSR,
  reproduces the MATLAB oracle) or ``"yiq"`` (pyiqa's ``niqe`` default);
- ``iqa_device`` (default: CUDA when available): where the networks run;
- ``iqa_seed`` (default 0): RNG seed for metrics with random crops (MANIQA).

FID is set-level (one value for two image sets). It is registered so that tables can name it,
but its per-image ``fn`` raises :class:`SetLevelMetricError`; compute it with
``fid(set_a, set_b)`` where each set is a folder or a sequence of uint8 images.

:func:`metric_available` tells a table runner, without computing anything, whether a metric can
run here: ``(True, "")`` or ``(False, "NOT-IMPLEMENTED: ...")`` / ``(False, "MISSING-WEIGHTS:
...")``, the reason codes of :data:`repro.tables.compare.NOT_RUN_REASONS`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import torch

from repro.errors import ReproError
from repro.metrics import pyiqa_backend
from repro.metrics.lpips import find_lpips_weights, lpips, lpips_batch
from repro.metrics.niqe import find_niqe_params, niqe
from repro.metrics.pyiqa_backend import PYIQA_METRICS, MetricBackendError, pyiqa_score
from repro.metrics.registry import MetricSpec, get_metric, protocol_adapter, register

__all__ = [
    "IQA_METRICS",
    "SET_LEVEL_METRICS",
    "MetricBackendError",
    "SetLevelMetricError",
    "fid",
    "is_set_level",
    "lpips",
    "lpips_batch",
    "metric_available",
    "niqe",
]

#: Metrics registered by this module.
IQA_METRICS = ("lpips", "niqe", "dists", "musiq", "maniqa", "clipiqa", "fid")
#: Metrics that give one value per pair of image sets, not per image.
SET_LEVEL_METRICS = ("fid",)


class SetLevelMetricError(ReproError):
    """A set-level metric (FID) called on a single image."""


def is_set_level(name: str) -> bool:
    return str(name).lower() in SET_LEVEL_METRICS


def fid(
    set_a: str | os.PathLike | Sequence[np.ndarray],
    set_b: str | os.PathLike | Sequence[np.ndarray],
    *,
    device: str | torch.device | None = None,
    mode: str = "clean",
) -> float:
    """FID between two image sets: folders or sequences of uint8 (H, W, 3) images (via pyiqa).

    Typical use: ``fid(sr_folder, hr_folder)`` over a whole dataset. Lower is better. Raises
    :class:`MetricBackendError` when pyiqa is not importable, MissingWeightsError without the
    InceptionV3 weights (``pt_inception-2015-12-05-6726825d.pth`` in ``$REPRO_WEIGHTS/pyiqa/``).
    """
    return pyiqa_backend.fid(set_a, set_b, device=device, mode=mode)


def metric_available(name: str) -> tuple[bool, str]:
    """Whether ``name`` can be computed here, without computing it.

    Returns ``(True, "")`` or ``(False, reason)``, ``reason`` = ``"NOT-IMPLEMENTED: ..."`` (the
    backend library is not importable) or ``"MISSING-WEIGHTS: ..."`` (weights not found
    locally), each followed by what to do. Metrics not defined here are available when they are
    registered (UnknownNameError otherwise).
    """
    key = str(name).lower()
    if key in PYIQA_METRICS:
        return pyiqa_backend.backend_available(key)
    if key == "lpips":
        missing = [n for n, p in find_lpips_weights().items() if p is None]
        if missing:
            return False, (
                f"MISSING-WEIGHTS: LPIPS weights {', '.join(missing)} not found; put them in "
                "$REPRO_WEIGHTS/lpips/ (see shared/weights/README.md)"
            )
        return True, ""
    if key == "niqe":
        if find_niqe_params() is None:
            return False, (
                "MISSING-WEIGHTS: NIQE model niqe_pris_params.npz not found; put BasicSR's "
                "basicsr/metrics/niqe_pris_params.npz in $REPRO_WEIGHTS/niqe/"
            )
        return True, ""
    get_metric(key)  # raises UnknownNameError for unknown names
    return True, ""


# ---------------------------------------------------------------------------------------------
# registration


def _pyiqa_fn(name: str):
    def impl(*images, device=None, seed=0):
        return pyiqa_score(name, *images, device=device, seed=seed)

    impl.__name__ = name
    impl.__doc__ = PYIQA_METRICS[name].description
    return protocol_adapter(impl, {"iqa_device": "device", "iqa_seed": "seed"})


def _fid_per_image(*_images, **_protocol) -> float:
    raise SetLevelMetricError(
        "fid is a set-level metric (one value for two image sets), not a per-image one: call "
        "repro.metrics.iqa.fid(sr_images_or_folder, hr_images_or_folder)"
    )


def _register() -> None:
    fr, nr = "full-reference", "no-reference"
    register(
        MetricSpec(
            "lpips",
            protocol_adapter(lpips, {"iqa_crop": "crop", "iqa_device": "device"}),
            False,
            (0.0, math.inf),
            fr,
            "LPIPS v0.1, AlexNet (official lpips / pyiqa 'lpips'), RGB in [-1, 1], whole image "
            "unless protocol key iqa_crop",
            ("iqa_crop", "iqa_device"),
        )
    )
    register(
        MetricSpec(
            "niqe",
            protocol_adapter(niqe, {"iqa_crop": "crop", "niqe_color": "color"}),
            False,
            (0.0, math.inf),
            nr,
            "NIQE (MATLAB niqe / BasicSR calculate_niqe): rounded BT.601 Y, 96x96 blocks, crop "
            "iqa_crop (0); niqe_color='yiq' for pyiqa's luminance",
            ("iqa_crop", "niqe_color"),
        )
    )
    for m in PYIQA_METRICS.values():
        if m.kind == "set-level":
            fn, kind, keys = _fid_per_image, fr, ()
        else:
            fn, kind, keys = _pyiqa_fn(m.name), m.kind, ("iqa_device", "iqa_seed")
        register(MetricSpec(m.name, fn, m.higher_is_better, m.range, kind, m.description, keys))


_register()
