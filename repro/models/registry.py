"""One registry of model variants (in the spirit of timm's and spandrel's): id -> ModelInfo.

Model ids are lowercase ``family-variant`` (``bicubic``, ``camixersr-s``, ``esc-light``,
``nafssr-t``). Each family package declares its variants as ``MODELS`` in its ``__init__``;
:data:`FAMILIES` lists the families, so adding a model is one package plus one line here. The
families are imported with this module, so a family that fails to import fails here, loudly.
(Importing them takes ~0.1 s beside torch, which they all need; commands that use no model,
like ``repro ls tables``, do not import this module.)
"""

from __future__ import annotations

import torch.nn as nn

from repro.errors import ReproError, UnknownNameError, did_you_mean
from repro.models.bicubic import MODELS as BICUBIC
from repro.models.camixersr import MODELS as CAMIXERSR
from repro.models.esc import MODELS as ESC
from repro.models.info import ModelInfo
from repro.models.nafssr import MODELS as NAFSSR

FAMILIES: tuple[tuple[ModelInfo, ...], ...] = (BICUBIC, CAMIXERSR, ESC, NAFSSR)


def _index(families: tuple[tuple[ModelInfo, ...], ...]) -> dict[str, ModelInfo]:
    """Models by id; a repeated id or a default checkpoint missing from its family's catalogue
    is a bug in a family package."""
    models: dict[str, ModelInfo] = {}
    for family in families:
        for info in family:
            if info.id in models:
                raise ValueError(f"model id registered twice: {info.id}")
            for entry in info.weights.values():
                if info.catalogue.get(entry.id) is not entry:
                    raise ValueError(
                        f"{info.id}: default weights '{entry.id}' are not in its catalogue"
                    )
            models[info.id] = info
    return dict(sorted(models.items()))


_MODELS = _index(FAMILIES)


def all_models() -> dict[str, ModelInfo]:
    return dict(_MODELS)


# Names the papers use for registered variants.
ALIASES = {"esc-base": "esc", "esc-lt": "esc-light"}


def get(model_id: str) -> ModelInfo:
    key = ALIASES.get(model_id.lower(), model_id.lower())
    if key not in _MODELS:
        raise UnknownNameError(
            f"unknown model '{model_id}'; {did_you_mean(key, _MODELS)} "
            "(list them with: repro ls models)"
        )
    return _MODELS[key]


def build(family: str, variant: str | None = None, scale: int = 4, **settings) -> nn.Module:
    """Build a model with the official key names, e.g. ``build("camixersr", "s", 4, ratio=0.5)``.

    Weights are not loaded here; see :func:`repro.eval.predictor.load_model`.
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
