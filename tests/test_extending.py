"""Extending without touching the package (issue #21, point 6): the README's "Extending"
section, run as written; metrics from entry points (group ``repro.metrics``); the code key of a
metric from outside the package."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_run import run_cli
from plugin_dist import install_dist_info, pip_install

from repro.data.imresize import imresize_uint8
from repro.data.loaders import open_dataset
from repro.errors import RegistrationError
from repro.eval.code_key import job_code, job_roots
from repro.metrics import get_metric, registry
from repro.models import registry as models
from repro.paths import REPO_ROOT, shared_root, source_checkout
from repro.provenance import PACKAGE_DIR, code_closure
from repro.workspace import resolve, using

README = REPO_ROOT / "README.md"
PHOTOS = ("bird", "butterfly", "head")  # three Set5 images stand for the user's photos


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Extending\n", 1)[1].split("\n## ", 1)[0]


def _file_blocks() -> dict[str, str]:
    """The README section's code blocks that start with ``# <file name>``, by file name."""
    blocks = re.findall(r"```\w+\n# (\S+)\n(.*?)```", _section(), re.S)
    return {name: body for name, body in blocks}


def _commands() -> list[list[str]]:
    """The ``repro ...`` lines of the section's console blocks, in order."""
    lines = []
    for block in re.findall(r"```console\n(.*?)```", _section(), re.S):
        lines += [shlex.split(line) for line in block.splitlines() if line.startswith("repro ")]
    return lines


@pytest.fixture
def plugins_reset():
    """Model families and metrics loaded anew for the test and again after it."""
    models.reload()
    registry.reload()
    yield
    models.reload()
    registry.reload()


def _git_status() -> str | None:
    if not source_checkout() or shutil.which("git") is None:
        return None
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout if done.returncode == 0 else None


# ----------------------------------------------------------------------------- README, as written


def test_the_readme_extending_section_runs_as_written(tmp_path, monkeypatch, plugins_reset):
    """pip installs the README's distribution (about 3 s), then every command of the section
    runs in-process from a user's folder, into the default workspace there."""
    pytest.importorskip("setuptools", reason="pip builds the distribution with setuptools")
    blocks = _file_blocks()
    assert set(blocks) == {"mysr_extras.py", "pyproject.toml", "my_tables/sharp_vs_bicubic.yaml"}
    git_before = _git_status()

    src = tmp_path / "mysr-extras"
    src.mkdir()
    for name in ("mysr_extras.py", "pyproject.toml"):
        (src / name).write_text(blocks[name])
    pip_install(src, tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "mysr_extras", raising=False)

    user = tmp_path / "me"  # the user's folder: photos, specs, and the default workspace
    (user / "photos" / "MyShots").mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy(
            shared_root() / "data" / "Set5" / "HR" / f"{name}.png", user / "photos" / "MyShots"
        )
    spec_path = user / "my_tables" / "sharp_vs_bicubic.yaml"
    spec_path.parent.mkdir()
    spec_path.write_text(blocks["my_tables/sharp_vs_bicubic.yaml"])
    monkeypatch.chdir(user)
    monkeypatch.delenv("REPRO_OUT")  # README: ./repro-workspace

    commands = _commands()
    assert [c[1] for c in commands] == ["card", "validate", "table"]
    done = {c[1]: run_cli(*c[1:]) for c in commands}
    for run in done.values():
        assert run.rc == 0, run
    assert "sharp_vs_bicubic: spec OK (protocol v1, 2 rows x 2 columns)" in done["validate"].stdout
    assert "ready:   data MyShots x2:" in done["validate"].stdout

    origin = "entry point {} = mysr_extras:{} (mysr-extras 0.1)"
    listed = json.loads(run_cli("ls", "metrics", "--json").stdout)
    assert {r["id"]: r["origin"] for r in listed}["mae"] == origin.format("mae", "METRICS")
    listed = json.loads(run_cli("ls", "models", "--json").stdout)
    assert {r["id"]: r["origin"] for r in listed}["sharpbilinear"] == origin.format(
        "sharpbilinear", "MODELS"
    )

    ws = user / "repro-workspace"
    assert (ws / "cards" / "MyShots.yaml").is_file()
    assert (ws / "reports" / "sharp_vs_bicubic.md").is_file()
    cells = json.loads((ws / "results" / "sharp_vs_bicubic.cells.json").read_text())["cells"]
    direct = _direct_values(user / "photos")
    got = {(c["row"], c["metric"]): c for c in cells}
    assert set(got) == set(direct)
    for key, value in direct.items():
        assert got[key]["reproduced"] == pytest.approx(value, abs=1e-9), key
        assert got[key]["images"] == len(PHOTOS) and got[key]["status"] == "PASS", got[key]
    assert direct[("sharp", "mae")] != pytest.approx(direct[("bicubic", "mae")], abs=0.1)
    assert _git_status() == git_before  # nothing written into the checkout


def _direct_values(photos: Path) -> dict[tuple[str, str], float]:
    """Each cell computed here without the suite's runner: the models called directly on the
    LR images, the user's metric function and PSNR on Y (crop = scale), averaged."""
    import mysr_extras

    from repro.metrics.fidelity import psnr

    def sharp(lr: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            y = mysr_extras.SharpBilinear(2, amount=0.5)(x).clamp(0, 1)
        return (y[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()

    rows = {"bicubic": lambda lr: imresize_uint8(lr, 2.0), "sharp": sharp}
    with using(resolve()):  # the workspace's cards/ holds MyShots
        data = open_dataset("MyShots", 2, data_root=photos, use_hub=False)
        samples = [data.load(name) for name in data.names]
    assert len(samples) == len(PHOTOS)
    values = {}
    for row, upscale in rows.items():
        outputs = [(upscale(s.lr), s.hr) for s in samples]
        values[row, "psnr"] = float(np.mean([psnr(sr, hr, crop=2) for sr, hr in outputs]))
        values[row, "mae"] = float(np.mean([mysr_extras.mae(sr, hr, crop=2) for sr, hr in outputs]))
    return values


# ----------------------------------------------------------------------------- metric entry points

METRIC_SOURCE = """
import numpy as np

from repro.metrics import MetricKind, MetricSpec
from {module}.util import absolute_error


def mean_error(sr, hr, *, crop=0):
    return absolute_error(sr, hr, crop)


MEAN_ERROR = MetricSpec(
    name="{name}",
    kind=MetricKind.FIDELITY,
    higher_is_better=False,
    range=(0.0, 255.0),
    description="mean absolute error (a test plugin)",
    impl=mean_error,
    protocol_keys={{"crop": "crop"}},
)
"""
UTIL_SOURCE = """
import numpy as np


def absolute_error(sr, hr, crop):
    keep = (slice(crop, -crop or None),) * 2
    return float(np.abs(sr[keep].astype(np.float64) - hr[keep]).mean())
"""


@pytest.fixture
def site(tmp_path, monkeypatch, plugins_reset) -> Path:
    """A folder on sys.path that the test installs plugin distributions into."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield folder
    for name in [m for m in sys.modules if m.split(".")[0].startswith("zoo_metric")]:
        del sys.modules[name]


def _metric_dist(site: Path, module: str, name: str) -> None:
    """A distribution ``<module>-dist`` whose package declares one metric ``name``."""
    install_dist_info(
        site,
        f"{module}-dist",
        {
            f"{module}/__init__": METRIC_SOURCE.format(module=module, name=name),
            f"{module}/util": UTIL_SOURCE,
        },
        {"repro.metrics": {name: f"{module}:MEAN_ERROR"}},
    )


def test_an_entry_point_metric_scores_and_is_listed_with_its_origin(site):
    _metric_dist(site, "zoo_metric_ok", "zoo_mae")
    spec = get_metric("ZOO_MAE")
    hr = np.zeros((8, 8, 3), np.uint8)
    sr = hr.copy()
    sr[2:6, 2:6] = 10  # 16 of 64 pixels off by 10 in every channel; crop 1 keeps all of them
    assert spec.fn(sr, hr, crop=1, channel="y") == pytest.approx(160 / 36)
    origin = "entry point zoo_mae = zoo_metric_ok:MEAN_ERROR (zoo_metric_ok-dist 0.3)"
    assert registry.declaration("zoo_mae") == registry.Declaration("zoo_metric_ok", origin)
    row = next(r for r in registry.listing() if r["id"] == "zoo_mae")
    assert row["origin"] == origin and row["direction"] == "lower"
    assert next(r for r in registry.listing() if r["id"] == "psnr")["origin"] == "built-in"


BAD_ENTRIES = [
    (  # the plugin fails to import
        "raise RuntimeError('needs CUDA')\n",
        "metric entry point 'zoo_bad' (entry point zoo_bad = zoo_metric_bad:MEAN_ERROR "
        "(zoo_metric_bad-dist 0.3)) cannot be loaded: RuntimeError: needs CUDA",
    ),
    (  # it names something that is not a MetricSpec
        "MEAN_ERROR = {'name': 'zoo_bad'}\n",
        "metric entry point 'zoo_bad' (entry point zoo_bad = zoo_metric_bad:MEAN_ERROR "
        "(zoo_metric_bad-dist 0.3)) gives a dict; an entry point names a MetricSpec or a tuple "
        "of them",
    ),
    (  # an impossible field
        METRIC_SOURCE.format(module="zoo_metric_bad", name="zoo_bad").replace(
            "range=(0.0, 255.0)", "range=(255.0, 0.0)"
        ),
        "metric 'zoo_bad' (entry point zoo_bad = zoo_metric_bad:MEAN_ERROR "
        "(zoo_metric_bad-dist 0.3)): field 'range' must be (low, high) numbers with low < high",
    ),
]


@pytest.mark.parametrize(("source", "message"), BAD_ENTRIES)
def test_a_wrong_metric_entry_point_is_one_line_and_breaks_only_itself(site, source, message):
    install_dist_info(
        site,
        "zoo_metric_bad-dist",
        {"zoo_metric_bad/__init__": source, "zoo_metric_bad/util": UTIL_SOURCE},
        {"repro.metrics": {"zoo_bad": "zoo_metric_bad:MEAN_ERROR"}},
    )
    with pytest.raises(RegistrationError) as caught:
        get_metric("zoo_bad")
    assert str(caught.value) == message
    assert get_metric("psnr").name == "psnr" and "zoo_bad" not in registry.all_metrics()
    row = next(r for r in registry.listing() if r["id"] == "zoo_bad")
    assert row["description"] == f"NOT REGISTERED: {message}"
    assert row["origin"].startswith("entry point zoo_bad = zoo_metric_bad:")


def test_a_plugin_metric_cannot_take_a_shipped_name(site):
    _metric_dist(site, "zoo_metric_psnr", "psnr")
    assert registry.declaration("psnr").origin == "built-in"
    assert get_metric("psnr").impl.__module__ == "repro.metrics.fidelity"
    refused = [r for r in registry.listing() if r["id"] == "psnr" and "error" in r]
    assert [r["error"] for r in refused] == [
        "metric 'psnr' (entry point psnr = zoo_metric_psnr:MEAN_ERROR (zoo_metric_psnr-dist "
        "0.3)): the name is registered already (built-in)"
    ]


# ----------------------------------------------------------------------------- its code key


def test_an_outside_metric_is_keyed_on_its_own_source(site, tmp_path):
    """Editing any module of the plugin's package changes the job's key; editing package code
    the job does not run (on a copy of the package) does not, code it runs does."""
    _metric_dist(site, "zoo_metric_keyed", "zoo_keyed")
    roots = job_roots("bicubic", ["zoo_keyed"])
    assert {"zoo_metric_keyed", "zoo_metric_keyed.util"} <= roots
    before = job_code("bicubic", ["zoo_keyed"]).sha256

    copy = tmp_path / "pkg" / "repro"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    page = copy / "report" / "page.py"
    page.write_text(page.read_text(encoding="utf-8") + "\n\nUNRELATED = 1\n", encoding="utf-8")
    assert code_closure(roots, package_dir=copy).sha256 == before
    spec = copy / "metrics" / "spec.py"  # MetricSpec, which the plugin imports
    spec.write_text(spec.read_text(encoding="utf-8") + "\n\nEDITED = 1\n", encoding="utf-8")
    assert code_closure(roots, package_dir=copy).sha256 != before

    util = site / "zoo_metric_keyed" / "util.py"
    util.write_text(UTIL_SOURCE.replace(".mean()", ".sum() / sr[keep].size"))
    assert job_code("bicubic", ["zoo_keyed"]).sha256 != before
    util.write_text(UTIL_SOURCE)
    assert job_code("bicubic", ["zoo_keyed"]).sha256 == before
