"""Shared fixtures. Tests read real data from ../shared (REPRO_SHARED) and never use the network."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# Tests never depend on the user's shell: every REPRO_*/HF_* variable is dropped, except
# REPRO_SHARED (where the shared folder is) and REPRO_SLOW (the opt-in for slow tests). The
# Hub is offline and its cache is a fresh temporary folder.
for _name in list(os.environ):
    if (_name.startswith("REPRO_") and _name not in ("REPRO_SHARED", "REPRO_SLOW")) or (
        _name.startswith("HF_")
    ):
        del os.environ[_name]
os.environ["HF_HUB_OFFLINE"] = "1"

# pytest imports this file as `conftest`, and a test's `from tests.conftest import ...` imports
# it again under that name: both share one folder, removed when the process ends
_FIRST = next(
    (m for m in map(sys.modules.get, ("conftest", "tests.conftest")) if hasattr(m, "_HF_HOME")),
    None,
)
_HF_HOME = _FIRST._HF_HOME if _FIRST else tempfile.mkdtemp(prefix="repro-tests-hf-")
if not _FIRST:
    atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
os.environ["HF_HOME"] = _HF_HOME

from repro.paths import REPO_ROOT, shared_root  # noqa: E402

SHARED = shared_root()
DATA = SHARED / "data"


def pytest_configure(config):
    if not DATA.is_dir():
        raise pytest.UsageError(
            f"shared data not found at {DATA}; set REPRO_SHARED to the shared folder"
        )


def pytest_collection_modifyitems(config, items):
    """Tests marked slow run only with REPRO_SLOW=1 or when -m names the marker (-m slow)."""
    if os.environ.get("REPRO_SLOW") == "1" or "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="slow: set REPRO_SLOW=1 or pass -m slow")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path_factory, monkeypatch):
    """A test's workspace (results, reports, caches, run log) and downloads cache are
    temporary folders, never the repository or the user's."""
    base = tmp_path_factory.mktemp("out")
    monkeypatch.setenv("REPRO_OUT", str(base / "workspace"))
    monkeypatch.setenv("REPRO_CACHE", str(base / "cache"))
    yield


@pytest.fixture
def workspace():
    """The test's workspace (:func:`repro.workspace.current`, from REPRO_OUT)."""
    from repro.workspace import current

    return current()


@pytest.fixture
def set5_copy(tmp_path) -> Path:
    """A writable copy of Set5 (HR + LR) under tmp_path/data/Set5."""
    dst = tmp_path / "data" / "Set5"
    shutil.copytree(DATA / "Set5", dst)
    return dst


@pytest.fixture
def card_dir(tmp_path, monkeypatch):
    """Write a modified copy of a real card into a temporary REPRO_CARDS folder, where it
    replaces the shipped card of its name (REPRO_OVERRIDE_SHIPPED); return it."""
    import yaml

    from repro.data.cards import get_card
    from repro.paths import cards_dir

    folder = tmp_path / "cards"
    folder.mkdir()
    real = cards_dir()

    def make(name: str, **overrides):
        raw = yaml.safe_load((real / f"{name}.yaml").read_text())
        raw.update(overrides)
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(raw))
        monkeypatch.setenv("REPRO_CARDS", str(folder))
        monkeypatch.setenv("REPRO_OVERRIDE_SHIPPED", "1")
        return get_card(name)

    return make


def copy_reference_run(ws, table: str) -> None:
    """The committed complete run of ``table``, every file its manifest lists and the manifest,
    copied into the workspace ``ws`` (to re-compare or report it there)."""
    manifest = json.loads((REPO_ROOT / "results" / f"{table}.manifest.json").read_text())
    for key in [*manifest["files"], f"results:{table}.manifest.json"]:
        where, name = key.split(":", 1)
        dst = (ws.results if where == "results" else ws.reports) / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / where / name, dst)
