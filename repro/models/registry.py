"""One registry of model variants (in the spirit of timm's and spandrel's): id -> ModelInfo.

Model ids are lowercase ``family-variant`` (``bicubic``, ``camixersr-s``, ``esc-light``,
``nafssr-t``). Where a model comes from:

- the built-in families of :data:`BUILT_IN_FAMILIES`, each a package declaring ``MODELS``;
- families installed under the entry-point group ``repro.models``
  (:mod:`repro.models.plugins`), declared the same way;
- ``module.path:factory``, made on demand by :func:`get` (nothing to register);
- a family with open-ended variants (``spandrel-<architecture>``) resolves ids it does not
  list with its ``resolve_variant``.

Families are loaded on first use. A family whose declaration is wrong (a ModelInfo missing a
field, a field of the wrong type, ``needs_weights`` contradicting the built model, an id taken)
or that fails to import is dropped alone: every use of its ids is one line naming the family
and the field (:class:`repro.errors.RegistrationError`), ``repro ls models`` lists it with that
line, and every other model keeps working.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from importlib.metadata import EntryPoint
from typing import Any

import torch
import torch.nn as nn

from repro.errors import RegistrationError, ReproError, UnknownNameError, did_you_mean
from repro.models.fit import fit_state
from repro.models.info import BUILT_IN, ModelInfo, check_built, check_declaration
from repro.models.plugins import (
    build_checked,
    entry_point_families,
    entry_point_origin,
    entry_point_provenance,
    factory_info,
    is_factory,
    one_line,
)

BUILT_IN_FAMILIES = (
    "repro.models.bicubic",
    "repro.models.camixersr",
    "repro.models.esc",
    "repro.models.imdn",
    "repro.models.nafssr",
    "repro.models.spandrel",
)

# Names the papers use for registered variants.
ALIASES = {"esc-base": "esc", "esc-lt": "esc-light"}


@dataclass(frozen=True)
class Family:
    """One registered family: its models, or the one line saying why it has none."""

    name: str
    origin: str
    models: tuple[ModelInfo, ...] = ()
    error: str | None = None
    resolve_variant: Callable[[str], ModelInfo | None] | None = None

    def owns(self, model_id: str) -> bool:
        return model_id == self.name or model_id.startswith(f"{self.name}-")


def _built_in(module_name: str) -> Family:
    name = module_name.rsplit(".", 1)[-1]
    try:
        module = importlib.import_module(module_name)
        declared = module.MODELS
    except Exception as exc:  # a broken family is reported by its ids, not by every command
        return Family(name, BUILT_IN, error=_cannot_load(name, BUILT_IN, exc))
    return _declared(name, BUILT_IN, declared, getattr(module, "resolve_variant", None))


def _entry_point(ep: EntryPoint) -> Family:
    origin = entry_point_origin(ep)
    try:
        declared = ep.load()
        facts = entry_point_provenance(ep, origin)
    except Exception as exc:  # third-party code may raise anything while importing
        return Family(ep.name, origin, error=_cannot_load(ep.name, origin, exc))
    if isinstance(declared, ModelInfo):
        declared = (declared,)
    if not isinstance(declared, (tuple, list)):
        return Family(
            ep.name,
            origin,
            error=f"model family '{ep.name}' ({origin}): gives a {type(declared).__name__}; an "
            "entry point names a ModelInfo or a tuple of them",
        )
    marked = [
        replace(i, origin=origin, provenance=facts) if isinstance(i, ModelInfo) else i
        for i in declared
    ]
    return _declared(ep.name, origin, marked)


def _declared(name: str, origin: str, declared: Any, resolve=None) -> Family:
    try:
        models = tuple(declared)
        for i, info in enumerate(models):
            check_declaration(info, name)
            if any(info.id == other.id for other in models[:i]):
                raise RegistrationError(f"model family '{name}': id '{info.id}' declared twice")
    except RegistrationError as exc:
        return Family(name, origin, error=f"{exc} ({origin})")
    except TypeError as exc:
        return Family(name, origin, error=_cannot_load(name, origin, exc))
    return Family(name, origin, models, resolve_variant=resolve)


_MISSING_FIELD = re.compile(r"ModelInfo\.__init__\(\) missing \d+ required \S+ arguments?: (.+)")
_UNKNOWN_FIELD = re.compile(r"ModelInfo\.__init__\(\) got an unexpected keyword argument (.+)")


def _cannot_load(name: str, origin: str, exc: Exception) -> str:
    """One line for a family that failed to import: a ModelInfo missing a field (a TypeError
    while its MODELS were being declared) is said as such."""
    text = str(exc)
    if missing := _MISSING_FIELD.search(text):
        why = f"a ModelInfo is missing field {missing.group(1)}"
    elif unknown := _UNKNOWN_FIELD.search(text):
        why = f"a ModelInfo has no field {unknown.group(1)}"
    else:
        why = one_line(exc)
    return f"model family '{name}' ({origin}) cannot be registered: {why}"


@cache
def _registry() -> tuple[dict[str, ModelInfo], tuple[Family, ...]]:
    """Models by id and every family, built-in first; a family clashing with an earlier one's
    name or ids is dropped with the reason."""
    loaded = [_built_in(m) for m in BUILT_IN_FAMILIES]
    loaded += [_entry_point(ep) for ep in entry_point_families()]
    models: dict[str, ModelInfo] = {}
    families: list[Family] = []
    for family in loaded:
        taken = next((f for f in families if f.name == family.name), None)
        clash = next((i.id for i in family.models if i.id in models or i.id in ALIASES), None)
        if taken is not None:
            family = replace(family, models=(), error=_clash(family, f"name '{family.name}'"))
        elif clash is not None:
            family = replace(family, models=(), error=_clash(family, f"id '{clash}'"))
        models.update((info.id, info) for info in family.models)
        families.append(family)
    return dict(sorted(models.items())), tuple(families)


def _clash(family: Family, what: str) -> str:
    return f"model family '{family.name}' ({family.origin}): {what} is already registered"


def reload() -> None:
    """Forget the loaded families (after installing a plugin in this process; tests)."""
    _registry.cache_clear()
    factory_info.cache_clear()


def all_models() -> dict[str, ModelInfo]:
    """Every registered model by id (families that failed to register are left out)."""
    return dict(_registry()[0])


def families() -> tuple[Family, ...]:
    return _registry()[1]


def get(model_id: str) -> ModelInfo:
    """A registered id (case-insensitive; paper aliases), an open variant of a family, or a
    ``module.path:factory``; one line otherwise."""
    if is_factory(model_id):
        return factory_info(model_id.strip())
    key = model_id.lower()
    key = ALIASES.get(key, key)
    models, loaded = _registry()
    if key in models:
        return models[key]
    for family in loaded:
        if family.owns(key):
            if family.error is not None:
                raise RegistrationError(family.error)
            resolved = family.resolve_variant(key) if family.resolve_variant else None
            if resolved is not None:
                return resolved
    raise UnknownNameError(
        f"unknown model '{model_id}'; {did_you_mean(key, models)} (list them with: "
        "repro ls models; your own architecture: --model module.path:factory)"
    )


def check_request(info: ModelInfo, scale: int, settings: dict) -> None:
    """A backend the model needs (NotRun), its scale and setting names, before anything loads."""
    if info.requires is not None:
        info.requires()
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


def build(family: str, variant: str | None = None, scale: int = 4, **settings) -> nn.Module:
    """Build a model with the official key names, e.g. ``build("camixersr", "s", 4, ratio=0.5)``.

    Weights are not loaded here; see :func:`repro.eval.predictor.load_model`. Code from outside
    the package (plugins, factories) is checked: a module, of the right output size.
    """
    info = get(family if variant is None else f"{family}-{variant}")
    check_request(info, scale, settings)
    if info.origin != BUILT_IN:
        return build_checked(info, scale, settings)
    module = info.build(scale=scale, **settings)
    check_built(info, module)
    return module


def load_weights(
    info: ModelInfo,
    module: nn.Module | None,
    state: dict[str, torch.Tensor],
    *,
    scale: int,
    source: str,
    strict: bool = True,
) -> tuple[nn.Module, dict[str, Any]]:
    """The model with ``state`` applied, and the facts its provenance records about the load.

    ``module`` is the built model, or None where the checkpoint defines the architecture
    (``info.from_checkpoint``: spandrel, which loads every key itself).
    """
    if info.from_checkpoint is not None:
        if not strict:
            raise ReproError(
                f"{info.id} builds its architecture from the checkpoint, which then fits it "
                "entirely: drop --non-strict"
            )
        return info.from_checkpoint(state, scale, source=source)
    if module is None:
        raise ValueError(f"{info.id}: load_weights needs the built module")
    return module, fit_state(module, state, source=source, strict=strict)


def listing() -> list[dict[str, Any]]:
    """``repro ls models``: every model with where it came from, and every family that failed
    to register with its one-line reason."""
    rows: list[dict[str, Any]] = []
    for family in families():
        if family.error is not None:
            rows.append(
                {
                    "id": family.name,
                    "scales": [],
                    "settings": [],
                    "weights": [],
                    "origin": family.origin,
                    "description": f"NOT REGISTERED: {family.error}",
                    "error": family.error,
                }
            )
        for m in family.models:
            rows.append(
                {
                    "id": m.id,
                    "scales": list(m.scales) if isinstance(m.scales, tuple) else repr(m.scales),
                    "settings": list(m.settings),
                    "weights": sorted(w.id for w in m.weights.values()),
                    "origin": m.origin,
                    "description": m.description,
                }
            )
    return sorted(rows, key=lambda r: r["id"])
