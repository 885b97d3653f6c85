"""Fixtures of the hostile cases: a fresh sandbox per case, and inputs built once per session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from repro.paths import REPO_ROOT
from tests.hostile.inputs import copy_set5
from tests.hostile.sandbox import Sandbox, expect_ok


@pytest.fixture
def sb(tmp_path, monkeypatch) -> Sandbox:
    """The case's sandbox, this process isolated into it (outputs, caches, HF, no network)."""
    return Sandbox(tmp_path / "sb").isolate(monkeypatch)


@pytest.fixture(scope="session")
def ckpts(tmp_path_factory) -> Path:
    """Checkpoints that do not fit: another model's, another key's, NaN, not tensors."""
    import torch

    from repro.models import build

    out = tmp_path_factory.mktemp("ckpts")
    torch.save(build("esc", "light", scale=2).state_dict(), out / "esc_light_x2_flat.pth")
    cam = build("camixersr", "s", scale=4).state_dict()
    torch.save({"params": cam}, out / "camixer_s_x4_key_params.pth")
    nan = {k: v.clone().fill_(float("nan")) if v.is_floating_point() else v for k, v in cam.items()}
    torch.save({"params_ema": nan}, out / "camixer_s_x4_nan.pth")
    torch.save({"params": build("nafssr", "t", scale=2).state_dict()}, out / "nafssr_t_x2.pth")
    torch.save({"params_ema": {"a": 1, "b": "x"}}, out / "not_tensors.pth")
    return out


@pytest.fixture(scope="session")
def _complete_run(tmp_path_factory) -> Sandbox:
    """A complete (not --limit, not --datasets) published run of bicubic_classic where only Set5
    can be reached: Set5 measured (its rows in the row cache), Set14 and B100 MISSING-DATA."""
    box = Sandbox(tmp_path_factory.mktemp("complete-run"))
    with pytest.MonkeyPatch.context() as mp:
        box.isolate(mp)
        # a shared folder of Set5 alone: the rows' data root is "<shared>/data", as in the cases
        box.setenv("REPRO_SHARED", box.root / "shared")
        copy_set5(box.root / "shared" / "data")
        expect_ok(box.run("bicubic_classic", module="repro.table"))
    return box


@pytest.fixture
def complete_run(_complete_run, sb) -> Sandbox:
    """``sb`` holding a copy of the complete bicubic_classic run: results, row cache, reports."""
    shutil.copytree(_complete_run.ws, sb.ws, ignore=shutil.ignore_patterns("locks"))
    return sb


@pytest.fixture
def reference_run(sb) -> Sandbox:
    """``sb`` holding the repository's committed complete run of bicubic_classic (every dataset
    measured), copied file by file as its manifest lists them."""
    manifest = REPO_ROOT / "results" / "bicubic_classic.manifest.json"
    keys = [*json.loads(manifest.read_text())["files"], "results:bicubic_classic.manifest.json"]
    for key in keys:
        where, name = key.split(":", 1)
        dst = (sb.res if where == "results" else sb.rep) / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / where / name, dst)
    return sb
