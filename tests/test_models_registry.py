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


def test_every_family_package_is_registered():
    """A family package that the registry does not list would be silently missing."""
    import pkgutil

    families = {info.family for info in models.all_models().values()}
    packages = {m.name for m in pkgutil.iter_modules(models.__path__) if m.ispkg}
    assert packages and packages <= families


def test_families_declare_counters_and_predictors_as_fields():
    assert models.get("camixersr-s").complexity is not None
    assert models.get("esc").complexity is not None
    assert models.get("nafssr-t").complexity is None  # params and latency only
    assert models.get("bicubic").predict_uint8 is not None
    assert models.get("esc").predict_uint8 is None
    assert set(models.get("esc").catalogue) >= {"esc-x2-dflip", "esc-x4"}
