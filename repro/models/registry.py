"""One registry of model variants (in the spirit of timm's): id -> how to build it, its weights.

Model ids are lowercase ``family-variant`` (``bicubic``, ``camixersr-s``, ``esc-light``,
``nafssr-t``). Each family module registers its variants at import time with :func:`register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import torch.nn as nn

from repro.errors import ReproError, UnknownNameError, did_you_mean
from repro.weights.entry import WeightsEntry

# Family modules imported lazily by ``all_models``/``get`` so `repro ls tables` stays fast.
FAMILY_MODULES = (
    "repro.models.bicubic",
    "repro.models.camixersr",
    "repro.models.esc",
    "repro.models.nafssr",
)


@dataclass(frozen=True)
class ModelInfo:
    id: str
    family: str
    variant: str
    scales: tuple[int, ...]
    build: Callable[..., nn.Module]  # build(scale=..., **settings) -> nn.Module
    description: str = ""
    weights: dict[int, WeightsEntry] = field(default_factory=dict)  # scale -> checkpoint
    stereo: bool = False  # takes a left/right pair (6 channels)
    any_views: bool = False  # works per channel: single images and stereo pairs alike
    settings: tuple[str, ...] = ()  # names accepted by --set key=value
    needs_weights: bool = True


_REGISTRY: dict[str, ModelInfo] = {}


def register(info: ModelInfo) -> ModelInfo:
    if info.id in _REGISTRY:
        raise ValueError(f"model id registered twice: {info.id}")
    _REGISTRY[info.id] = info
    return info


def _import_families() -> None:
    for name in FAMILY_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a family not written yet
            if exc.name != name:
                raise


def all_models() -> dict[str, ModelInfo]:
    _import_families()
    return dict(sorted(_REGISTRY.items()))


# Names the papers use for registered variants.
ALIASES = {"esc-base": "esc", "esc-lt": "esc-light"}


def get(model_id: str) -> ModelInfo:
    models = all_models()
    key = ALIASES.get(model_id.lower(), model_id.lower())
    if key not in models:
        raise UnknownNameError(
            f"unknown model '{model_id}'; {did_you_mean(key, models)} "
            "(list them with: python -m repro ls models)"
        )
    return models[key]


def build(family: str, variant: str | None = None, scale: int = 4, **settings) -> nn.Module:
    """Build a model with the official key names, e.g. ``build("camixersr", "s", 4, ratio=0.5)``.

    Weights are not loaded here; see :func:`repro.models.weights.load_weights`.
    """
    model_id = family.lower() if variant is None else f"{family}-{variant}".lower()
    info = get(model_id)
    if scale not in info.scales:
        raise ReproError(
            f"model '{info.id}' has no x{scale} variant; available scales: "
            + ", ".join(f"x{s}" for s in info.scales)
        )
    unknown = set(settings) - set(info.settings)
    if unknown:
        raise ReproError(
            f"model '{info.id}' does not take setting(s) {sorted(unknown)}; "
            f"it takes: {list(info.settings) or 'none'}"
        )
    return info.build(scale=scale, **settings)
