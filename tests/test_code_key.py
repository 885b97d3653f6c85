"""A number is keyed on the code that made it (issue #21, point 3).

Every edit here is made on a copy of the package in a temporary folder, never on the real source:
the keys of a copy are computed with ``code_closure(roots, package_dir=copy)`` from the roots
that the real registry gives a job. Both directions: code the job does not run (a new model
family, the CLI, the report, a docstring or comment anywhere) changes no key; the code it runs
(the Y conversion, its model family, the LR maker, reached through a function-local import) does.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from repro.eval.code_key import job_code, job_roots, module_of
from repro.provenance import LISTINGS, PACKAGE_DIR, UNKNOWN_CODE, code_closure
from repro.tables.code_key import table_code, table_roots
from repro.tables.spec import load_spec, parse_spec

JOBS = {  # model -> modules of its family: one its builder reaches through imports, and the
    # module that declares its ModelInfo (a family package's __init__, run by any import of it)
    "bicubic": ("models/bicubic.py",),
    "esc-light": ("models/esc/attention.py", "models/esc/__init__.py"),
    "camixersr-s": ("models/camixersr/mixer.py", "models/camixersr/__init__.py"),
}
METRICS = ("psnr", "ssim")

TOY_INIT = '''"""A toy family: nearest-neighbour upscaling, no weights."""

from repro.models.info import ModelInfo
from repro.models.toy.arch import Nearest

MODELS = (
    ModelInfo(
        id="toy",
        family="toy",
        variant="",
        scales=(2, 4),
        build=lambda scale: Nearest(scale),
        needs_weights=False,
    ),
)
'''
TOY_ARCH = """import torch.nn as nn
import torch.nn.functional as F


class Nearest(nn.Module):
    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return F.interpolate(x, scale_factor=self.scale, mode="nearest")
"""


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of the package (``<tmp>/pkg/repro``): the folder the edits go to."""
    dst = tmp_path / "pkg" / "repro"
    shutil.copytree(PACKAGE_DIR, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def _edit(copy: Path, rel: str, old: str, new: str) -> None:
    path = copy / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{rel} no longer holds {old!r}: update the test's edit"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _append(copy: Path, rel: str, code: str) -> None:
    path = copy / rel
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


def _add_toy_family(copy: Path) -> None:
    """Two files and the registry's one line, as ``repro/models/README.md`` says."""
    (copy / "models" / "toy").mkdir()
    (copy / "models" / "toy" / "__init__.py").write_text(TOY_INIT)
    (copy / "models" / "toy" / "arch.py").write_text(TOY_ARCH)
    registry = "models/registry.py"
    nafssr = '"repro.models.nafssr",\n'
    _edit(copy, registry, nafssr, nafssr + '    "repro.models.toy",\n')


def _keys(copy: Path) -> dict[str, str]:
    return {m: code_closure(job_roots(m, METRICS), copy).sha256 for m in JOBS}


def test_a_copy_has_the_keys_of_the_installed_package(copy):
    """Keys hash module names and contents, not where the package lies: the copy's keys are the
    installed package's, so the edits below are measured against real keys."""
    for model in JOBS:
        assert code_closure(job_roots(model, METRICS), copy) == job_code(model, METRICS)


def test_code_the_job_does_not_run_changes_no_key(copy):
    before = _keys(copy)
    _add_toy_family(copy)
    assert _keys(copy) == before, "a new model family changed a key"
    _append(copy, "cli/__init__.py", "def banner() -> str:\n    return 'repro'")
    _append(copy, "report/__init__.py", "DEFAULT_PLOT_DPI = 150")
    assert _keys(copy) == before, "a CLI or report change changed a key"
    # docstrings, comments and layout, in modules every job runs and in one none runs
    _edit(copy, "metrics/color.py", '"""', '"""Edited docstring.\n\n')
    _edit(copy, "metrics/color.py", "\nfrom ", "\n# a comment\n\n\nfrom ")
    _edit(copy, "data/imresize.py", '"""', '"""Edited docstring. ')
    _edit(copy, "tables/explain_text.py", '"""', '"""Edited docstring. ')
    assert _keys(copy) == before, "a docstring, comment or blank line changed a key"


def test_the_y_conversion_the_family_and_the_lr_maker_change_the_key(copy):
    before = _keys(copy)
    _edit(copy, "metrics/color.py", "65.481", "64.0")
    after_y = _keys(copy)
    assert all(after_y[m] != before[m] for m in JOBS), "the Y conversion is not in every key"
    # the LR maker: ESC and CAMixerSR reach it only through a function-local import
    _append(copy, "data/imresize.py", "_CUBIC_A = -0.5")
    after_lr = _keys(copy)
    assert all(after_lr[m] != after_y[m] for m in JOBS), "the LR maker is not in every key"
    for model, modules in JOBS.items():
        for module in modules:
            _append(copy, module, "_EDITED = True")
            now = _keys(copy)
            assert now[model] != after_lr[model], f"a change to {module} kept the key of {model}"
            others = {m: k for m, k in now.items() if m != model}
            assert others == {m: k for m, k in after_lr.items() if m != model}, (
                f"a change to {module} changed the key of another family"
            )
            after_lr = now


def test_a_job_closure_holds_its_code_and_no_other_family():
    closure = set(job_code("esc-light", METRICS).modules)
    assert {"repro.data.imresize", "repro.metrics.color", "repro.models.esc.blocks"} <= closure
    assert not any(
        m.startswith(("repro.cli", "repro.report", "repro.models.camixersr")) for m in closure
    )


def test_function_local_imports_are_followed(copy):
    roots = job_roots("bicubic", METRICS)
    assert "repro.report.labels" not in code_closure(roots, copy).modules
    _append(
        copy,
        "eval/scoring.py",
        "def _labels():\n    from repro.report import labels\n\n    return labels",
    )
    before = code_closure(roots, copy)
    assert "repro.report.labels" in before.modules
    _append(copy, "report/labels.py", "_EDITED = True")
    assert code_closure(roots, copy).sha256 != before.sha256


def test_a_module_the_closure_cannot_attribute_counts(copy):
    """An import whose target is computed at run time may load any module: all of them count."""
    before = _keys(copy)
    _append(
        copy,
        "eval/scoring.py",
        "def metric_module(name: str):\n"
        "    import importlib\n\n"
        "    return importlib.import_module('repro.metrics.' + name)",
    )
    closure = code_closure(job_roots("bicubic", METRICS), copy)
    every = {
        ".".join(("repro", *p.relative_to(copy).with_suffix("").parts)) for p in copy.rglob("*.py")
    }
    assert set(closure.modules) == {m.removesuffix(".__init__") for m in every}
    counted = _keys(copy)
    assert all(counted[m] != before[m] for m in JOBS)
    _append(copy, "cli/__init__.py", "def banner() -> str:\n    return 'repro'")
    assert _keys(copy) != counted, "with an unattributable import, a CLI change must count"


def test_code_outside_the_package_is_keyed_on_its_source_or_never_reused(tmp_path, monkeypatch):
    plugin = tmp_path / "plugins" / "toy_plugin.py"
    plugin.parent.mkdir()
    plugin.write_text("from repro.metrics.color import rgb_to_y\n\n\ndef build(scale):\n    ...\n")
    monkeypatch.syspath_prepend(str(plugin.parent))
    first = code_closure({"toy_plugin"})
    assert "repro.metrics.color" in first.modules  # the package modules it imports count
    assert code_closure({"toy_plugin"}) == first
    plugin.write_text(plugin.read_text().replace("...", "return scale"))
    assert code_closure({"toy_plugin"}).sha256 != first.sha256
    # no source to read (a built-in, a callable without a module): matches no other run
    assert module_of(len) == "builtins"
    for root in ("builtins", UNKNOWN_CODE):
        assert code_closure({root}).sha256 != code_closure({root}).sha256


def test_every_listing_names_a_list_its_module_holds():
    """A renamed list would pull every family or metric module into every key."""
    for module, name in LISTINGS.items():
        path = PACKAGE_DIR.joinpath(*module.split(".")[1:]).with_suffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned = {
            t.id
            for s in tree.body
            if isinstance(s, (ast.Assign, ast.AnnAssign))
            for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
            if isinstance(t, ast.Name)
        }
        assert name in assigned, f"{module} has no {name}: update repro.provenance.LISTINGS"


def test_a_table_key_covers_cost_and_comparison_not_the_report(copy):
    specs = {t: load_spec(t) for t in ("bicubic_classic", "esc_main")}

    def keys() -> dict[str, str]:
        return {t: code_closure(table_roots(s), copy).sha256 for t, s in specs.items()}

    before = keys()
    assert before == {t: table_code(s).sha256 for t, s in specs.items()}
    _add_toy_family(copy)
    _append(copy, "report/__init__.py", "DEFAULT_PLOT_DPI = 150")
    _append(copy, "cli/__init__.py", "def banner() -> str:\n    return 'repro'")
    assert keys() == before
    _append(copy, "models/esc/flops.py", "_EDITED = True")  # ESC's FLOPs counter
    flops = keys()
    assert flops["esc_main"] != before["esc_main"]
    assert flops["bicubic_classic"] == before["bicubic_classic"]
    for module in ("tables/compare.py", "tables/spec.py", "eval/complexity.py"):
        _append(copy, module, "_EDITED = True")
        now = keys()
        assert all(now[t] != flops[t] for t in specs), f"{module} is not in a table's key"
        flops = now


def test_a_run_records_the_code_of_each_job_and_of_the_table(tmp_path):
    from repro.publish import Destination, load_saved
    from repro.report.writer import publish_result
    from repro.tables.run import run_table

    path = tmp_path / "code_mini.yaml"
    path.write_text(
        "id: code_mini\ntitle: bicubic on Set5 (test spec)\npaper: test\n"
        "source: {note: a test spec}\n"
        "protocol: {version: 1, channel: y, crop: scale, gray: gray, ssim: matlab, lr: official}\n"
        "tolerance: {psnr: 0.05}\ncolumns:\n  - {dataset: Set5, metric: psnr}\n"
        "rows:\n  - {id: bicubic-x4, label: Bicubic x4, model: bicubic, scale: 4, "
        "reported: [28.42]}\n"
    )
    spec = parse_spec(path)
    result = run_table(spec, progress=False)
    (job,) = result.provenance["jobs"]
    assert job["code"] == job_code("bicubic", ["psnr"]).summary()
    assert result.provenance["code"] == table_code(spec).detail()
    publish_result(result)
    saved = load_saved(Destination("code_mini"))
    assert saved["manifest"]["code_sha256"] == table_code(spec).sha256  # the committed check
    assert saved["provenance"]["code_version"]  # the git commit stays, for people to read
