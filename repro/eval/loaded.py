"""A model loaded for a run, with the one decision of where it runs.

:func:`load` builds a registered model, applies its weights (:func:`repro.eval.predictor.
load_model`) and places it: on the device the run asked for, except for a model that works on
the uint8 image itself (bicubic), which runs on the CPU whatever is asked
(:func:`repro.eval.predictor.placement`). Everything that runs the model afterwards reads
``LoadedModel.device`` instead of deciding again.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from repro.eval.predictor import load_model, placement
from repro.models import registry


@dataclass(frozen=True)
class LoadedModel:
    module: torch.nn.Module
    provenance: dict  # model id, scale, settings, weights (path, sha256, key, how verified)
    asked: torch.device  # the device the run asked for
    device: torch.device  # where the model runs


def load(
    model_id: str,
    scale: int,
    settings: dict | None = None,
    *,
    device: torch.device,
    weights_id: str | None = None,
    weights_path: str | None = None,
    weights_key: str | None = None,
    strict: bool = True,
) -> LoadedModel:
    """Build the model, apply its weights (strictly unless ``strict`` is off) and place it
    (MissingWeightsError when its checkpoint is absent here)."""
    ran_on = placement(model_id, device)
    module, prov = load_model(
        model_id,
        scale,
        settings,
        weights_id=weights_id,
        weights_path=weights_path,
        weights_key=weights_key,
        device=ran_on,
        strict=strict,
    )
    return LoadedModel(module, prov, device, ran_on)


def architecture(
    model_id: str,
    scale: int,
    settings: dict | None = None,
    *,
    device: torch.device,
    weights_id: str | None = None,
) -> LoadedModel | None:
    """The model without its weights, placed: params, FLOPs and latency do not depend on the
    weights' values (a row whose checkpoint is absent still measures them).

    A model whose network its checkpoint defines (spandrel) is built from the catalogue entry
    ``weights_id`` names; None when it has none (nothing says what the network is).
    """
    info = registry.get(model_id)
    ran_on = placement(model_id, device)
    if info.from_checkpoint is None:
        module = registry.build(model_id, None, scale, **dict(settings or {}))
    elif info.from_catalogue is not None and weights_id in info.catalogue:
        module = info.from_catalogue(weights_id, scale)
    else:
        return None
    prov = {"model": info.id, "scale": scale, "settings": dict(settings or {})}
    return LoadedModel(module.eval().to(ran_on), {**prov, "weights": None}, device, ran_on)
