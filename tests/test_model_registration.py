"""Registration mistakes in a model family are one line naming the family and the field, and
break that family alone (every other model, and `validate` of other tables, keep working)."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest
import torch.nn as nn

from repro.errors import MissingWeightsError, RegistrationError
from repro.eval.predictor import load_model
from repro.models import registry
from repro.models.info import ModelInfo, check_declaration
from repro.tables.validate import validate
from repro.weights import WeightsEntry

FAMILY = """
import torch.nn as nn

from repro.models.info import ModelInfo


class Conv(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x):
        return self.shuffle(self.conv(x))


class Nearest(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.up = nn.Upsample(scale_factor=scale)

    def forward(self, x):
        return self.up(x)


MODELS = (
    ModelInfo({fields}),
)
"""
GOOD = 'id="zoofam", family="zoofam", variant="", scales=(2, 4), build=lambda scale: Conv(scale)'


@pytest.fixture
def family(tmp_path, monkeypatch):
    """Register a family module ``zoofam`` (as a built-in one) declared with the given fields."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # rewritten within one second
    monkeypatch.setattr(registry, "BUILT_IN_FAMILIES", (*registry.BUILT_IN_FAMILIES, "zoofam"))

    def declare(fields: str) -> None:
        (tmp_path / "zoofam.py").write_text(FAMILY.format(fields=fields))
        sys.modules.pop("zoofam", None)
        registry.reload()

    yield declare
    sys.modules.pop("zoofam", None)
    monkeypatch.undo()
    registry.reload()


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_every_built_in_family_registers_cleanly():
    """A broken built-in family would answer only when used: CI must see it here."""
    registry.reload()
    assert [f.error for f in registry.families() if f.error] == []
    assert {f.name for f in registry.families()} >= {"bicubic", "camixersr", "esc", "nafssr"}


def test_a_model_info_missing_a_field_breaks_only_its_family(family):
    family(GOOD.replace(" scales=(2, 4),", ""))
    with pytest.raises(RegistrationError) as caught:
        registry.get("zoofam")
    assert _one_line(caught) == (
        "model family 'zoofam' (built-in) cannot be registered: a ModelInfo is missing field "
        "'scales'"
    )
    assert registry.get("esc-light").id == "esc-light"
    assert validate("bicubic_classic")["table"] == "bicubic_classic"
    row = next(r for r in registry.listing() if r["id"] == "zoofam")
    assert row["description"].startswith("NOT REGISTERED: ")


def test_an_unknown_field_is_named(family):
    family(GOOD + ", scale=4")
    with pytest.raises(RegistrationError, match="a ModelInfo has no field 'scale'"):
        registry.get("zoofam")


def test_a_broken_built_in_family_answers_with_its_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "repro.models.esc", None)  # its import raises
    registry.reload()
    try:
        with pytest.raises(RegistrationError) as caught:
            registry.get("esc-light")
        assert _one_line(caught).startswith(
            "model family 'esc' (built-in) cannot be registered: ModuleNotFoundError: "
        )
        assert registry.get("camixersr-s").id == "camixersr-s"
        assert "esc" not in registry.all_models()
    finally:
        monkeypatch.undo()
        registry.reload()


def test_a_weightless_model_without_needs_weights_false_says_so_before_missing_weights(family):
    """Once reported as MISSING-WEIGHTS with no hint; now the field is named first."""
    family(GOOD.replace("Conv(scale)", "Nearest(scale)"))
    with pytest.raises(RegistrationError) as caught:
        load_model("zoofam", 2)
    assert not isinstance(caught.value, MissingWeightsError)
    assert _one_line(caught) == (
        "model family 'zoofam': ModelInfo 'zoofam' field 'needs_weights': the model has no "
        "parameters or buffers, so no checkpoint can fit it; declare needs_weights=False"
    )
    family(GOOD.replace("Conv(scale)", "Nearest(scale)") + ", needs_weights=False")
    module, prov = load_model("zoofam", 2)
    assert prov["weights"] is None and isinstance(module, nn.Module)


def test_needs_weights_false_on_a_model_with_parameters_is_refused(family):
    family(GOOD + ", needs_weights=False")
    with pytest.raises(
        RegistrationError,
        match=r"field 'needs_weights' is False, but the model "
        r"has parameters: they would be scored at their random initialisation",
    ):
        load_model("zoofam", 4)


ENTRY = WeightsEntry(id="zoofam-x2", filename="zoofam_x2.pth")
VALID = ModelInfo(
    id="zoofam-s", family="zoofam", variant="s", scales=(2,), build=lambda scale: None
)
WRONG_FIELDS = [
    (dict(id="ZooFam-S"), "field 'id' must be lowercase"),
    (dict(id="other-s"), "field 'id' must be 'zoofam' or start with 'zoofam-'"),
    (dict(family="zoo"), "field 'family' is 'zoo'; it must be the family's name, 'zoofam'"),
    (dict(scales=()), "field 'scales' must be a non-empty tuple of whole scales >= 1"),
    (dict(scales=[2, 4]), "field 'scales' must be a non-empty tuple"),
    (dict(scales=(2, 0)), "field 'scales' must be a non-empty tuple"),
    (dict(build="esc"), "field 'build' must be a callable"),
    (dict(settings="ratio"), "field 'settings' must be a tuple of setting names"),
    (dict(stereo="yes"), "field 'stereo' must be True or False"),
    (dict(complexity=3), "field 'complexity' must be a callable or None"),
    (dict(weights={2: ENTRY}), "field 'weights' default 'zoofam-x2' is not in its catalogue"),
    (
        dict(weights={4: ENTRY}, catalogue={ENTRY.id: ENTRY}),
        "field 'weights' has a default at x4, which is not in its scales",
    ),
    (
        dict(catalogue={"x": ENTRY}),
        "field 'catalogue' must map each weights id to its WeightsEntry",
    ),
    (
        dict(needs_weights=False, weights={2: ENTRY}, catalogue={ENTRY.id: ENTRY}),
        "field 'needs_weights' is False, but the model declares weights to load",
    ),
]


@pytest.mark.parametrize(("fields", "message"), WRONG_FIELDS)
def test_each_wrong_field_is_named(fields, message):
    with pytest.raises(RegistrationError) as caught:
        check_declaration(replace(VALID, **fields), "zoofam")
    assert message in _one_line(caught)
    assert _one_line(caught).startswith("model family 'zoofam': ")


def test_a_valid_declaration_passes_and_so_do_the_built_in_ones():
    check_declaration(replace(VALID, weights={2: ENTRY}, catalogue={ENTRY.id: ENTRY}), "zoofam")
    for info in registry.all_models().values():
        check_declaration(info, info.family)


def test_an_id_declared_twice_or_a_foreign_family_name_breaks_the_family(family):
    family(GOOD.replace('id="zoofam"', 'id="zoofam-esc"'))
    assert registry.get("zoofam-esc").family == "zoofam"
    family(f"{GOOD}),\n    ModelInfo({GOOD}")
    with pytest.raises(
        RegistrationError, match="model family 'zoofam': id 'zoofam' declared twice"
    ):
        registry.get("zoofam")
    family(GOOD.replace('id="zoofam", family="zoofam"', 'id="esc", family="esc"'))
    broken = [f for f in registry.families() if f.error]
    assert [f.name for f in broken] == ["zoofam"]
    assert "field 'family' is 'esc'; it must be the family's name, 'zoofam'" in broken[0].error
    assert registry.get("esc").origin == "built-in"
