"""Where a CAMixer's time goes: the share of each component in the mixers' runtime, as the
CAMixerSR supplementary Fig. 6 plots it (predictor, attention, convolution, others; self-attention
67.8 % at gamma 1).

The components are the official forward's parts: the predictor (``route``: offsets, channel and
spatial attention maps, window scores and the selection), the attention branch (``_mix``: keys
warped by the offsets, projections, window attention and the scatter back), the convolution
(``conv_sptial``), and everything else of the mixer (``project_v``, ``project_out``, the GELU,
the products). Each is timed around its call, on the setting's clock, in every mixer of the
model; a call inside one already timed counts for the outer one.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch.nn as nn

from repro.errors import NotRun, NotRunCode
from repro.metrics.sampled import Sampled
from repro.models.timing import LatencySetting, check_runnable, timed_forward

COMPONENTS = ("predictor", "attention", "convolution", "others")


# one profile serves a row's four share columns: model -> ((setting, scale, routing), shares)
_LAST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def runtime_shares(model: nn.Module, setting: LatencySetting, *, scale: int) -> dict[str, Sampled]:
    """Each component's share (%) of the mixers' time, the setting's statistic over its
    ``repeats`` forwards (after ``warmup``), with their spread. A model's last
    profile serves again for the same setting and routing (a table asks once per component)."""
    check_runnable(setting, "share_attention")
    key = (setting, scale, repr(getattr(model, "routing", None)))
    last = _LAST.get(model)
    if last is None or last[0] != key:
        _LAST[model] = last = (key, _profile(model, setting, scale))
    return last[1]


def _profile(model: nn.Module, setting: LatencySetting, scale: int) -> dict[str, Sampled]:
    samples: dict[str, list[float]] = {c: [] for c in COMPONENTS}
    with timed_forward(model, setting, scale=scale) as (module, x, clock):
        mixers = [m for m in module.modules() if hasattr(m, "conv_sptial")]
        if not mixers:
            raise NotRun(NotRunCode.NOT_IMPLEMENTED, f"{type(module).__name__} has no CAMixer")
        with _instrumented(mixers, clock) as spent:
            for _ in range(setting.warmup):
                module(x)
            for _ in range(setting.repeats):
                spent.clear()
                module(x)
                total = spent.pop("total")
                spent["others"] = total - sum(spent.values())
                for c in COMPONENTS:
                    samples[c].append(100.0 * spent.get(c, 0.0) / total)
    return {c: Sampled.of(samples[c], setting.statistic) for c in COMPONENTS}


@contextmanager
def _instrumented(mixers: list[nn.Module], clock: Callable[[], float]) -> Iterator[dict]:
    """Wrap each mixer's component calls to add their time (ms) to the yielded dict; the
    instance attributes are removed afterwards, restoring the class's methods."""
    spent: dict[str, float] = {}
    active: list[str] = []

    def timed(name: str, call: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            if active and name != "total":
                return call(*args, **kwargs)  # inside a timed component: counted there
            if name != "total":
                active.append(name)
            start = clock()
            try:
                return call(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + clock() - start
                if name != "total":
                    active.pop()

        return wrapper

    patched: list[tuple[object, str]] = []
    for m in mixers:
        targets = [
            (m, "forward", "total"),
            (m.route, "features", "predictor"),
            (m.route, "scores", "predictor"),
            (m.route.out_SA, "forward", "predictor"),
            (m, "_select", "predictor"),
            (m, "_mix", "attention"),
            (m.conv_sptial, "forward", "convolution"),
        ]
        for owner, attr, name in targets:
            setattr(owner, attr, timed(name, getattr(owner, attr)))
            patched.append((owner, attr))
    try:
        yield spent
    finally:
        for owner, attr in patched:
            delattr(owner, attr)
