"""Cost metrics: properties of a model, not of an image, measured by repro.eval.complexity.

Each paper counts FLOPs its own way, so the counters live with the model families; these
entries hold the facts the comparison and the reports need (direction, unit, plot axis).
"""

from __future__ import annotations

import math

from repro.metrics.spec import MetricKind, MetricSpec

_ANY = (0.0, math.inf)


def _cost(name: str, description: str, *, unit: str = "", decimals: int = 3, axis: int = 0):
    return MetricSpec(
        name,
        MetricKind.COST,
        False,
        _ANY,
        description,
        decimals=decimals,
        unit=unit,
        cost_axis=axis,
    )


METRICS = (
    _cost("params", "trainable parameters (count)", decimals=0, axis=2),
    _cost(
        "flops",
        "floating-point operations of one forward, in G (the paper's counter)",
        unit="G",
        axis=1,
    ),
    _cost("madds", "multiply-adds of one forward, in G (the paper's counter)", unit="G", axis=1),
    _cost(
        "macs", "multiply-accumulates of one forward, in G (the paper's counter)", unit="G", axis=1
    ),
    _cost("latency_ms", "median wall time of one forward on the protocol's input", unit="ms"),
    _cost("latency_ratio", "latency relative to the same model with every window attended"),
    _cost("memory_mb", "peak allocated memory of one forward above the input", unit="MiB"),
    *(
        _cost(
            f"share_{part}",
            f"share of a CAMixer's runtime spent in its {part} (CAMixerSR supplementary Fig. 6)",
            unit="%",
            decimals=1,
        )
        for part in ("predictor", "attention", "convolution", "others")
    ),
)
