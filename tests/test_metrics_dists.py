"""DISTS in plain torch against the official values of the TID2013 pairs (oracles/README.md)."""

from __future__ import annotations

import numpy as np
import pytest

from repro.errors import DataError, NotRun, NotRunCode
from repro.imageio import read_image
from repro.metrics import get_metric
from repro.metrics.dists import DISTS_WEIGHTS, dists, dists_batch, load_dists
from repro.paths import shared_root

TID = shared_root() / "oracles" / "calibration" / "tid2013"
# oracles/README.md: DISTS of the original code, VGG16, whole image, RGB in [0, 1]; tol 1e-3
TID_DISTS = {"I03": 0.4742, "I04": 0.1424, "I06": 0.06825, "I08": 0.02867, "I19": 0.3123}


def _pair(name: str) -> tuple[np.ndarray, np.ndarray]:
    return read_image(TID / "dist" / f"{name}.bmp"), read_image(TID / "ref" / f"{name}.bmp")


def test_dists_tid2013_oracle():
    names = list(TID_DISTS)
    dist, ref = zip(*(_pair(n) for n in names), strict=True)
    values = dists_batch(list(dist), list(ref), device="cpu", batch_size=2)
    for name, value in zip(names, values, strict=True):
        assert abs(value - TID_DISTS[name]) < 1e-3, (name, value)
    # the registry entry runs the same network; fidelity protocol keys are not DISTS's
    one = get_metric("dists").fn(dist[4], ref[4], crop=4, channel="y")
    assert one == pytest.approx(values[4], abs=1e-6)


def test_dists_properties():
    sr, hr = (im[144:240, 192:320] for im in _pair("I03"))
    assert dists(hr, hr, device="cpu") == pytest.approx(0.0, abs=1e-5)
    # symmetric in its two inputs, gray replicated to RGB
    assert dists(sr, hr, device="cpu") == pytest.approx(dists(hr, sr, device="cpu"), abs=1e-5)
    gray = hr[..., :1]
    assert dists(gray, np.repeat(gray, 3, axis=2), device="cpu") == pytest.approx(0.0, abs=1e-5)
    # iqa_crop removes the border before scoring
    cropped = dists(sr[8:-8, 8:-8], hr[8:-8, 8:-8], device="cpu")
    assert cropped != pytest.approx(dists(sr, hr, device="cpu"), abs=1e-6)
    assert get_metric("dists").fn(sr, hr, iqa_crop=8) == pytest.approx(cropped, abs=1e-6)
    assert load_dists("cpu") is load_dists("cpu")
    with pytest.raises(DataError, match="same shape"):
        dists(sr, hr[:-1], device="cpu")


def test_dists_missing_weights(tmp_path, monkeypatch):
    for name in ("weights", "shared"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("REPRO_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("REPRO_SHARED", str(tmp_path / "shared"))
    with pytest.raises(NotRun) as err:
        get_metric("dists").check_ready()
    assert err.value.code == NotRunCode.MISSING_WEIGHTS
    for entry in DISTS_WEIGHTS:
        assert entry.filename in err.value.detail
