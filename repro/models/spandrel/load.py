"""A spandrel model from a state dict: detected, checked against the request, wrapped.

spandrel is imported here only, when a checkpoint is loaded (``requires`` says beforehand
whether it can be), so the base install never needs it.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn as nn

from repro.errors import NotRun, NotRunCode, WeightsError
from repro.models.plugins import one_line
from repro.models.spandrel.licences import licence
from repro.weights.checkpoint import load_strict

INSTALL = (
    'install the zoo extra beside torch: pip install "repro[zoo]" (from a checkout: pip '
    'install -e ".[zoo]"), i.e. spandrel>=0.4 with a torchvision built for this torch'
)


def require_spandrel() -> None:
    """Raise NotRun(MISSING-EXTRA) with the install command when spandrel cannot be imported."""
    try:
        import spandrel  # noqa: F401
    except Exception as exc:  # ImportError, or a torchvision built for another torch
        raise NotRun(
            NotRunCode.MISSING_EXTRA,
            f"spandrel models need spandrel, which cannot be imported here ({one_line(exc)}): "
            f"{INSTALL} (torch {torch.__version__})",
        ) from None


class SpandrelModel(nn.Module):
    """spandrel's network, called as spandrel's descriptor calls it: the input reflect-padded
    (bottom/right) to the architecture's size requirements, the output clamped to [0, 1] and
    cropped back to ``scale`` times the input."""

    def __init__(self, descriptor: Any) -> None:
        super().__init__()
        self.net = descriptor.model  # a submodule: .to(), parameters and hooks reach it
        self.scale = descriptor.scale  # read by the tiled forward
        self.__dict__["descriptor"] = descriptor  # not a Module: kept out of the module tree

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a copy: some architectures scale their input in place (RCAN's `x *= rgb_range`),
        # which would corrupt the caller's tensor (the overlapping tiles of a tiled forward)
        return self.descriptor(x.clone())


def load_checkpoint(
    architecture: str | None, state: dict[str, torch.Tensor], scale: int, *, source: str
) -> tuple[nn.Module, dict[str, Any]]:
    """The spandrel model of ``state`` (of ``architecture``, a spandrel id in lowercase, when
    given) and what to record about it; one-line WeightsError for anything that does not fit."""
    require_spandrel()
    import spandrel

    state = spandrel.canonicalize_state_dict(state)
    try:
        with warnings.catch_warnings():  # spandrel's own code calls meshgrid the old way
            warnings.filterwarnings("ignore", message="torch.meshgrid")
            descriptor = spandrel.ModelLoader().load_from_state_dict(state)
    except spandrel.UnsupportedModelError:
        raise WeightsError(
            f"spandrel {spandrel.__version__} recognises no architecture in {source}; is it a "
            "super-resolution checkpoint? (--weights-key picks a state dict nested in the file)"
        ) from None
    except Exception as exc:  # an architecture's own loader failing on odd shapes
        raise WeightsError(f"spandrel cannot load {source}: {one_line(exc)}") from None
    arch = descriptor.architecture
    where = f"{source} ({arch.id}, x{descriptor.scale})"
    if type(arch).__module__.split(".")[0] != "spandrel":
        raise WeightsError(
            f"{where}: architecture from {type(arch).__module__}, outside spandrel's permissive "
            "set (spandrel_extra_arches is non-commercial): not supported"
        )
    if architecture is not None and arch.id.lower() != architecture:
        names = {s.architecture.id.lower(): s.architecture.id for s in spandrel.MAIN_REGISTRY}
        raise WeightsError(f"{where} is not a {names.get(architecture, architecture)} checkpoint")
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise WeightsError(f"{where} is a {descriptor.purpose} model, not super-resolution")
    if descriptor.scale != scale:
        raise WeightsError(
            f"{where} upscales x{descriptor.scale}, but x{scale} was asked: pass --scale "
            f"{descriptor.scale}, or a x{scale} checkpoint"
        )
    if (descriptor.input_channels, descriptor.output_channels) != (3, 3):
        raise WeightsError(
            f"{where} maps {descriptor.input_channels} to {descriptor.output_channels} "
            "channels; only RGB (3 to 3) models are scored here"
        )
    # spandrel loaded the state strictly; the one check of weight values refuses NaN/inf
    load_strict(descriptor.model, descriptor.model.state_dict(), source=source)
    return SpandrelModel(descriptor), {"spandrel": describe(descriptor, spandrel.__version__)}


def describe(descriptor: Any, version: str) -> dict[str, Any]:
    """What a result records about a spandrel model (all of it decides the numbers)."""
    size = descriptor.size_requirements
    return {
        "version": version,
        "architecture": descriptor.architecture.id,
        "architecture_licence": licence(descriptor.architecture.id),
        "purpose": descriptor.purpose,
        "scale": descriptor.scale,
        "tags": list(descriptor.tags),
        "size_requirements": {
            "minimum": size.minimum,
            "multiple_of": size.multiple_of,
            "square": size.square,
            "padding": "reflect, bottom/right, cropped after",
        },
        "tiling": descriptor.tiling.name.lower(),
    }
