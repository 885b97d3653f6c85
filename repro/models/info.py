"""What the suite knows about one registered model variant: :class:`ModelInfo`.

A family package declares its variants as ``MODELS: tuple[ModelInfo, ...]`` in its
``__init__``; :mod:`repro.models.registry` lists the families (built-in ones, entry points of the
``repro.models`` group) and makes one for a ``module.path:factory``. Everything the rest of the
suite needs from a family (builder, weights, complexity counter, uint8 predictor) is a field
here, so nothing is looked up on a module by name. :func:`check_declaration` says, in one line,
what a declaration gets wrong; ``repro/models/README.md`` shows the minimum a family needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn as nn

from repro.errors import RegistrationError
from repro.weights.entry import WeightsEntry


class ComplexityCounter(Protocol):
    """A family's counter for the dataset-free columns it defines (FLOPs, MAdds, ...).

    ``scale`` is the table row's scale, ``protocol`` the table's protocol block (the counter
    reads its own keys, e.g. ``flops_output``), ``variant`` the column's variant (e.g. a latency
    setting under ``protocol.latency``). Raises :class:`repro.errors.NotRun` where it cannot
    count.
    """

    def __call__(
        self,
        metric: str,
        model: nn.Module,
        *,
        scale: int,
        protocol: Mapping[str, Any],
        variant: str | None,
    ) -> float: ...


class CheckpointBuilder(Protocol):
    """For a model whose architecture is read from its checkpoint (spandrel): the module with the
    state loaded, and the facts to record about it (architecture, licence, size requirements).
    ``source`` names the checkpoint in messages."""

    def __call__(
        self, state: dict[str, torch.Tensor], scale: int, *, source: str
    ) -> tuple[nn.Module, dict[str, Any]]: ...


# predict_uint8(module, lr) -> sr: for models that work on the uint8 image itself
Uint8Forward = Callable[[nn.Module, np.ndarray], np.ndarray]


class AnyScale:
    """The scales of a model that takes any scale it is asked for (a ``module:factory``) or
    reads it from its checkpoint (spandrel): every whole scale is accepted here, and the built
    model's output size or its checkpoint decides. Iterates as nothing; shown as "any"."""

    def __contains__(self, scale: object) -> bool:
        return isinstance(scale, int) and not isinstance(scale, bool) and scale >= 1

    def __iter__(self) -> Iterator[int]:
        return iter(())

    def __repr__(self) -> str:
        return "any"


ANY_SCALE = AnyScale()
BUILT_IN = "built-in"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    family: str
    variant: str
    scales: tuple[int, ...] | AnyScale
    build: Callable[..., nn.Module]  # build(scale=..., **settings) -> nn.Module
    description: str = ""
    weights: dict[int, WeightsEntry] = field(default_factory=dict)  # scale -> default checkpoint
    # every released checkpoint of the family by id (the defaults and the alternatives a row or
    # --weights-id may name); the same mapping for all variants of a family
    catalogue: Mapping[str, WeightsEntry] = field(default_factory=dict)
    stereo: bool = False  # takes a left/right pair (6 channels)
    any_views: bool = False  # works per channel: single images and stereo pairs alike
    settings: tuple[str, ...] = ()  # names accepted by --set key=value
    needs_weights: bool = True
    complexity: ComplexityCounter | None = None  # None: only params and latency are measured
    predict_uint8: Uint8Forward | None = None  # None: the float forward, clamped and rounded
    requires: Callable[[], None] | None = None  # raises NotRun when a backend is not importable
    # the architecture comes from the checkpoint (spandrel): ``build`` cannot make it without one
    from_checkpoint: CheckpointBuilder | None = None
    # with from_checkpoint: the network a catalogue checkpoint describes, ``(weights id, scale)
    # -> module`` with random values, for the columns no checkpoint's values decide (params,
    # latency); None where only a checkpoint says what the network is
    from_catalogue: Callable[[str, int], nn.Module] | None = None
    origin: str = BUILT_IN  # where it came from; the registry sets it for plugins and factories
    # recorded with every result of the model (and so in its cache key): for code outside the
    # package (plugins, factories, spandrel) its version or source hash; empty for built-ins
    provenance: Mapping[str, Any] = field(default_factory=dict)


_ID = re.compile(r"[a-z0-9][a-z0-9._]*(-[a-z0-9._]+)*")
_OPTIONAL_CALLABLES = (
    *("complexity", "predict_uint8", "requires", "from_checkpoint", "from_catalogue"),
)


def check_declaration(info: object, family: str) -> None:
    """Raise a one-line RegistrationError naming the family, the model and the field at the
    first thing a family's declaration gets wrong; the registry then drops that family alone."""
    where = f"model family '{family}'"
    if not isinstance(info, ModelInfo):
        raise RegistrationError(
            f"{where}: declares a {type(info).__name__}, not a repro.models.info.ModelInfo"
        )

    def bad(name: str, why: str) -> RegistrationError:
        return RegistrationError(f"{where}: ModelInfo '{info.id}' field '{name}' {why}")

    if not isinstance(info.id, str) or not _ID.fullmatch(info.id):
        raise bad("id", "must be lowercase letters, digits, '.', '_' and '-' (e.g. 'esc-light')")
    if info.family != family:
        raise bad("family", f"is '{info.family}'; it must be the family's name, '{family}'")
    if info.id != family and not info.id.startswith(f"{family}-"):
        raise bad("id", f"must be '{family}' or start with '{family}-'")
    for name in ("variant", "description"):
        if not isinstance(getattr(info, name), str):
            raise bad(name, "must be a string")
    scales = info.scales
    if not isinstance(scales, AnyScale) and not (
        isinstance(scales, tuple) and scales and all(s in ANY_SCALE for s in scales)
    ):
        raise bad("scales", "must be a non-empty tuple of whole scales >= 1, e.g. (2, 3, 4)")
    if not callable(info.build):
        raise bad("build", "must be a callable build(scale, **settings) -> nn.Module")
    for name in ("stereo", "any_views", "needs_weights"):
        if not isinstance(getattr(info, name), bool):
            raise bad(name, "must be True or False")
    if not isinstance(info.settings, tuple) or not all(isinstance(s, str) for s in info.settings):
        raise bad("settings", "must be a tuple of setting names, e.g. ('ratio',)")
    for name in _OPTIONAL_CALLABLES:
        if getattr(info, name) is not None and not callable(getattr(info, name)):
            raise bad(name, "must be a callable or None")
    if not isinstance(info.provenance, Mapping):
        raise bad("provenance", "must be a mapping")
    _check_weights(info, bad)


def _check_weights(info: ModelInfo, bad: Callable[[str, str], RegistrationError]) -> None:
    """Defaults and catalogue: entries of the right type, defaults at declared scales and in the
    catalogue, and no weights at all for a model that needs none."""
    if not isinstance(info.catalogue, Mapping) or not all(
        isinstance(e, WeightsEntry) and e.id == k for k, e in info.catalogue.items()
    ):
        raise bad("catalogue", "must map each weights id to its WeightsEntry")
    if not isinstance(info.weights, Mapping):
        raise bad("weights", "must map scales to WeightsEntry defaults")
    for scale, entry in info.weights.items():
        if scale not in info.scales:
            raise bad("weights", f"has a default at x{scale}, which is not in its scales")
        if info.catalogue.get(getattr(entry, "id", None)) is not entry:
            raise bad("weights", f"default '{getattr(entry, 'id', entry)}' is not in its catalogue")
    if not info.needs_weights and (info.weights or info.catalogue or info.from_checkpoint):
        raise bad("needs_weights", "is False, but the model declares weights to load")


def check_built(info: ModelInfo, module: object) -> None:
    """What only the built module shows: it is a module, and ``needs_weights`` says the truth
    (a model with no state cannot load a checkpoint; one with parameters and no weights would
    score its random initialisation)."""
    if not isinstance(module, nn.Module):
        raise RegistrationError(
            f"model '{info.id}' ({info.origin}): build returned a {type(module).__name__}, "
            "not a torch.nn.Module"
        )
    where = f"model family '{info.family}': ModelInfo '{info.id}' field 'needs_weights'"
    if info.needs_weights and not module.state_dict():
        raise RegistrationError(
            f"{where}: the model has no parameters or buffers, so no checkpoint can fit it; "
            "declare needs_weights=False"
        )
    if not info.needs_weights and any(True for _ in module.parameters()):
        raise RegistrationError(
            f"{where} is False, but the model has parameters: they would be scored at their "
            "random initialisation; declare needs_weights=True and give it weights"
        )
