"""Set-level metrics (FID) in table runs: the runner hands every SR output and HR image of a
dataset, in order, to the metric once; esc_tab8's bicubic reference row; full-size-LR subsets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repro.data.loaders import open_dataset
from repro.errors import MissingDataError
from repro.eval.predictor import load_model, make_predictor
from repro.eval.runner import Job, evaluate
from repro.metrics import all_metrics, get_metric
from repro.metrics.spec import MetricKind, MetricSpec
from repro.paths import shared_root
from repro.tables.compare import CellStatus
from repro.tables.run import run_table
from repro.tables.spec import load_spec

DATA = shared_root() / "data"


class _Recorder:
    """A stand-in set-level metric: the mean absolute SR-HR difference over all pixels."""

    def __init__(self) -> None:
        self.calls: list[tuple[list, list]] = []

    def __call__(self, srs, hrs, device=None) -> float:
        self.calls.append((list(srs), list(hrs)))
        diffs = [
            np.abs(s.astype(float) - h.astype(float)).sum() for s, h in zip(srs, hrs, strict=True)
        ]
        return float(sum(diffs) / sum(h.size for h in hrs))


@pytest.fixture
def recorder(monkeypatch):
    rec = _Recorder()
    fake = MetricSpec(
        "fid", MetricKind.PERCEPTUAL, False, (0.0, math.inf), "test stand-in", impl=rec,
        protocol_keys={"iqa_device": "device"}, set_level=True,
    )  # fmt: skip
    monkeypatch.setitem(all_metrics(), "fid", fake)
    return rec


def test_runner_scores_the_whole_set_once(recorder):
    data = open_dataset("Set5", 4, data_root=str(DATA))
    job = Job("bicubic", 4, "Set5", [("psnr", None), ("fid", None)], {}, crop=4)
    rows, prov = evaluate(job, data, progress=False)
    assert len(recorder.calls) == 1
    srs, hrs = recorder.calls[0]
    assert len(srs) == len(hrs) == len(data) == 5
    # the outputs handed over are the model's, image by image, in the dataset's order
    module, _ = load_model("bicubic", 4)
    predict = make_predictor("bicubic", module)
    for name, sr, hr in zip(data.names, srs, hrs, strict=True):
        sample = data.load(name)
        assert np.array_equal(sr, predict(sample.lr)) and np.array_equal(hr, sample.hr)
    assert prov["set_level"]["fid"] == pytest.approx(recorder(srs, hrs))
    assert all("fid" not in r and "psnr" in r for r in rows)  # no per-image FID column
    # a second run cannot reuse cached rows: it needs the outputs again
    _, again = evaluate(job, data, progress=False)
    assert again["images_computed"] == 5 and again["set_level"] == prov["set_level"]


def test_esc_tab8_bicubic_reference_row():
    spec = load_spec("esc_tab8")
    row = next(r for r in spec.rows if r.model == "bicubic")
    assert row.scale == 4 and all(v is None for v in row.reported)
    result = run_table(spec, limit=2, progress=False, datasets=["RealSRSet"])
    cell = next(
        c
        for c in result.cells
        if c.row == row.id and c.metric == "niqe" and c.dataset == "RealSRSet"
    )
    data = open_dataset("RealSRSet", 4)
    module, _ = load_model("bicubic", 4)
    predict = make_predictor("bicubic", module)
    niqe = get_metric("niqe")
    expected = np.mean([niqe.fn(predict(data.load(n).lr)) for n in data.names[:2]])
    assert cell.reproduced == pytest.approx(expected, abs=1e-9)
    assert cell.status in (CellStatus.PARTIAL, CellStatus.MEASURED)


def test_full_size_lr_subset_is_skipped_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(MissingDataError) as err:
        open_dataset("RealSR", 4, data_root=str(DATA))
    msg = str(err.value)
    assert "RealSR_NTIRE19val_subset3" in msg and "HR's size" in msg and "\n" not in msg
