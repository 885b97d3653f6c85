"""Models from outside the package: ``module:factory``, entry-point families (the template of
repro/models/README.md), strict loading with a diff, and what a bad plugin says."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from plugin_dist import install_dist_info, pip_install
from safetensors.torch import save_file

from repro.data.loaders import open_dataset
from repro.errors import (
    MissingWeightsError,
    NotRun,
    NotRunCode,
    RegistrationError,
    ReproError,
    WeightsError,
)
from repro.eval.predictor import load_model
from repro.eval.quick import dataset_job
from repro.eval.runner import evaluate
from repro.metrics import get_metric
from repro.models import registry
from repro.tables.run import run_table
from repro.tables.spec import parse_spec
from repro.tables.validate import check_spec

NETS = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """Bilinear upscaling plus a learned residual: N x 3 x H x W -> x scale."""

    def __init__(self, scale, width=8):
        super().__init__()
        self.scale = scale
        self.body = nn.Conv2d(3, width, 3, padding=1)
        self.up = nn.Conv2d(width, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x):
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base + self.shuffle(self.up(torch.relu(self.body(x))))


def build(scale, width=8):
    return Net(scale, width)


def half_scale(scale):
    return Net(max(scale // 2, 1))


def not_a_module(scale):
    return {"scale": scale}


def raises(scale):
    raise ValueError("width must be even")


class Crashes(Net):
    def forward(self, x):
        raise RuntimeError("shape mismatch in block 3")


def crashes(scale):
    return Crashes(scale)


NOT_CALLABLE = 3
'''


@pytest.fixture
def fresh_registry():
    """Families loaded anew for the test and again after it (plugins come and go)."""
    registry.reload()
    yield
    registry.reload()


@pytest.fixture
def nets(tmp_path, monkeypatch, fresh_registry) -> Path:
    """The module ``zoo_nets`` (factories good and bad) importable from a temporary folder."""
    folder = tmp_path / "user_code"
    folder.mkdir()
    (folder / "zoo_nets.py").write_text(NETS)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # edited within one second
    monkeypatch.delitem(sys.modules, "zoo_nets", raising=False)
    yield folder / "zoo_nets.py"
    sys.modules.pop("zoo_nets", None)


def _weights(tmp_path: Path, scale: int, fmt: str = "pth", seed: int = 0, **kw) -> Path:
    import zoo_nets

    torch.manual_seed(seed)
    state = zoo_nets.build(scale, **kw).state_dict()
    path = tmp_path / f"net_x{scale}.{fmt}"
    if fmt == "pth":
        torch.save({"params_ema": state}, path)
    else:
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def _direct_psnr(module, data, scale: int, protocol: dict) -> list[float]:
    """PSNR of each image with the module called directly (no predictor, no wrapper)."""
    out = []
    for name in data.names:
        sample = data.load(name)
        lr = torch.from_numpy(sample.lr).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            sr = module.eval()(lr).clamp(0, 1).mul(255).round().to(torch.uint8)
        sr = sr[0].permute(1, 2, 0).numpy()
        out.append(get_metric("psnr").fn(sr, sample.hr, **{**protocol, "crop": scale}))
    return out


# ----------------------------------------------------------------------------- module:factory


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_a_factory_model_scores_as_the_module_called_directly(nets, tmp_path, fmt):
    import zoo_nets

    path = _weights(tmp_path, 2, fmt, seed=1)
    data = open_dataset("Set5", 2)
    data.limit(3)
    job = dataset_job("zoo_nets:build", 2, data, weights_path=str(path))
    rows, prov = evaluate(job, data, progress=False, use_cache=False)
    torch.manual_seed(1)
    expected = _direct_psnr(zoo_nets.build(2), data, 2, job.protocol)
    assert [r["psnr"] for r in rows] == pytest.approx(expected, abs=1e-9)
    assert 20 < np.mean(expected) < 40  # a bilinear base: a real picture, not noise
    origin = prov["model"]["origin"]
    assert origin["origin"] == "module:factory" and origin["factory"] == "zoo_nets:build"
    assert re.fullmatch(r"[0-9a-f]{64}", origin["source_sha256"])
    assert prov["model"]["weights"]["sha256"] and "loading" not in prov["model"]  # strict


def test_editing_the_factory_source_changes_what_the_cache_is_keyed_on(nets, tmp_path):
    path = _weights(tmp_path, 2)
    _, before = load_model("zoo_nets:build", 2, weights_path=str(path))
    nets.write_text(NETS + "\n# a comment is an edit too\n")
    registry.reload()
    _, after = load_model("zoo_nets:build", 2, weights_path=str(path))
    assert before["origin"]["source_sha256"] != after["origin"]["source_sha256"]


def test_factory_settings_come_from_its_keyword_parameters(nets, tmp_path):
    path = _weights(tmp_path, 3, width=16)
    module, prov = load_model("zoo_nets:build", 3, {"width": 16}, weights_path=str(path))
    assert module.body.out_channels == 16 and prov["settings"] == {"width": 16}
    assert registry.get("zoo_nets:Net").settings == ("width",)  # a class works as a factory
    with pytest.raises(Exception, match=r"does not take setting\(s\) \['depth'\]; it takes: "):
        load_model("zoo_nets:build", 3, {"depth": 2}, weights_path=str(path))


BAD_FACTORIES = [
    (
        "zoo_nets:half_scale",
        r"gives 1x3x64x64 for a 32x32 input at x4; expected 1x3x128x128 "
        r"\(it upscales x2\)",
    ),
    (
        "zoo_nets:not_a_module",
        r"'zoo_nets:not_a_module' \(module:factory\): build returned a "
        r"dict, not a torch.nn.Module",
    ),
    (
        "zoo_nets:raises",
        r"'zoo_nets:raises' \(module:factory\) failed to build at x4: "
        r"ValueError: width must be even",
    ),
    ("zoo_nets:crashes", r"fails on a 1x3x32x32 input: RuntimeError: shape mismatch in block 3"),
    ("zoo_nets:NOT_CALLABLE", r"'NOT_CALLABLE' in module 'zoo_nets' is a int, not a callable"),
    ("zoo_nets:nope", r"module 'zoo_nets' has no 'nope'"),
    (
        "zoo_nots:build",
        r"cannot import module 'zoo_nots' \(ModuleNotFoundError: No module named "
        r"'zoo_nots'\)",
    ),
    ("zoo_nets:build:x", r"a factory is named module.path:callable"),
]


@pytest.mark.parametrize(("model", "message"), BAD_FACTORIES)
def test_a_bad_factory_is_one_line_naming_the_module(nets, tmp_path, model, message):
    with pytest.raises(RegistrationError) as caught:
        load_model(model, 4, weights_path=str(_weights(tmp_path, 4)))
    assert re.search(message, str(caught.value)) and "\n" not in str(caught.value)


def test_a_factory_failing_on_import_names_the_module(tmp_path, monkeypatch, fresh_registry):
    (tmp_path / "zoo_broken.py").write_text("import torch\nraise ImportError('needs timm')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        RegistrationError,
        match=r"cannot import module 'zoo_broken' "
        r"\(ImportError: needs timm\)",
    ):
        registry.get("zoo_broken:build")


def test_the_cli_prints_a_bad_factory_as_one_error_line(nets, tmp_path):
    """Exit code and stderr shape need a process; run from the folder holding the module."""
    path = _weights(tmp_path, 4)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "repro",
            "eval",
            "--model",
            "zoo_nets:half_scale",
            "--scale",
            "4",
            "--dataset",
            "Set5",
            "--weights",
            str(path),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        cwd=nets.parent,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: model 'zoo_nets:")


# ----------------------------------------------------------------------------- strict loading


def test_strict_loading_refuses_with_a_one_line_diff_and_non_strict_records_it(nets, tmp_path):
    import zoo_nets

    torch.manual_seed(3)
    state = zoo_nets.build(2).state_dict()
    state.pop("up.weight"), state.pop("up.bias")
    state["head.0.weight"] = torch.zeros(1)
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError) as caught:
        load_model("zoo_nets:build", 2, weights_path=str(path))
    text = str(caught.value)
    assert "2 missing keys ('up.weight', 'up.bias'); 1 unexpected key ('head.0.weight')" in text
    assert "--non-strict" in text and "\n" not in text

    module, prov = load_model("zoo_nets:build", 2, weights_path=str(path), strict=False)
    assert torch.equal(module.body.weight, state["body.weight"])  # what fits is loaded
    assert prov["loading"] == {
        "strict": False,
        "missing_keys": 2,
        "unexpected_keys": 1,
        "missing": ["up.weight", "up.bias"],
        "unexpected": ["head.0.weight"],
    }


def test_non_strict_still_refuses_other_shapes_and_a_checkpoint_of_nothing(nets, tmp_path):
    path = _weights(tmp_path, 4)
    with pytest.raises(
        WeightsError,
        match=r"'up.weight' has shape \(48, 8, 3, 3\), the model "
        r"expects \(12, 8, 3, 3\) \(\+1 more of another shape\)",
    ):
        load_model("zoo_nets:build", 2, weights_path=str(path), strict=False)
    alien = tmp_path / "alien.pth"
    torch.save({"conv_first.weight": torch.zeros(2)}, alien)
    with pytest.raises(WeightsError, match="none of its keys is the model's"):
        load_model("zoo_nets:build", 2, weights_path=str(alien), strict=False)


# ----------------------------------------------------------------------------- entry points


def _readme_template() -> str:
    """The template family of repro/models/README.md, as printed there."""
    readme = Path(registry.__file__).with_name("README.md").read_text()
    block = readme.split("# tinysr_family.py\n", 1)[1].split("```", 1)[0]
    assert "MODELS = (" in block
    return block


@pytest.fixture
def site(tmp_path, monkeypatch, fresh_registry) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in ("tinysr_family", "zoo_bad_family", "zoo_clash_family"):
        sys.modules.pop(name, None)


def test_an_entry_point_family_registers_like_a_built_in_one(site, tmp_path):
    install_dist_info(
        site,
        "tinysr-dist",
        {"tinysr_family": _readme_template()},
        {"repro.models": {"tinysr": "tinysr_family:MODELS"}},
    )
    info = registry.get("TinySR")
    assert info.origin == "entry point tinysr = tinysr_family:MODELS (tinysr-dist 0.3)"
    listed = {row["id"]: row for row in registry.listing()}
    assert listed["tinysr"]["origin"] == info.origin
    assert listed["esc-light"]["origin"] == "built-in"

    import tinysr_family

    torch.manual_seed(0)
    path = tmp_path / "tinysr_x3.safetensors"
    save_file(tinysr_family.TinySR(3, width=4).state_dict(), str(path))
    module, prov = load_model("tinysr", 3, {"width": 4}, weights_path=str(path))
    assert prov["origin"]["origin"] == info.origin and len(prov["origin"]["source_sha256"]) == 64
    x = torch.rand(1, 3, 10, 12)
    assert module(x).shape == (1, 3, 30, 36)
    with pytest.raises(Exception, match="has no x8 variant"):
        load_model("tinysr", 8, weights_path=str(path))


def test_the_readme_template_installs_with_pip_and_evaluates(tmp_path, monkeypatch, fresh_registry):
    """A real distribution, built and installed offline by pip (about 3 s: a pip run)."""
    pytest.importorskip("setuptools", reason="pip builds the distribution with setuptools")
    src = tmp_path / "src"
    (src / "tinysr_family").mkdir(parents=True)
    (src / "tinysr_family" / "__init__.py").write_text(_readme_template())
    (src / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "tinysr-family"
        version = "1.2"
        [project.entry-points."repro.models"]
        tinysr = "tinysr_family:MODELS"
        """)
    )
    target = tmp_path / "site"
    pip_install(src, target)
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.delitem(sys.modules, "tinysr_family", raising=False)
    assert registry.get("tinysr").origin.endswith("(tinysr-family 1.2)")
    from tinysr_family import TinySR

    torch.manual_seed(5)
    path = tmp_path / "tinysr_x2.pth"
    torch.save(TinySR(2).state_dict(), path)
    data = open_dataset("Set5", 2)
    data.limit(2)
    job = dataset_job("tinysr", 2, data, weights_path=str(path))
    rows, _ = evaluate(job, data, progress=False, use_cache=False)
    torch.manual_seed(5)
    assert [r["psnr"] for r in rows] == pytest.approx(
        _direct_psnr(TinySR(2), data, 2, job.protocol), abs=1e-9
    )
    sys.modules.pop("tinysr_family", None)


def test_a_plugin_that_fails_to_import_breaks_only_itself(site):
    install_dist_info(
        site,
        "bad-dist",
        {"zoo_bad_family": "raise RuntimeError('no CUDA')\n"},
        {"repro.models": {"badfam": "zoo_bad_family:MODELS"}},
    )
    with pytest.raises(RegistrationError) as caught:
        registry.get("badfam-large")
    assert str(caught.value) == (
        "model family 'badfam' (entry point badfam = zoo_bad_family:MODELS (bad-dist 0.3)) "
        "cannot be registered: RuntimeError: no CUDA"
    )
    assert registry.get("esc-light").id == "esc-light"  # every other model still works
    row = next(r for r in registry.listing() if r["id"] == "badfam")
    assert row["description"].startswith("NOT REGISTERED: model family 'badfam'")


def test_a_plugin_taking_a_built_in_id_or_another_family_s_name_is_refused(site):
    source = (
        _readme_template()
        .replace('id="tinysr"', 'id="esc-light"')
        .replace('family="tinysr"', 'family="esc"')
    )
    install_dist_info(
        site,
        "clash-dist",
        {"zoo_clash_family": source},
        {"repro.models": {"esc": "zoo_clash_family:MODELS"}},
    )
    assert registry.get("esc-light").origin == "built-in"
    broken = [f for f in registry.families() if f.error]
    assert [f.error.split(" (entry")[0] for f in broken] == ["model family 'esc'"]
    assert "name 'esc' is already registered" in broken[0].error


# ----------------------------------------------------------------------------- a user table


SPEC = """\
id: {id}
title: "A factory model in a user's own table"
paper: "tests"
source: {{note: "random weights: the reported numbers are the model's own, computed directly"}}
protocol: {{version: 1, task: classic, channel: "y", crop: scale, lr: official, gray: rgb3,
           ssim: matlab}}
tolerance: {{psnr: 0.0001}}
columns:
  - {{dataset: Set5, metric: psnr}}
rows:
  - {{id: mine, label: "My net x2", model: "zoo_nets:build", scale: 2, reported: [{value}]}}
"""


def test_a_factory_row_in_a_user_spec_runs_as_the_module_called_directly(nets, tmp_path):
    import zoo_nets

    path = _weights(tmp_path, 2, seed=7)
    data = open_dataset("Set5", 2)
    protocol = {"channel": "y", "gray": "rgb3"}
    torch.manual_seed(7)
    direct = float(np.mean(_direct_psnr(zoo_nets.build(2), data, 2, protocol)))
    spec_path = tmp_path / "specs" / "my_table.yaml"
    spec_path.parent.mkdir()
    spec_path.write_text(SPEC.format(id="my_table", value=round(direct, 4)))
    spec = parse_spec(spec_path)
    check_spec(spec)
    result = run_table(spec, weights={"mine": str(path)}, progress=False, use_cache=False)
    (cell,) = result.cells
    assert cell.reproduced == pytest.approx(direct, abs=1e-9) and cell.status == "PASS"
    assert result.provenance["jobs"][0]["model"]["origin"]["factory"] == "zoo_nets:build"


# ----------------------------------------------------------------------------- spandrel absent


def test_without_spandrel_a_command_says_what_to_install_and_a_table_names_the_extra(
    tmp_path, monkeypatch, fresh_registry
):
    monkeypatch.setitem(sys.modules, "spandrel", None)  # as if not installed
    path = tmp_path / "any.pth"
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(NotRun) as caught:
        load_model("spandrel", 4, weights_path=str(path))
    assert caught.value.code is NotRunCode.MISSING_EXTRA
    assert 'pip install "repro[zoo]"' in str(caught.value)
    spec_path = tmp_path / "zoo_table.yaml"
    spec_path.write_text(
        SPEC.format(id="zoo_table", value=30.0).replace('"zoo_nets:build"', "spandrel")
    )
    # its only cell lacks the extra: nothing measured is a one-line error naming the extra
    with pytest.raises(ReproError, match="no cell could be measured.*the zoo extra"):
        run_table(parse_spec(spec_path), progress=False)


def test_a_spandrel_model_without_weights_asks_for_them(tmp_path):
    pytest.importorskip("spandrel", reason="needs the zoo extra")
    with pytest.raises(MissingWeightsError, match="pass --weights PATH"):
        load_model("spandrel", 4)
