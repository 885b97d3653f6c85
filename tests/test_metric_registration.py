"""A metric entry with an impossible combination of fields is one line naming the metric and the
field, and breaks that metric alone."""

from __future__ import annotations

import math
import sys
import types
from dataclasses import replace

import pytest

from repro.errors import RegistrationError
from repro.metrics import MetricKind, MetricSpec, all_metrics, get_metric, registry
from repro.metrics.registry import broken_metrics
from repro.weights import WeightsEntry


def _score(sr, hr):
    return 1.0


GOOD = MetricSpec("zoo_good", MetricKind.FIDELITY, True, (0.0, 1.0), "a test metric", impl=_score)
IMPOSSIBLE = [
    (dict(kind=MetricKind.COST), "field 'impl' is given, but a cost metric is measured per model"),
    (dict(impl=None), "field 'impl' must be the callable that scores a fidelity metric"),
    (
        dict(kind=MetricKind.NO_REFERENCE, set_level=True),
        "field 'set_level' is True, but a no-reference metric has no HR set to compare with",
    ),
    (dict(cost_axis=1), "field 'cost_axis' is 1, but only cost metrics are plot axes"),
    (dict(range=(1.0, 0.0)), "field 'range' must be (low, high) numbers with low < high"),
    (dict(range=(0.0, math.nan)), "field 'range' must be (low, high)"),
    (dict(decimals=-1), "field 'decimals' must be a whole number >= 0"),
    (
        dict(protocol_keys={"channel": "channel"}, fixed={"channel": "y"}),
        "field 'fixed' fixes ['channel'], which protocol_keys also set from the protocol",
    ),
    (dict(kind="fidelity"), "field 'kind' must be one of"),
    (dict(higher_is_better=1), "field 'higher_is_better' must be True or False"),
    (dict(weights=(WeightsEntry("w", "w.pth"), "lpips")), "field 'weights' must be a tuple of"),
]


@pytest.fixture
def extra_metrics(monkeypatch):
    """Register a module of extra MetricSpec entries; the registry is rebuilt around the test."""

    def register(*specs) -> None:
        module = types.ModuleType("zoo_metrics")
        module.METRICS = specs
        monkeypatch.setitem(sys.modules, "zoo_metrics", module)
        monkeypatch.setattr(registry, "METRIC_MODULES", (*registry.METRIC_MODULES, "zoo_metrics"))
        registry.all_metrics.cache_clear()

    yield register
    monkeypatch.undo()
    registry.all_metrics.cache_clear()


@pytest.mark.parametrize(("fields", "message"), IMPOSSIBLE)
def test_an_impossible_entry_is_one_line_and_breaks_only_that_metric(
    extra_metrics, fields, message
):
    extra_metrics(replace(GOOD, name="zoo_bad", **fields), GOOD)
    with pytest.raises(RegistrationError) as caught:
        get_metric("ZOO_BAD")
    text = str(caught.value)
    assert text.startswith("metric 'zoo_bad' (zoo_metrics): ") and message in text
    assert "\n" not in text
    assert get_metric("zoo_good") is GOOD and get_metric("psnr").name == "psnr"
    assert "zoo_bad" not in all_metrics()


def test_a_name_that_cannot_be_a_key_is_refused(extra_metrics):
    extra_metrics(replace(GOOD, name="Zoo Bad"))
    assert broken_metrics() == {
        "zoo bad": "metric 'Zoo Bad' (zoo_metrics): field 'name' must be lowercase letters, "
        "digits and '_' (e.g. 'psnr_y')"
    }


def test_every_shipped_metric_entry_is_possible():
    registry.all_metrics.cache_clear()
    assert broken_metrics() == {}
    assert len(all_metrics()) >= 20
