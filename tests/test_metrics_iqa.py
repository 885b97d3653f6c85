"""IQA metrics: LPIPS and NIQE against their oracles, registry entries, offline/missing errors."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from repro.errors import (
    MissingWeightsError,
    NotRun,
    NotRunCode,
    ReproError,
    UnknownNameError,
    WeightsError,
)
from repro.imageio import read_image
from repro.metrics import get_metric
from repro.metrics import pyiqa_backend as backend
from repro.metrics.iqa import fid
from repro.metrics.lpips import LPIPS_WEIGHTS, load_lpips, lpips, lpips_batch
from repro.metrics.niqe import NIQE_WEIGHTS, niqe
from repro.metrics.pyiqa_hub import stage
from repro.metrics.spec import SetLevelMetricError
from repro.paths import shared_root
from repro.weights import resolver

CAL = shared_root() / "oracles" / "calibration"
# oracles/README.md: official LPIPS (AlexNet, v0.1) of the TID2013 pairs, tolerance 1e-3
TID_LPIPS = {"I03": 0.7237, "I04": 0.2572, "I06": 0.05079, "I08": 0.05205, "I19": 0.4253}
NIQE_BABOON_MATLAB = 5.72957338  # MATLAB R2021a, tolerance 1e-3
README_PREFIXES = {
    "alexnet_features.safetensors": "015d1376",
    "lpips_v0.1_alex_linear.safetensors": "fbd2f0e6",
    "niqe_pris_params.npz": "2a7c182a",
}


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """REPRO_WEIGHTS -> an empty folder and the shared folder hidden."""
    empty_w, empty_s = tmp_path / "weights", tmp_path / "shared"
    empty_w.mkdir()
    empty_s.mkdir()
    monkeypatch.setenv("REPRO_WEIGHTS", str(empty_w))
    monkeypatch.setenv("REPRO_SHARED", str(empty_s))
    return empty_w


@pytest.fixture
def no_pyiqa(monkeypatch):
    """Behave as here, where pyiqa cannot be imported, even on a machine that has it."""
    why = "ModuleNotFoundError: No module named 'pyiqa'"
    monkeypatch.setattr(backend, "_import_failure", lambda: why)


def _tid(kind: str, name: str) -> np.ndarray:
    return read_image(CAL / "tid2013" / kind / f"{name}.bmp")


# ---------------------------------------------------------------------------------------------
# LPIPS


def test_lpips_tid2013_oracle():
    names = list(TID_LPIPS)
    dist = [_tid("dist", n) for n in names]
    ref = [_tid("ref", n) for n in names]
    values = lpips_batch(dist, ref, device="cpu", batch_size=5)
    for name, value in zip(names, values, strict=True):
        assert abs(value - TID_LPIPS[name]) < 1e-3, (name, value)
    # the per-image API and the registry entry give the same number as the batch
    one = get_metric("lpips").fn(dist[2], ref[2], crop=4, channel="y")  # fidelity keys ignored
    assert one == pytest.approx(values[2], abs=1e-6)


def test_lpips_identical_is_zero_and_gray_is_replicated():
    img = read_image(CAL / "baboon" / "baboon_gt.png")[:96, :128]
    assert lpips(img, img, device="cpu") == pytest.approx(0.0, abs=1e-7)
    gray = img[:, :, :1]
    assert lpips(gray, np.repeat(gray, 3, axis=2), device="cpu") == pytest.approx(0.0, abs=1e-7)


def test_lpips_network_loaded_once():
    assert load_lpips("cpu") is load_lpips("cpu")


def _not_run(name: str) -> NotRun:
    """Why the metric cannot run here (it must not be ready)."""
    with pytest.raises(NotRun) as err:
        get_metric(name).check_ready()
    return err.value


def test_lpips_missing_weights_message(no_weights):
    with pytest.raises(MissingWeightsError) as err:
        load_lpips("cpu")
    msg = str(err.value)
    assert "\n" not in msg
    assert "alexnet_features.safetensors" in msg and "lpips_v0.1_alex_linear" in msg
    assert "REPRO_WEIGHTS" in msg and str(no_weights) in msg
    assert _not_run("lpips").code == NotRunCode.MISSING_WEIGHTS


def test_lpips_checksum_mismatch(no_weights):
    folder = no_weights / "lpips"
    folder.mkdir()
    for entry in LPIPS_WEIGHTS:
        (folder / entry.filename).write_bytes(b"not the weights")
    with pytest.raises(WeightsError, match="sha256"):
        load_lpips("cpu")


def test_pinned_hashes_extend_readme_prefixes():
    pinned = {e.filename: e.sha256 for e in (*LPIPS_WEIGHTS, *NIQE_WEIGHTS)}
    for name, prefix in README_PREFIXES.items():
        assert pinned[name].startswith(prefix)
        assert len(pinned[name]) == 64


# ---------------------------------------------------------------------------------------------
# NIQE


def test_niqe_baboon_oracle():
    img = read_image(CAL / "baboon" / "baboon_gt.png")
    value = niqe(img)
    assert abs(value - NIQE_BABOON_MATLAB) < 1e-3, value
    assert get_metric("niqe").fn(img, crop=4, channel="y") == value  # fidelity keys ignored
    assert get_metric("niqe").fn(img, iqa_crop=4) != value
    yiq = get_metric("niqe").fn(img, niqe_color="yiq")  # pyiqa's luminance: close, not equal
    assert yiq != value and abs(yiq - value) < 0.05


def test_niqe_gray_and_small_images():
    img = read_image(CAL / "baboon" / "baboon_gt.png")[:192, :192]
    gray = np.round(img.astype(np.float64).mean(axis=2, keepdims=True)).astype(np.uint8)
    assert math.isfinite(niqe(gray))
    with pytest.raises(ReproError, match="96x96"):
        niqe(img[:100, :100])


def test_niqe_missing_weights_message(no_weights):
    img = read_image(CAL / "baboon" / "baboon_gt.png")
    with pytest.raises(MissingWeightsError) as err:
        niqe(img)
    assert "niqe_pris_params.npz" in str(err.value) and "\n" not in str(err.value)
    assert _not_run("niqe").code == NotRunCode.MISSING_WEIGHTS


# ---------------------------------------------------------------------------------------------
# registry, pyiqa-backed metrics, FID


def test_registry_entries():
    lower = {"lpips", "dists", "niqe", "fid"}
    higher = {"musiq", "maniqa", "clipiqa"}
    for name in lower | higher:
        spec = get_metric(name)
        assert spec.higher_is_better == (name in higher), name
        assert spec.range[0] == 0.0 and spec.range[1] > spec.range[0]
    for name in ("lpips", "dists", "fid"):
        assert get_metric(name).kind == "perceptual" and get_metric(name).needs_reference
    for name in ("niqe", "musiq", "maniqa", "clipiqa"):
        assert get_metric(name).kind == "no-reference"
    assert get_metric("musiq").range == (0.0, 100.0)


def test_pyiqa_absent_error_message(no_pyiqa):
    img = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ReproError) as err:
        get_metric("musiq").fn(img)
    msg = str(err.value)
    assert "\n" not in msg
    assert "pip install pyiqa" in msg and "torchvision" in msg
    assert "musiq_koniq_ckpt-e95806b9.pth" in msg and "REPRO_WEIGHTS" in msg
    for name in ("musiq", "maniqa", "clipiqa", "fid"):
        assert _not_run(name).code == NotRunCode.MISSING_EXTRA, name
    get_metric("dists").check_ready()  # torch-only: pyiqa is not needed
    with pytest.raises(ReproError, match="pip install pyiqa"):
        fid([img], [img])


def test_pyiqa_missing_weights_reason(no_weights, monkeypatch, tmp_path):
    monkeypatch.setattr(backend, "_import_failure", lambda: None)
    monkeypatch.setattr(resolver, "torch_hub_dir", lambda: tmp_path / "hub")
    monkeypatch.setattr(resolver, "hf_cache_dirs", lambda: [tmp_path / "hf"])
    err = _not_run("clipiqa")
    assert err.code == NotRunCode.MISSING_WEIGHTS and "RN50.pt" in err.detail
    with pytest.raises(MissingWeightsError):
        get_metric("clipiqa").fn(np.zeros((8, 8, 3), np.uint8))
    # a file in REPRO_WEIGHTS/pyiqa is found; a wrong hash prefix is caught before use
    (no_weights / "pyiqa").mkdir()
    fake = no_weights / "pyiqa" / "musiq_koniq_ckpt-e95806b9.pth"
    fake.write_bytes(b"x")
    get_metric("musiq").check_ready()  # found: raises nothing
    assert not hashlib.sha256(b"x").hexdigest().startswith("e95806b9")
    with pytest.raises(WeightsError, match="sha256"):
        stage(backend.PYIQA_METRICS["musiq"].weights)


def test_fid_is_set_level():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(SetLevelMetricError, match="set-level"):
        get_metric("fid").fn(img, img)


def test_metric_ready_builtin_and_unknown():
    get_metric("psnr").check_ready()  # raises nothing
    get_metric("LPIPS").check_ready()
    with pytest.raises(UnknownNameError):
        get_metric("no_such_metric")
