"""A measured number that keeps how it was measured: the statistic of repeated samples, how many
there were and their spread, which a verdict reads (timed cells: :mod:`repro.models.timing`).
Torch-free, so that comparing and reporting saved cells imports no model code."""

from __future__ import annotations

import statistics
from collections.abc import Callable

STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "median": statistics.median,
    "mean": statistics.fmean,
    "min": min,
}


class Sampled(float):
    """A statistic of repeated measurements that keeps how it was made: ``repeats`` samples
    whose interquartile range is ``spread`` (low, high), where the middle half of them lie.
    ``repeats == 0``: the value is exact by definition (``note`` says why), nothing measured."""

    repeats: int
    spread: tuple[float, float]
    note: str | None

    def __new__(
        cls, value: float, repeats: int, spread: tuple[float, float], note: str | None = None
    ) -> Sampled:
        self = super().__new__(cls, value)
        self.repeats, self.spread, self.note = repeats, (float(spread[0]), float(spread[1])), note
        return self

    def __reduce__(self):
        return (Sampled, (float(self), self.repeats, self.spread, self.note))

    @classmethod
    def of(cls, samples: list[float], statistic: str) -> Sampled:
        """The ``statistic`` of ``samples`` with the range of their middle half (25th-75th
        percentile, interpolated). Not the 5th-95th: with a dozen rounds that is nearly the
        lowest and the highest, so one round slowed by other work on the machine would flip the
        verdict between two runs."""
        if len(samples) < 2:
            low = high = samples[0]
        else:
            low, _, high = statistics.quantiles(samples, n=4, method="inclusive")
        return cls(STATISTICS[statistic](samples), len(samples), (low, high))

    @property
    def exact(self) -> bool:
        return self.repeats == 0


def by_definition(value: float, why: str) -> Sampled:
    """A number no measurement is needed for (a ratio of a state to itself)."""
    return Sampled(value, 0, (value, value), why)
