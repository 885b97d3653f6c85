"""Turn a registered model into ``predict(lr_uint8) -> sr_uint8``, weights loaded and verified.

Model outputs are clamped to [0, 1] and rounded to uint8 before any metric, as the papers do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from repro.errors import MissingWeightsError, NonFiniteOutputError, WeightsError
from repro.imageio import to_rgb3
from repro.models import registry
from repro.models.info import ModelInfo
from repro.models.tiling import tiled_forward
from repro.weights import WeightsEntry, locate
from repro.weights.checkpoint import read_state_dict


def weights_table() -> dict[str, WeightsEntry]:
    """Every released checkpoint by id: the families' catalogues."""
    return {
        entry.id: entry
        for info in registry.all_models().values()
        for entry in info.catalogue.values()
    }


def find_weights_entry(info: ModelInfo, scale: int, weights_id: str | None) -> WeightsEntry | None:
    """The registry entry for a model at a scale, or the named alternative checkpoint of its
    family."""
    if weights_id is None:
        return info.weights.get(scale)
    if weights_id not in info.catalogue:
        raise WeightsError(
            f"unknown weights '{weights_id}' for {info.id}; "
            f"known: {sorted(info.catalogue) or 'none'}"
        )
    return info.catalogue[weights_id]


def load_model(
    model_id: str,
    scale: int,
    settings: dict | None = None,
    *,
    weights_path: str | None = None,
    weights_id: str | None = None,
    weights_key: str | None = None,
    device: str | torch.device = "cpu",
    strict: bool = True,
) -> tuple[torch.nn.Module, dict]:
    """Build a model and apply its weights (strictly, unless ``strict=False``: then only the
    keys that fit, recorded); return it, on the device it runs on (:func:`placement`), with its
    provenance."""
    info = registry.get(model_id)
    settings = dict(settings or {})
    registry.check_request(info, scale, settings)
    # a model read from its checkpoint (spandrel) is made below, with its weights
    module = None if info.from_checkpoint else registry.build(info.id, None, scale, **settings)
    prov = {"model": info.id, "scale": scale, "settings": settings, "weights": None}
    if info.provenance:  # code from outside the package: where it came from, its source hash
        prov["origin"] = dict(info.provenance)
    if not info.needs_weights and (weights_path or weights_key):
        raise WeightsError(
            f"{info.id} has no weights: drop --weights/--weights-key (they would be ignored)"
        )
    if info.needs_weights:
        entry = find_weights_entry(info, scale, weights_id)
        if entry is None and weights_path is None:
            raise MissingWeightsError(
                f"no released checkpoint of {info.id} at x{scale}; pass --weights PATH"
            )
        # verified against the registry's sha256 or the weights lock (a changed file raises
        # ChecksumError); provenance says how: "verified": "registry" | "lock" | "none".
        # weights_path may be hf://owner/repo@commit/path (provenance then keeps it as "url")
        found = locate(entry, weights_path)
        key = weights_key or (entry.key if entry is not None else "params_ema")
        state = read_state_dict(found.path, key)
        module, facts = registry.load_weights(
            info, module, state, scale=scale, source=found.url or str(found.path), strict=strict
        )
        prov["weights"] = {
            **found.provenance(),
            "key": key,
            "id": entry.id if entry is not None else None,
        }
        prov.update(facts)  # a non-strict load's differences; a spandrel model's architecture
    module.eval().to(placement(info.id, torch.device(device)))
    return module, prov


def placement(model_id: str, device: torch.device) -> torch.device:
    """Where a model runs when ``device`` is asked: a model that works on the uint8 image itself
    (``ModelInfo.predict_uint8``: bicubic's MATLAB imresize) runs on the CPU whatever is asked."""
    return torch.device("cpu") if registry.get(model_id).predict_uint8 is not None else device


def make_predictor(
    model_id: str,
    module: torch.nn.Module,
    *,
    device: str | torch.device = "cpu",
    tile: dict | None = None,
) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a module as uint8 -> uint8. Gray inputs are replicated to three channels.

    A model that works on the uint8 image itself (``ModelInfo.predict_uint8``) is used as is.
    """
    info = registry.get(model_id)
    if info.predict_uint8 is not None:
        return partial(info.predict_uint8, module)

    def predict(lr: np.ndarray) -> np.ndarray:
        x = lr if lr.shape[2] in (3, 6) else to_rgb3(lr)
        t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float().div(255)
        t = t.to(device)
        with torch.inference_mode():
            if tile:  # the protocol's block: {size: LR tile side, overlap: LR pixels}
                out = tiled_forward(module, t, tile=int(tile["size"]), overlap=tile.get("overlap"))
            else:
                out = module(t)
        out = out.clamp(0, 1).mul(255).round().to(torch.uint8)
        return out[0].permute(1, 2, 0).cpu().numpy()

    return predict


def refuse_non_finite(module, inputs, output) -> None:
    """Forward hook: NaN/inf output is refused before clamping could turn it into pixels."""
    if isinstance(output, torch.Tensor) and not bool(torch.isfinite(output).all()):
        bad = int((~torch.isfinite(output)).sum())
        raise NonFiniteOutputError(
            f"the model produced {bad} non-finite value(s) (NaN/inf); its output is not scored: "
            "check the checkpoint and the settings (e.g. --device, dtype)"
        )
