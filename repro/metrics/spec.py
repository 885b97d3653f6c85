"""What the suite knows about one metric: every fact lives on its :class:`MetricSpec`.

Comparison (direction), reports (decimals, unit), plots (cost axis), table runs (kind, set-level,
readiness) and the CLI read these fields; no other list of metric names exists.
:func:`check_entry` says in one line which field of an entry is wrong or impossible with the
others; the registry then drops that metric alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from repro.errors import RegistrationError, ReproError
from repro.weights import WeightsEntry, check_found


class MetricKind(StrEnum):
    """What a metric compares, and so how it is called."""

    FIDELITY = "fidelity"  # pixel agreement with the HR image: fn(sr, hr, **protocol)
    PERCEPTUAL = "perceptual"  # learned agreement with the HR image: fn(sr, hr, **protocol)
    NO_REFERENCE = "no-reference"  # quality of the SR image alone: fn(sr, **protocol)
    COST = "cost"  # a property of the model (params, FLOPs, time): repro.eval.complexity


class SetLevelMetricError(ReproError):
    """A set-level metric (FID) called on a single image."""


@dataclass(frozen=True, eq=False)
class MetricSpec:
    """One metric: its name, how to call it and how to read and show its values."""

    name: str
    kind: MetricKind
    higher_is_better: bool
    range: tuple[float, float]
    description: str
    # per image; set-level metrics: impl(sr_images, hr_images, **kw); None: cost metrics
    impl: Callable[..., float] | None = None
    protocol_keys: Mapping[str, str] = field(default_factory=dict)  # protocol key -> impl kwarg
    fixed: Mapping[str, Any] = field(default_factory=dict)  # kwargs the metric fixes (channel)
    decimals: int = 3  # shown in reports, for values and deltas
    unit: str = ""  # of the stored value: "dB", "G" (1e9), "ms", "MiB"; "" for plain numbers
    cost_axis: int = 0  # rank as the x axis of a quality-vs-cost plot (0: never; 1 first)
    set_level: bool = False  # one value per pair of image sets (FID), not per image
    weights: tuple[WeightsEntry, ...] = ()  # weight files the metric needs
    weights_label: str = "weights"  # how messages name those files ("LPIPS weights")
    requires: Callable[[], None] | None = None  # raises NotRun when a backend is not importable

    @property
    def needs_reference(self) -> bool:
        return self.kind in (MetricKind.FIDELITY, MetricKind.PERCEPTUAL)

    def better(self, delta: float) -> bool:
        """Is a positive ``delta`` (reproduced - reported) in this metric's good direction?"""
        return delta > 0 if self.higher_is_better else delta < 0

    def fn(self, *images: Any, **protocol: Any) -> float:
        """Score images; reads the protocol keys this metric knows and ignores the rest."""
        if self.set_level:
            raise SetLevelMetricError(
                f"{self.name} is a set-level metric (one value for two image sets), not a "
                "per-image one: call repro.metrics.iqa.fid(sr_images_or_folder, "
                "hr_images_or_folder)"
            )
        if self.impl is None:
            raise ReproError(
                f"{self.name} is a property of the model, not of an image: it is measured by "
                "repro table (repro.eval.complexity)"
            )
        kwargs = {arg: protocol[key] for key, arg in self.protocol_keys.items() if key in protocol}
        kwargs.update(self.fixed)
        return self.impl(*images, **kwargs)

    __call__ = fn

    def score_sets(self, sr_images: Any, hr_images: Any, **protocol: Any) -> float:
        """A set-level metric (FID) of two image sets (sequences of uint8 images or folders)."""
        if not self.set_level or self.impl is None:
            raise ReproError(f"{self.name} is not a set-level metric: score images with fn()")
        kwargs = {arg: protocol[key] for key, arg in self.protocol_keys.items() if key in protocol}
        kwargs.update(self.fixed)
        return self.impl(sr_images, hr_images, **kwargs)

    def check_ready(self) -> None:
        """Raise NotRun when this metric cannot run here (backend or weights missing)."""
        if self.requires is not None:  # a missing backend is said before missing weights
            self.requires()
        check_found(self.weights, self.weights_label)


_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")
# kinds a set-level metric can be: it compares the SR set with the HR set
_SET_LEVEL_KINDS = (MetricKind.FIDELITY, MetricKind.PERCEPTUAL)


def check_entry(spec: object, module: str) -> None:
    """Raise a one-line RegistrationError naming the metric and the field at the first wrong or
    impossible field of a registry entry (declared in ``module``)."""
    if not isinstance(spec, MetricSpec):
        raise RegistrationError(f"{module}: declares a {type(spec).__name__}, not a MetricSpec")
    name = spec.name if isinstance(spec.name, str) else repr(spec.name)

    def bad(field_name: str, why: str) -> RegistrationError:
        return RegistrationError(f"metric '{name}' ({module}): field '{field_name}' {why}")

    if not isinstance(spec.name, str) or not _NAME.fullmatch(spec.name):
        raise bad("name", "must be lowercase letters, digits and '_' (e.g. 'psnr_y')")
    if not isinstance(spec.kind, MetricKind):
        raise bad("kind", f"must be one of {[str(k) for k in MetricKind]}")
    for flag in ("higher_is_better", "set_level"):
        if not isinstance(getattr(spec, flag), bool):
            raise bad(flag, "must be True or False")
    lo_hi = spec.range
    if not (
        isinstance(lo_hi, tuple)
        and len(lo_hi) == 2
        and all(isinstance(v, (int, float)) and not math.isnan(v) for v in lo_hi)
        and lo_hi[0] < lo_hi[1]
    ):
        raise bad("range", "must be (low, high) numbers with low < high")
    for text in ("description", "unit", "weights_label"):
        if not isinstance(getattr(spec, text), str):
            raise bad(text, "must be a string")
    cost = spec.kind is MetricKind.COST
    if cost and spec.impl is not None:
        raise bad("impl", "is given, but a cost metric is measured per model: leave it None")
    if not cost and not callable(spec.impl):
        raise bad("impl", f"must be the callable that scores a {spec.kind} metric")
    if spec.set_level and spec.kind not in _SET_LEVEL_KINDS:
        raise bad("set_level", f"is True, but a {spec.kind} metric has no HR set to compare with")
    for decimal_field in ("decimals", "cost_axis"):
        value = getattr(spec, decimal_field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise bad(decimal_field, "must be a whole number >= 0")
    if spec.cost_axis and not cost:
        raise bad("cost_axis", f"is {spec.cost_axis}, but only cost metrics are plot axes")
    if not isinstance(spec.protocol_keys, Mapping) or not isinstance(spec.fixed, Mapping):
        raise bad("protocol_keys", "and 'fixed' must be mappings")
    both = set(spec.protocol_keys.values()) & set(spec.fixed)
    if both:
        raise bad("fixed", f"fixes {sorted(both)}, which protocol_keys also set from the protocol")
    if not isinstance(spec.weights, tuple) or not all(
        isinstance(w, WeightsEntry) for w in spec.weights
    ):
        raise bad("weights", "must be a tuple of WeightsEntry")
    if spec.requires is not None and not callable(spec.requires):
        raise bad("requires", "must be a callable or None")
