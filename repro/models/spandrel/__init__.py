"""Any checkpoint spandrel recognises (chaiNNer-org/spandrel, MIT; the ``zoo`` extra).

``--model spandrel --weights FILE|hf://...`` detects the architecture and its hyper-parameters
from the state dict (SwinIR, HAT, DAT, OmniSR, RCAN, ATD, SPAN, SAFMN, ESRGAN's RRDB,
Real-ESRGAN's SRVGG, ...); ``spandrel-<architecture>`` (e.g. ``spandrel-swinir``) also requires
that architecture. The public checkpoints of the papers' comparison rows are its catalogue
(:mod:`repro.models.spandrel.catalogue`: a spec row's ``weights: swinir-light-x4``, fetched by
``repro pull swinir-light-x4``), each with the network's hyper-parameters, so params and latency
are measured without the file. The checkpoint's scale must be the one asked for. The model runs as
spandrel's descriptor runs it (padding to the architecture's size requirements), and every
result records spandrel's version, the architecture, its code's licence, the size requirements
and the tiling advice (:mod:`repro.models.spandrel.load`). Without spandrel installed these
models are NOT-RUN (MISSING-EXTRA) with the install command.
"""

from __future__ import annotations

import functools

import torch.nn as nn

from repro.errors import MissingWeightsError, UnknownNameError, did_you_mean
from repro.models.info import ANY_SCALE, ModelInfo
from repro.models.spandrel.catalogue import CHECKPOINTS, blank_state, catalogue
from repro.models.spandrel.load import load_checkpoint, require_spandrel

FAMILY = "spandrel"


def _needs_checkpoint(scale: int, **settings) -> None:
    raise MissingWeightsError(
        "a spandrel model is read from its checkpoint: pass --weights FILE (or hf://...)"
    )


def _from_catalogue(weights_id: str, scale: int) -> nn.Module:
    """The network of a catalogue checkpoint, with random values, as spandrel loads it."""
    require_spandrel()
    checkpoint = CHECKPOINTS[weights_id]
    source = f"the architecture of {weights_id} (random values)"
    arch = checkpoint.architecture.lower()
    return load_checkpoint(arch, blank_state(checkpoint), scale, source=source)[0]


def _info(architecture: str | None) -> ModelInfo:
    return ModelInfo(
        id=FAMILY if architecture is None else f"{FAMILY}-{architecture}",
        family=FAMILY,
        variant=architecture or "",
        scales=ANY_SCALE,
        build=_needs_checkpoint,
        description=(
            "any checkpoint spandrel recognises (--weights FILE or hf://...; its scale must be "
            "--scale); spandrel-<arch> requires that architecture, e.g. spandrel-swinir; needs "
            "the zoo extra"
            if architecture is None
            else f"a spandrel checkpoint of architecture {architecture}"
        ),
        requires=require_spandrel,
        from_checkpoint=functools.partial(load_checkpoint, architecture),
        from_catalogue=_from_catalogue,
        catalogue=catalogue(architecture),  # the comparison rows' checkpoints (catalogue.py)
    )


MODELS: tuple[ModelInfo, ...] = (_info(None),)


def resolve_variant(model_id: str) -> ModelInfo | None:
    """``spandrel-<architecture>``: the family's open-ended variants (checked at load time)."""
    prefix = f"{FAMILY}-"
    if not model_id.startswith(prefix) or len(model_id) == len(prefix):
        return None
    architecture = model_id[len(prefix) :]
    known = _architectures()
    if known is not None and architecture not in known:
        raise UnknownNameError(
            f"unknown spandrel architecture '{architecture}'; {did_you_mean(architecture, known)}"
        )
    return _info(architecture)


def _architectures() -> set[str] | None:
    """spandrel's architecture ids in lowercase; None when spandrel is not importable here."""
    try:
        from spandrel import MAIN_REGISTRY
    except Exception:  # said in full by require_spandrel when a model is loaded
        return None
    return {support.architecture.id.lower() for support in MAIN_REGISTRY}
