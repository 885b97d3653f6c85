"""What ``repro pull NAME`` fetches: the weight files a weights id, model or metric names.

A name is, in this order: the id of a released checkpoint (``esc-x4-dflip``) or of a metric's
weight file (``pyiqa-musiq-koniq``); a model id (its default checkpoints, one scale or all); a
metric name (every file the metric reads). The fetching itself is
:func:`repro.weights.fetch.pull`.
"""

from __future__ import annotations

from repro.errors import UnknownNameError, WeightsError, did_you_mean
from repro.eval.predictor import find_weights_entry, weights_table
from repro.metrics import all_metrics
from repro.models import registry
from repro.models.info import ModelInfo
from repro.weights import WeightsEntry


def metric_files() -> dict[str, WeightsEntry]:
    """Every weight file a registered metric reads, by id."""
    return {e.id: e for spec in all_metrics().values() for e in spec.weights}


def pull_entries(name: str, scale: int | None = None) -> list[WeightsEntry]:
    """The weight files ``name`` stands for (``scale``: a model's checkpoint at that scale only).

    UnknownNameError naming close matches when ``name`` is none of the kinds above.
    """
    files = {**metric_files(), **weights_table()}
    if name in files:
        return [files[name]]
    key = name.lower()
    model = registry.ALIASES.get(key, key) in registry.all_models()
    metric = all_metrics().get(key)
    if model and metric is not None:
        raise UnknownNameError(
            f"'{name}' is both a model and a metric; pull the weights ids instead: "
            f"{', '.join(e.id for e in metric.weights)} or the model's (repro ls models)"
        )
    if metric is not None:
        if not metric.weights:
            raise WeightsError(f"metric {metric.name} reads no weight files: nothing to pull")
        return list(metric.weights)
    if model:
        return _model_entries(registry.get(name), scale)
    known = [*files, *registry.all_models(), *all_metrics()]
    raise UnknownNameError(
        f"unknown weights, model or metric '{name}'; {did_you_mean(name, known)} (list them "
        "with: repro ls models, repro ls metrics)"
    )


def _model_entries(info: ModelInfo, scale: int | None) -> list[WeightsEntry]:
    scales = [scale] if scale else sorted(info.weights)
    if not scales:
        raise WeightsError(f"{info.id} has no released checkpoints: nothing to pull")
    entries = []
    for s in scales:
        entry = find_weights_entry(info, s, None)
        if entry is None:
            raise WeightsError(f"{info.id} has no released checkpoint at x{s}")
        entries.append(entry)
    return entries
