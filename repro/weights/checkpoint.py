"""Reading checkpoints safely and loading them strictly.

``.pth`` files are read with ``torch.load(weights_only=True)`` and never unpickled otherwise;
``.safetensors`` files with safetensors.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import load as load_safetensors

from repro.errors import WeightsChecksumError, WeightsError
from repro.weights.entry import WeightsEntry


def read_state_dict(
    path: os.PathLike | str, key: str | None = "params_ema", sha256: str | None = None
) -> dict[str, torch.Tensor]:
    """Read a state dict from safetensors or a ``.pth`` (safely), selecting ``key`` if nested.

    With ``sha256`` (the digest the file was verified by), the bytes are read once, hashed and
    loaded from memory: the bytes loaded are the bytes verified, even if the file is replaced
    between its check and this read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read checkpoint {path} ({exc.strerror or exc})") from None
    if sha256 and hashlib.sha256(data).hexdigest() != sha256.lower():
        raise WeightsChecksumError(
            f"checkpoint {path} changed while it was read (its sha256 is no longer the verified "
            "one); rerun once nothing else writes to it"
        )
    if path.suffix == ".safetensors":
        try:
            return load_safetensors(data)
        except Exception as exc:
            raise WeightsError(
                f"cannot read safetensors file {path} ({exc}); re-fetch it"
            ) from None
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(
            f"cannot read checkpoint {path} safely ({type(exc).__name__}); it is corrupt or not "
            "a PyTorch state dict: re-download the official file"
        ) from None
    if isinstance(obj, dict) and key is not None and key in obj:
        obj = obj[key]
    elif (
        isinstance(obj, dict) and key is not None and any(isinstance(v, dict) for v in obj.values())
    ):
        raise WeightsError(
            f"checkpoint {path} has no '{key}' entry (it has {sorted(obj)}); "
            "choose one with --weights-key NAME (repro eval)"
        )
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"checkpoint {path} does not hold a state dict of tensors")
    return obj


def fits_model(path: Path, entry: WeightsEntry) -> bool:
    """Does the checkpoint at ``path`` have exactly the key names and shapes of entry's model?"""
    if entry.model is None:
        return False
    with torch.device("meta"):  # shapes only: nothing is allocated
        model = entry.model()
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    try:
        state = read_state_dict(path, entry.key)
    except WeightsError:
        return False
    return {k: tuple(v.shape) for k, v in state.items()} == expected


def load_strict(
    model: nn.Module, state: dict[str, torch.Tensor], source: str = "checkpoint"
) -> None:
    """Load ``state`` into ``model``; refuse on the first missing, unexpected or mis-shaped key,
    and a checkpoint holding NaN/inf (a corrupt or diverged training state)."""
    own = model.state_dict()
    for k, v in own.items():
        if k not in state:
            raise WeightsError(
                f"{source} does not fit the model: missing key '{k}' (shape {tuple(v.shape)}); "
                "is it a checkpoint of another model, variant or scale?"
            )
        if tuple(state[k].shape) != tuple(v.shape):
            raise WeightsError(
                f"{source} does not fit the model: '{k}' has shape {tuple(state[k].shape)}, the "
                f"model expects {tuple(v.shape)}; is it a checkpoint of another variant or scale?"
            )
    for k in state:
        if k not in own:
            raise WeightsError(
                f"{source} does not fit the model: unexpected key '{k}'; is it a checkpoint of "
                "another model or variant?"
            )
    for k, v in state.items():
        if v.is_floating_point() and not v.is_meta and not bool(torch.isfinite(v).all()):
            raise WeightsError(
                f"{source} holds non-finite values (NaN/inf) in '{k}': a corrupt or diverged "
                "checkpoint, whose outputs would be meaningless; use another checkpoint"
            )
    model.load_state_dict(state, strict=True)
