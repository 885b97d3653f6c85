"""Fit a checkpoint's state dict to a built model: strictly, with a one-line diff when it does
not fit, or (asked for) with only the keys that fit, the rest listed in the provenance.

Either way the state finally goes through :func:`repro.weights.checkpoint.load_strict`, which
refuses mis-shaped and non-finite tensors.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from repro.errors import WeightsError
from repro.weights.checkpoint import load_strict

SHOWN = 3  # key names a message shows per kind of difference
RECORDED = 20  # key names the provenance of a non-strict load keeps per kind


def key_diff(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> dict[str, list]:
    """Missing and unexpected keys, and keys whose shapes differ, in the model's key order."""
    return {
        "missing": [k for k in own if k not in state],
        "unexpected": [k for k in state if k not in own],
        "shape": [
            (k, tuple(state[k].shape), tuple(v.shape))
            for k, v in own.items()
            if k in state and tuple(state[k].shape) != tuple(v.shape)
        ],
    }


def describe_diff(diff: dict[str, list]) -> str:
    """``3 missing keys ('a', 'b', 'c' +9 more); 1 unexpected key ('x'); 'w' has shape ...``"""

    def names(keys: list[str]) -> str:
        shown = ", ".join(f"'{k}'" for k in keys[:SHOWN])
        return shown + (f" +{len(keys) - SHOWN} more" if len(keys) > SHOWN else "")

    parts = []
    for kind in ("missing", "unexpected"):
        keys = diff[kind]
        if keys:
            parts.append(f"{len(keys)} {kind} key{'s' * (len(keys) > 1)} ({names(keys)})")
    if diff["shape"]:
        k, got, want = diff["shape"][0]
        more = len(diff["shape"]) - 1
        parts.append(
            f"'{k}' has shape {got}, the model expects {want}"
            + (f" (+{more} more of another shape)" if more else "")
        )
    return "; ".join(parts)


def fit_state(
    module: nn.Module, state: dict[str, torch.Tensor], *, source: str, strict: bool = True
) -> dict[str, Any]:
    """Load ``state`` into ``module``; the provenance facts of the load ({} when strict).

    Strict: any difference is one WeightsError with the diff. Non-strict: the matching keys are
    loaded, the model keeps its own values for the missing ones, unexpected ones are ignored;
    shapes must still agree and at least one key must fit.
    """
    own = module.state_dict()
    diff = key_diff(own, state)
    if diff["shape"] or (strict and (diff["missing"] or diff["unexpected"])):
        advice = "" if diff["shape"] else "; --non-strict loads the keys that fit"
        raise WeightsError(
            f"{source} does not fit the model: {describe_diff(diff)}; is it a checkpoint of "
            f"another model, variant or scale?{advice}"
        )
    if strict:
        load_strict(module, state, source=source)
        return {}
    if len(diff["missing"]) == len(own):
        raise WeightsError(f"{source} does not fit the model: none of its keys is the model's")
    kept = {k: v for k, v in state.items() if k in own}
    load_strict(module, {**{k: own[k] for k in diff["missing"]}, **kept}, source=source)
    return {
        "loading": {
            "strict": False,
            "missing_keys": len(diff["missing"]),
            "unexpected_keys": len(diff["unexpected"]),
            "missing": diff["missing"][:RECORDED],
            "unexpected": diff["unexpected"][:RECORDED],
        }
    }
