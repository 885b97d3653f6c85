"""Models from outside the package: a ``module.path:factory`` and entry-point families.

- ``--model mypkg.nets:make_net`` (or a spec row's ``model:``): ``make_net(scale, **settings)``
  returns an ``nn.Module`` taking ``N x 3 x H x W`` floats in [0, 1] and giving
  ``N x 3 x sH x sW``; its keyword parameters are the settings ``--set`` may give. The module is
  imported from ``sys.path`` plus the current folder. Weights come from ``--weights``.
- An installed distribution may register whole families under the entry-point group
  ``repro.models``: ``name = "pkg.module:MODELS"`` pointing at a ModelInfo or a tuple of them,
  declared as the built-in families are (family ``name``, ids ``name`` or ``name-variant``).

Code outside the package is keyed by its source: :func:`source_sha256` of the module's file (or
of every ``.py`` file of its top-level package) goes into the model's provenance, so editing a
factory invalidates the cached numbers it made, as editing a built-in family does.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from repro.errors import RegistrationError, ReproError, one_line
from repro.models.info import ANY_SCALE, ModelInfo, check_built

ENTRY_POINT_GROUP = "repro.models"
FACTORY_ORIGIN = "module:factory"
_FACTORY = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
PROBE_SIDE = 32  # LR side of the input a plugin's model is tried on, to check its output size


def is_factory(model: str) -> bool:
    """``module.path:attribute`` names a factory; registered ids hold no colon."""
    return ":" in model


@cache
def factory_info(spec: str) -> ModelInfo:
    """The ModelInfo of ``module.path:factory``; one line naming the module for what is wrong."""
    match = _FACTORY.fullmatch(spec.strip())
    if match is None:
        raise RegistrationError(
            f"--model {spec}: a factory is named module.path:callable, e.g. mynets.arch:build"
        )
    module_name, attr = match.groups()
    module = import_user_module(module_name, f"--model {spec}")
    factory: Any = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise RegistrationError(f"--model {spec}: module '{module_name}' has no '{attr}'")
        factory = getattr(factory, part)
    if not callable(factory):
        raise RegistrationError(
            f"--model {spec}: '{attr}' in module '{module_name}' is a {type(factory).__name__}, "
            "not a callable factory(scale, **settings) -> nn.Module"
        )
    info = ModelInfo(
        id=spec,
        family=spec,
        variant="",
        scales=ANY_SCALE,
        build=factory,
        description=f"{attr} from {module_name} (your factory)",
        settings=_keyword_settings(factory),
        origin=FACTORY_ORIGIN,
        provenance={
            "origin": FACTORY_ORIGIN,
            "factory": spec,
            "source_sha256": source_sha256(module),
        },
    )
    return info


def import_user_module(name: str, what: str):
    """Import a user's module, the current folder importable too; one line if it fails."""
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.append(here)  # `repro eval --model mynet:build` run beside mynet.py
    try:
        return importlib.import_module(name)
    except Exception as exc:  # its own code may raise anything while importing
        raise RegistrationError(
            f"{what}: cannot import module '{name}' ({one_line(exc)}); is it on PYTHONPATH, or "
            "in the current folder?"
        ) from None


def _keyword_settings(factory: Callable) -> tuple[str, ...]:
    """The factory's parameters after the scale: the settings ``--set`` may give it."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):  # a builtin or C callable: no signature to read
        return ()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in params[1:] if p.kind in named)


def build_checked(info: ModelInfo, scale: int, settings: dict) -> nn.Module:
    """Call a plugin's builder and check what it returns: a module, whose output on a probe
    input is ``scale`` times its size. Its own exceptions become one line naming it."""
    try:  # a factory takes the scale first, whatever its name; a family's build(scale=...)
        if info.origin == FACTORY_ORIGIN:
            module = info.build(scale, **settings)
        else:
            module = info.build(scale=scale, **settings)
    except ReproError:
        raise
    except Exception as exc:
        raise RegistrationError(
            f"model '{info.id}' ({info.origin}) failed to build at x{scale}: {one_line(exc)}"
        ) from None
    check_built(info, module)
    check_output_size(info, module, scale)
    return module


def check_output_size(info: ModelInfo, module: nn.Module, scale: int) -> None:
    """Run the model once on a small constant input (no RNG drawn) and check its output shape."""
    channels = 6 if info.stereo else 3
    x = torch.full((1, channels, PROBE_SIDE, PROBE_SIDE), 0.5)
    was_training = module.training
    try:
        with torch.inference_mode():
            out = module.eval()(x)
    except Exception as exc:
        raise RegistrationError(
            f"model '{info.id}' ({info.origin}) fails on a 1x{channels}x{PROBE_SIDE}x{PROBE_SIDE} "
            f"input: {one_line(exc)}"
        ) from None
    finally:
        module.train(was_training)
    want = (1, channels, PROBE_SIDE * scale, PROBE_SIDE * scale)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
        got = "x".join(map(str, out.shape)) if isinstance(out, torch.Tensor) else type(out).__name__
        hint = ""
        if isinstance(out, torch.Tensor) and out.ndim == 4 and out.shape[-1] % PROBE_SIDE == 0:
            hint = f" (it upscales x{out.shape[-1] // PROBE_SIDE})"
        raise RegistrationError(
            f"model '{info.id}' ({info.origin}) gives {got} for a {PROBE_SIDE}x{PROBE_SIDE} "
            f"input at x{scale}; expected {'x'.join(map(str, want))}{hint}"
        )


def entry_point_families() -> list[EntryPoint]:
    """The ``repro.models`` entry points installed here, by name."""
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def entry_point_origin(ep: EntryPoint) -> str:
    dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "no distribution"
    return f"entry point {ep.name} = {ep.value} ({dist})"


def entry_point_provenance(ep: EntryPoint, origin: str) -> dict[str, Any]:
    """Recorded with every result of a plugin family's models: where from, and its source."""
    return {"origin": origin, "source_sha256": source_sha256(importlib.import_module(ep.module))}


def source_sha256(module) -> str | None:
    """sha256 over the source of ``module``'s top-level package (every ``.py`` under it, by
    relative path), or of its one file; None when it has no source file."""
    top = sys.modules.get(module.__name__.split(".")[0], module)
    where = getattr(top, "__file__", None) or getattr(module, "__file__", None)
    if where is None:
        return None
    path = Path(where)
    root = path.parent
    files = sorted(root.rglob("*.py")) if path.name == "__init__.py" else [path]
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.relative_to(root)}\0".encode() + f.read_bytes() + b"\0")
    return h.hexdigest()
