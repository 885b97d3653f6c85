"""`pip install .` (not editable): the wheel carries the code, the dataset cards and the table
specs, and an installed copy finds them with no source checkout around."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from repro.paths import REPO_ROOT

CARDS = sorted(p.name for p in (REPO_ROOT / "datasets").glob("*.yaml"))
SPECS = sorted(
    p.relative_to(REPO_ROOT).as_posix()
    for p in (REPO_ROOT / "repro" / "tables" / "specs").rglob("*.yaml")
)
CODE = sorted(
    p.relative_to(REPO_ROOT).as_posix()
    for p in (REPO_ROOT / "repro").rglob("*.py")
    if "__pycache__" not in p.parts
)


def _pip(*args: str, cwd: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--no-deps", "--no-build-isolation", "-q"],
        capture_output=True, text=True, cwd=cwd, timeout=300,
        env={**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout's packaging inputs (the build writes build/
    and *.egg-info beside its sources, so never into the checkout other tests read)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO_ROOT / name, src)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("repro", "datasets"):
        shutil.copytree(REPO_ROOT / name, src / name, ignore=skip)
    _pip("wheel", str(src), "-w", str(base / "dist"), cwd=base)
    (built,) = (base / "dist").glob("repro-*.whl")
    return built


def test_the_wheel_holds_every_card_spec_and_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert len(CARDS) == 19
    missing_cards = [c for c in CARDS if f"repro/_cards/{c}" not in names]
    assert not missing_cards
    assert any("/_protocols/" in s for s in SPECS)
    assert not [s for s in SPECS if s not in names]
    assert not [m for m in CODE if m not in names]
    # the cards live under the package: a top-level datasets/ would be Hugging Face's name
    assert not [n for n in names if n.startswith("datasets/")]


def test_an_installed_copy_lists_every_card_and_table_from_elsewhere(wheel, tmp_path):
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    _pip("install", "--target", str(site), str(wheel), cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPRO_")}
    env["PYTHONPATH"] = str(site)

    def repro(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "repro", *args],
            capture_output=True, text=True, cwd=elsewhere, env=env, timeout=300,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout

    where = subprocess.run(
        [sys.executable, "-c", "import repro.paths as p, repro.workspace as w; print(p.__file__, "
         "p.source_checkout(), p.cards_dir(), w.current().results)"],
        capture_output=True, text=True, cwd=elsewhere, env=env, timeout=60,
    ).stdout.split()  # fmt: skip
    assert where == [
        str(site / "repro" / "paths.py"),
        "False",
        str(site / "repro" / "_cards"),
        str(elsewhere / "repro-workspace" / "results"),  # never into the package itself
    ]
    entry = (site / "bin" / "repro").read_text()  # the console script the wheel installs
    assert "from repro.cli import main" in entry
    listed = [d["id"] for d in json.loads(repro("ls", "datasets", "--json"))]
    assert sorted(f"{i}.yaml" for i in listed) == CARDS
    tables = {t["id"] for t in json.loads(repro("ls", "tables", "--json"))}
    assert tables == {Path(s).stem for s in SPECS if "/_protocols/" not in s}
    # a spec that includes a shared protocol block (specs/_protocols/) loads from the wheel
    assert json.loads(repro("validate", "bicubic_classic", "--json"))["table"] == "bicubic_classic"
