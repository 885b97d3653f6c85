"""Each metric's facts live on its registry entry; comparison and reports read them there."""

from __future__ import annotations

import math
import sys
import types

import pytest

from repro.errors import RegistrationError
from repro.metrics import MetricKind, MetricSpec, all_metrics, get_metric, registry
from repro.report.markdown import fmt, fmt_delta
from repro.tables.compare import judge
from repro.tables.spec import load_spec, table_ids


@pytest.fixture
def fresh_registry(monkeypatch):
    """The registry rebuilt from a patched module list, restored afterwards."""
    registry.all_metrics.cache_clear()
    yield monkeypatch
    registry.all_metrics.cache_clear()


def test_every_metric_a_table_names_is_registered_with_its_facts():
    named = {c.metric for t in table_ids() for c in load_spec(t).columns}
    metrics = all_metrics()
    assert named <= set(metrics)
    for spec in metrics.values():
        assert isinstance(spec.kind, MetricKind), spec.name
        assert spec.range[0] < spec.range[1] and spec.decimals >= 0, spec.name
        # per-image and set-level metrics have an implementation; costs are measured per model
        assert (spec.impl is not None) == (spec.kind is not MetricKind.COST), spec.name
        assert set(spec.protocol_keys.values()).isdisjoint(spec.fixed), spec.name


def test_direction_comes_from_the_entry():
    # a 0.1 drop beyond tolerance: worse for PSNR, better for LPIPS and for a cost
    assert judge("psnr", 30.0, 29.9, 0.01)[0] == "FAIL"
    assert judge("lpips", 0.3, 0.2, 0.01)[0] == "IMPROVED"
    assert judge("params", 100.0, 90.0, 0.0)[0] == "IMPROVED"
    assert judge("ssim", 0.9, 0.9, 0.0)[0] == "PASS"


def test_display_precision_comes_from_the_entry():
    assert fmt(0.912345, "ssim") == "0.9123" and fmt(28.123456, "psnr") == "28.123"
    assert fmt(1234567.0, "params") == "1,234,567" and fmt_delta(0.00012, "ssim") == "+0.0001"
    assert fmt_delta(-0.00004, "ssim") == "+0.0000"  # rounded to zero: no minus sign
    assert fmt_delta(-0.0004, "psnr") == "+0.000" and fmt_delta(-0.0006, "psnr") == "-0.001"
    assert fmt(math.nan, "psnr") == "–"


def test_a_metric_added_in_one_module_flows_through_compare_and_reports(fresh_registry):
    module = types.ModuleType("fake_metrics")
    module.METRICS = (
        MetricSpec(
            "blur_energy",
            MetricKind.NO_REFERENCE,
            False,
            (0.0, math.inf),
            "a test metric: lower is better, two decimals",
            impl=lambda img, *, crop=0: float(crop),
            protocol_keys={"iqa_crop": "crop"},
            decimals=2,
        ),
    )
    fresh_registry.setitem(sys.modules, "fake_metrics", module)
    fresh_registry.setattr(registry, "METRIC_MODULES", (*registry.METRIC_MODULES, "fake_metrics"))
    spec = get_metric("BLUR_ENERGY")
    assert spec.fn(None, iqa_crop=4, channel="y") == 4.0  # reads its key, ignores the rest
    assert judge("blur_energy", 2.0, 1.0, 0.1)[0] == "IMPROVED"
    assert fmt(1.23456, "blur_energy") == "1.23"


def test_a_metric_module_that_fails_to_import_fails_loudly(fresh_registry):
    fresh_registry.setattr(registry, "METRIC_MODULES", (*registry.METRIC_MODULES, "repro.nope"))
    with pytest.raises(ModuleNotFoundError, match="repro.nope"):
        all_metrics()


def test_two_modules_registering_one_name_are_refused(fresh_registry):
    module = types.ModuleType("dup_metrics")
    module.METRICS = (get_metric("psnr"),)
    fresh_registry.setitem(sys.modules, "dup_metrics", module)
    fresh_registry.setattr(registry, "METRIC_MODULES", (*registry.METRIC_MODULES, "dup_metrics"))
    registry.all_metrics.cache_clear()
    with pytest.raises(RegistrationError, match=r"'psnr' is registered twice \(repro.metrics."):
        get_metric("psnr")
    assert "psnr" not in all_metrics() and get_metric("ssim").name == "ssim"  # psnr alone


def test_cost_and_set_level_metrics_refuse_per_image_calls():
    with pytest.raises(Exception, match="property of the model"):
        get_metric("flops").fn()
    assert not get_metric("niqe").needs_reference and get_metric("dists").needs_reference
