"""One table of metrics (in the spirit of pyiqa's ``default_model_configs``).

Every metric is a :class:`MetricSpec`: its name, a callable, its direction, its range, its kind
and a one-line description. Calling conventions, by kind:

``full-reference``
    ``spec.fn(sr, hr, **protocol) -> float``; ``sr``/``hr`` are uint8 ``(H, W, C)`` arrays
    (stereo metrics: ``(H, W, 6)``, left view in channels 0-2).
``no-reference``
    ``spec.fn(img, **protocol) -> float``.
``complexity``
    ``spec.fn(model, **protocol) -> float`` (e.g. FLOPs for an input size in the protocol).

``protocol`` is the protocol block of a table spec; each metric reads the keys it knows
(``spec.protocol_keys``) and ignores the rest, so one protocol dict serves every metric of a
table. Keys read by the built-in metrics:

- ``channel``: 'y' | 'rgb' | 'gray' (fidelity metrics without a fixed channel);
- ``crop``: border pixels removed; ``gray``: 'gray' | 'rgb3' (see :mod:`repro.metrics.fidelity`);
- ``ssim``: the SSIM kind, 'matlab' | 'skimage';
- ``stereo``: 'pair_mean' | 'left_crop64' (stereo metrics; they always score RGB, crop 0).

Adding metrics (LPIPS, DISTS, NIQE, MUSIQ, MANIQA, CLIPIQA, FLOPs, ...): write a module that
calls :func:`register` at import time with a :class:`MetricSpec` whose ``fn`` follows the
convention of its kind and accepts ``**protocol`` (use :func:`protocol_adapter` to pick the
keys it reads), then add the module's name to :data:`EXTENSION_MODULES`. Those modules are
imported lazily by :func:`all_metrics`/:func:`get_metric` (a module not written yet is skipped),
so heavy dependencies (pyiqa, fvcore) are only loaded when a metric list is asked for.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from repro.errors import UnknownNameError, did_you_mean
from repro.metrics import fidelity, spherical
from repro.metrics.stereo import split_pair, stereo_scores

METRIC_KINDS = ("full-reference", "no-reference", "complexity")

# Modules that register more metrics when imported (lazily, see the module docstring).
EXTENSION_MODULES: tuple[str, ...] = (
    "repro.metrics.iqa",
    "repro.metrics.complexity",
)


@dataclass(frozen=True)
class MetricSpec:
    """One metric: what it is called, how to call it and how to read its values."""

    name: str
    fn: Callable[..., float]
    higher_is_better: bool
    range: tuple[float, float]
    kind: str  # one of METRIC_KINDS
    description: str = ""
    protocol_keys: tuple[str, ...] = ()  # protocol keys fn reads (the rest are ignored)

    def __call__(self, *images: Any, **protocol: Any) -> float:
        return self.fn(*images, **protocol)


_REGISTRY: dict[str, MetricSpec] = {}


def register(spec: MetricSpec) -> MetricSpec:
    """Add a metric to the table; names are lowercase and unique."""
    if spec.kind not in METRIC_KINDS:
        raise ValueError(f"metric {spec.name}: kind {spec.kind!r} is not one of {METRIC_KINDS}")
    if spec.name != spec.name.lower():
        raise ValueError(f"metric names are lowercase: {spec.name!r}")
    if spec.name in _REGISTRY:
        raise ValueError(f"metric registered twice: {spec.name}")
    _REGISTRY[spec.name] = spec
    return spec


def protocol_adapter(
    impl: Callable[..., float],
    keys: Mapping[str, str],
    fixed: Mapping[str, Any] | None = None,
) -> Callable[..., float]:
    """Wrap ``impl`` so it takes ``(*images, **protocol)`` and ignores unknown protocol keys.

    ``keys`` maps a protocol key to ``impl``'s keyword (e.g. ``{"ssim": "kind"}``); ``fixed``
    keywords override the protocol (``psnr_y`` fixes ``channel='y'``).
    """
    keys = dict(keys)
    fixed = dict(fixed or {})

    def fn(*images: Any, **protocol: Any) -> float:
        kwargs = {arg: protocol[key] for key, arg in keys.items() if key in protocol}
        kwargs.update(fixed)
        return impl(*images, **kwargs)

    fn.__name__ = getattr(impl, "__name__", "metric")
    fn.__doc__ = impl.__doc__
    return fn


def _import_extensions() -> None:
    for name in EXTENSION_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an extension not written yet
            if exc.name != name:
                raise


def all_metrics() -> dict[str, MetricSpec]:
    """Every registered metric, by name (sorted)."""
    _import_extensions()
    return dict(sorted(_REGISTRY.items()))


def get_metric(name: str) -> MetricSpec:
    """The metric called ``name`` (case-insensitive); UnknownNameError with a hint otherwise."""
    metrics = all_metrics()
    key = str(name).lower()
    if key not in metrics:
        raise UnknownNameError(
            f"unknown metric '{name}'; {did_you_mean(key, metrics)} "
            f"(known metrics: {', '.join(metrics)})"
        )
    return metrics[key]


# ---------------------------------------------------------------------------------------------
# built-in fidelity metrics

_FID_KEYS = {"channel": "channel", "crop": "crop", "gray": "gray"}
_SSIM_KEYS = {**_FID_KEYS, "ssim": "kind"}
_FIXED_KEYS = {"crop": "crop", "gray": "gray"}
_PSNR_RANGE = (0.0, math.inf)
_SSIM_RANGE = (-1.0, 1.0)


def _stereo_psnr(sr, hr, *, stereo: str = "pair_mean") -> float:
    (sl, sr_), (hl, hr_) = split_pair(sr, "SR stereo pair"), split_pair(hr, "HR stereo pair")
    return stereo_scores(sl, sr_, hl, hr_, protocol=stereo)["psnr"]


def _stereo_ssim(sr, hr, *, stereo: str = "pair_mean", kind: str = "skimage") -> float:
    (sl, sr_), (hl, hr_) = split_pair(sr, "SR stereo pair"), split_pair(hr, "HR stereo pair")
    return stereo_scores(sl, sr_, hl, hr_, protocol=stereo, ssim_kind=kind)["ssim"]


def _register_builtins() -> None:
    fr = "full-reference"
    specs = [
        MetricSpec(
            "psnr",
            protocol_adapter(fidelity.psnr, _FID_KEYS),
            True,
            _PSNR_RANGE,
            fr,
            "PSNR (dB, peak 255); channel, crop and gray policy from the protocol (default Y)",
            tuple(_FID_KEYS),
        ),
        MetricSpec(
            "ssim",
            protocol_adapter(fidelity.ssim, _SSIM_KEYS),
            True,
            _SSIM_RANGE,
            fr,
            "SSIM, mean over channels; channel/crop/gray and kind (protocol key 'ssim': "
            "'matlab' Gaussian 11x11 valid, or 'skimage' 7x7 uniform) from the protocol",
            tuple(_SSIM_KEYS),
        ),
        MetricSpec(
            "psnr_y",
            protocol_adapter(fidelity.psnr, _FIXED_KEYS, {"channel": "y"}),
            True,
            _PSNR_RANGE,
            fr,
            "PSNR on BT.601 Y (MATLAB rgb2ycbcr, float), crop/gray from the protocol",
            tuple(_FIXED_KEYS),
        ),
        MetricSpec(
            "ssim_y",
            protocol_adapter(fidelity.ssim, {**_FIXED_KEYS, "ssim": "kind"}, {"channel": "y"}),
            True,
            _SSIM_RANGE,
            fr,
            "SSIM on BT.601 Y (MATLAB ssim_index by default), crop/gray/kind from the protocol",
            (*_FIXED_KEYS, "ssim"),
        ),
        MetricSpec(
            "psnr_rgb",
            protocol_adapter(fidelity.psnr, _FIXED_KEYS, {"channel": "rgb"}),
            True,
            _PSNR_RANGE,
            fr,
            "PSNR over the RGB channels, crop/gray from the protocol",
            tuple(_FIXED_KEYS),
        ),
        MetricSpec(
            "ssim_rgb",
            protocol_adapter(fidelity.ssim, {**_FIXED_KEYS, "ssim": "kind"}, {"channel": "rgb"}),
            True,
            _SSIM_RANGE,
            fr,
            "SSIM averaged over the RGB channels, crop/gray/kind from the protocol",
            (*_FIXED_KEYS, "ssim"),
        ),
        MetricSpec(
            "ws_psnr",
            protocol_adapter(spherical.ws_psnr, _FID_KEYS),
            True,
            _PSNR_RANGE,
            fr,
            "WS-PSNR of equirectangular images (rows weighted by cos latitude); default RGB",
            tuple(_FID_KEYS),
        ),
        MetricSpec(
            "ws_ssim",
            protocol_adapter(spherical.ws_ssim, _FID_KEYS),
            True,
            _SSIM_RANGE,
            fr,
            "WS-SSIM of equirectangular images (SSIM map rows weighted); default RGB",
            tuple(_FID_KEYS),
        ),
        MetricSpec(
            "stereo_psnr",
            protocol_adapter(_stereo_psnr, {"stereo": "stereo"}),
            True,
            _PSNR_RANGE,
            fr,
            "stereo PSNR of (H, W, 6) pairs, RGB crop 0: protocol key 'stereo' = 'pair_mean' "
            "(mean of both views) or 'left_crop64' (left view minus its first 64 columns)",
            ("stereo",),
        ),
        MetricSpec(
            "stereo_ssim",
            protocol_adapter(_stereo_ssim, {"stereo": "stereo", "ssim": "kind"}),
            True,
            _SSIM_RANGE,
            fr,
            "stereo SSIM of (H, W, 6) pairs: NAFSSR's skimage SSIM on the 6-channel pair by "
            "default (protocol key 'ssim'), protocol key 'stereo' as for stereo_psnr",
            ("stereo", "ssim"),
        ),
    ]
    for spec in specs:
        register(spec)


_register_builtins()
