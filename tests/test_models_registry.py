"""The model registry's public API: build by family and variant, paper aliases, errors."""

import pytest

import repro.models as models
from repro.errors import ReproError, UnknownNameError


def test_build_api_and_paper_aliases():
    net = models.build("camixersr", variant="s", scale=4, ratio=0.5)
    assert net.ratio == 0.5 and "head.weight" in net.state_dict()
    assert models.get("esc-base").id == "esc" and models.get("ESC-lt").id == "esc-light"


def test_build_refuses_unknown_scale_setting_and_model():
    with pytest.raises(ReproError, match="no x3 variant"):
        models.build("nafssr", "t", scale=3)
    with pytest.raises(ReproError, match="does not take setting"):
        models.build("esc", "light", scale=4, ratio=0.5)
    with pytest.raises(UnknownNameError, match="unknown model"):
        models.build("swinir", "light", scale=4)
