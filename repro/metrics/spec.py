"""What the suite knows about one metric: every fact lives on its :class:`MetricSpec`.

Comparison (direction), reports (decimals, unit), plots (cost axis), table runs (kind, set-level,
readiness) and the CLI read these fields; no other list of metric names exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from repro.errors import ReproError
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
