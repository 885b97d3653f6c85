"""Safeguards that no test guarded (issue #20, point 5): each survived a one-line slip before.

- a full rerun lacking *weights* the saved complete run had is published beside it, never over
  it (a real ``repro table`` run in temporary folders);
- output that is inf but not NaN is refused before it could be clamped into pixels;
- CAMixerSR's deterministic mode keeps ``floor(N * gamma + 0.5)`` windows: round half *up*
  (odd window counts, where floor, ``round`` and ceil each give another count);
- the gap explainer's "official LR files" variant of a cell whose base makes LR here.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from repro.checksums import sha256_file
from repro.cli import main
from repro.data.loaders import open_dataset
from repro.errors import NonFiniteOutputError
from repro.eval.loaded import LoadedModel
from repro.eval.predictor import refuse_non_finite
from repro.eval.runner import Job, evaluate, finite_mean
from repro.models.camixersr.arch import CAMixerSR
from repro.publish import Destination, load_saved
from repro.tables.context import prepare
from repro.workspace import current
from tests.conftest import SHARED

# ----------------------------------------------------------------------------- (a) weights

MINI = """
id: mini_weights
title: bicubic and CAMixerSR-S on a tiny Set5 (test spec; no reported numbers)
paper: test
source: {note: a test spec}
protocol: {version: 1, channel: y, crop: scale, gray: gray, ssim: matlab, lr: bicubic}
tolerance: {psnr: 0.05}
columns:
  - {dataset: Set5, metric: psnr}
rows:
  - {id: bicubic-x4, label: Bicubic x4, model: bicubic, scale: 4, reported: [null]}
  - {id: camixer-x4, label: CAMixerSR-S x4, model: camixersr-s, scale: 4,
     settings: {ratio: 1.0, mode: deterministic}, reported: [null]}
"""


@pytest.fixture
def tiny_world(tmp_path, monkeypatch, card_dir):
    """Set5 of five 48x48 crops (its card holding their sha256; LR made here: 12x12, quick for
    CAMixerSR-S on a CPU), the official CAMixerSR-S checkpoint in REPRO_WEIGHTS, and
    ``repro table mini_weights``."""
    shared = tmp_path / "shared"
    (shared / "data" / "Set5" / "HR").mkdir(parents=True)
    digests = {}
    for name in ("baby", "bird", "butterfly", "head", "woman"):
        hr = np.asarray(Image.open(SHARED / "data" / "Set5" / "HR" / f"{name}.png"))[:48, :48]
        Image.fromarray(hr).save(shared / "data" / "Set5" / "HR" / f"{name}.png")
        digests[f"HR/{name}.png"] = sha256_file(shared / "data" / "Set5" / "HR" / f"{name}.png")
    card_dir("Set5", sha256=digests)
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copyfile(
        SHARED / "weights" / "camixersr" / "CAMixerSR_S.pth", weights / "CAMixerSR_S.pth"
    )
    monkeypatch.setenv("REPRO_SHARED", str(shared))
    monkeypatch.setenv("REPRO_WEIGHTS", str(weights))
    specs = current().specs  # a user's table, beside the shipped ones
    specs.mkdir(parents=True, exist_ok=True)
    (specs / "mini_weights.yaml").write_text(MINI)
    return weights / "CAMixerSR_S.pth"


def _set_bytes(dest: Destination) -> dict[str, bytes]:
    files = json.loads(dest.manifest.read_text())["files"]
    folders = {"results": dest.results, "reports": dest.reports}
    out = {k: (folders[k.split(":")[0]] / k.split(":", 1)[1]).read_bytes() for k in files}
    return {**out, "manifest": dest.manifest.read_bytes()}


def test_a_rerun_lacking_weights_is_kept_beside_the_saved_complete_run(tiny_world, capsys):
    assert main(["table", "mini_weights", "--json"]) == 0  # both rows measured
    capsys.readouterr()
    saved = load_saved(Destination("mini_weights"))["cells"]["cells"]
    assert all(c["reproduced"] is not None for c in saved)
    before = _set_bytes(Destination("mini_weights"))

    tiny_world.unlink()  # the checkpoint is gone this time; the data is all there
    assert main(["table", "mini_weights", "--json"]) == 2
    err = capsys.readouterr().err
    assert "1 cell(s) fewer" in err and "camixer-x4 Set5/psnr: MISSING-WEIGHTS" in err
    assert len(err.strip().splitlines()) == 1
    assert _set_bytes(Destination("mini_weights")) == before  # the complete run is untouched
    beside = load_saved(Destination("mini_weights", partial=True))["cells"]["cells"]
    assert {c["row"]: c["code"] for c in beside} == {
        "bicubic-x4": None,
        "camixer-x4": "MISSING-WEIGHTS",
    }


# ----------------------------------------------------------------------------- (b) inf output


class _Overflow(torch.nn.Module):
    """x2 nearest upscaling whose output holds ``value`` at one pixel (no NaN anywhere)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.interpolate(x, scale_factor=2, mode="nearest")
        y[..., 0, 0] = self.value
        return y


def _loaded(module: torch.nn.Module) -> LoadedModel:
    return LoadedModel(module, {}, torch.device("cpu"), torch.device("cpu"))


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_inf_output_without_nan_is_refused(value):
    module = _Overflow(value)
    module.register_forward_hook(refuse_non_finite)
    with pytest.raises(NonFiniteOutputError, match=r"3 non-finite value\(s\)"):
        module(torch.zeros(1, 3, 4, 4))  # one pixel of each of the 3 channels
    assert torch.isfinite(_Overflow(1.0)(torch.zeros(1, 3, 4, 4))).all()  # the same, finite
    module.value = 1.0
    module(torch.zeros(1, 3, 4, 4))  # the hook lets finite output through


def test_inf_output_is_never_scored_by_a_run():
    job = Job("esc-light", 2, "Set5", [("psnr", None)], {"channel": "y"}, crop=2)
    data = open_dataset("Set5", 2).limit(1)
    with pytest.raises(NonFiniteOutputError, match="Set5/baby.*non-finite"):
        evaluate(job, data, progress=False, use_cache=False, loaded=_loaded(_Overflow(math.inf)))


# ----------------------------------------------------------------------------- (c) round half up


@pytest.mark.parametrize(
    ("h", "w", "ratio", "keep"),
    [
        # N windows of 16x16; floor(N * gamma + 0.5), written out: floor, Python's round
        # (half to even) and ceil each miss at least one of these
        (48, 48, 0.5, 5),  # N = 9: 4.5 -> 5 (floor and round: 4)
        (48, 48, 0.25, 2),  # N = 9: 2.25 -> 2 (ceil: 3)
        (16, 80, 0.5, 3),  # N = 5: 2.5 -> 3 (floor and round: 2)
        (48, 80, 0.5, 8),  # N = 15: 7.5 -> 8 (floor: 7)
        (48, 80, 0.1, 2),  # N = 15: 1.5 -> 2 (floor: 1)
    ],
)
def test_deterministic_mode_rounds_odd_window_counts_half_up(h, w, ratio, keep):
    torch.manual_seed(0)
    m = CAMixerSR(n_block=(1, 1), n_group=2, n_feats=24, scale=2, ratio=ratio, mode="deterministic")
    with torch.no_grad():
        m.eval()(torch.rand(1, 3, h, w))
    log = m.selection_log()
    assert log and {e["windows"] for e in log} == {(h // 16) * (w // 16)}
    assert {e["num_keep"] for e in log} == {keep}
    assert all(len(e["attended"][0]) == keep for e in log)  # the kept windows are attended


# ----------------------------------------------------------------------------- (d) official LR


def test_the_explainer_offers_the_official_lr_files_when_the_base_makes_lr_here():
    """Base: LR made here with float rounding (BasicSR's numpy way); the "official LR" variant
    must score the set's official LR files: the runner's number with ``lr: official``."""
    from repro.tables import explain as ex

    e = ex.explain_cell(
        prepare("bicubic_classic", device="cpu", use_cache=False, progress=False),
        "bicubic-x2",
        "Set5",
        "psnr",
        protocol={"lr": "bicubic", "rounding": "float"},
        vary=("lr",),
    )
    official = next(v for v in e.variants if v.change == "lr=official")
    assert official.forward and official.axis == "lr"
    protocol = {"channel": "y", "gray": "gray", "ssim": "matlab", "lr": "official"}
    rows, _ = evaluate(
        Job("bicubic", 2, "Set5", [("psnr", None)], protocol, crop=2),
        open_dataset("Set5", 2),
        use_cache=False,
        progress=False,
    )
    assert official.mean == pytest.approx(finite_mean(r["psnr"] for r in rows), abs=1e-12)
    assert abs(official.shift) > 1e-6  # float-rounded LR is not the official LR


def test_no_official_lr_variant_where_the_set_has_no_official_lr():
    from repro.tables.explain_setup import Setup, protocol_variants
    from repro.tables.spec import Column

    base = Setup("y", 2, "gray", "matlab", "bicubic", "matlab", "symmetric", None)
    col = Column(dataset="Set5", metric="psnr")
    for official, expected in ((True, ["lr=official"]), (False, [])):
        data = SimpleNamespace(
            layout=SimpleNamespace(hr="HR/{name}.png"),
            has_official_lr=official,
            boundary="symmetric",
            card=SimpleNamespace(name="Set5"),
        )
        variants, _ = protocol_variants(base, col, 2, data, None, "no weights")
        lr = [v for v in variants if v.axis == "lr"]
        assert [f"lr={v.setup.lr}" for v in lr] == expected
        assert all(v.forward and v.setup == replace(base, lr="official") for v in lr)
