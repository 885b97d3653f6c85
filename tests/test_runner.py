"""The runner: rows per image, finite means, cache reuse, resume, and torchrun sharding."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from repro.data.loaders import open_dataset
from repro.eval.cache import RowCache
from repro.eval.runner import Job, evaluate, finite_mean, means, to_frame
from repro.paths import REPO_ROOT

JOB = dict(
    model="bicubic",
    scale=3,
    dataset="Set5",
    metrics=[("psnr", None), ("ssim", None)],
    protocol={"channel": "y", "gray": "gray", "ssim": "matlab"},
    crop=3,
)


def test_one_row_per_image_with_metrics_and_seconds():
    rows, prov = evaluate(Job(**JOB), open_dataset("Set5", 3), progress=False)
    frame = to_frame(rows)
    assert list(frame["image"]) == ["baby", "bird", "butterfly", "head", "woman"]
    assert {"psnr", "ssim", "seconds", "dataset", "model", "scale"} <= set(frame.columns)
    assert frame["psnr"].between(20, 40).all()
    mean = means(frame)
    assert mean.loc[0, "images"] == 5
    assert mean.loc[0, "psnr"] == pytest.approx(frame["psnr"].mean())
    assert len(prov["data"]["sha256"]) == 64


@pytest.mark.parametrize("ssim_kind", ["skimage", "matlab"])
def test_stereo_frames_have_one_row_per_view_whose_mean_is_the_pair_score(ssim_kind):
    """KITTI2012 sample, bicubic x4: the view rows average to the official pair formulas."""
    from repro.metrics.stereo import stereo_scores
    from repro.models.bicubic import Bicubic

    metrics = [(m, v) for v in ("pair_mean", "left_crop64") for m in ("psnr", "ssim")]
    job = Job(
        model="bicubic",
        scale=4,
        dataset="KITTI2012",
        metrics=metrics,
        protocol={"channel": "rgb", "ssim": ssim_kind},
        crop=0,
    )
    data = open_dataset("KITTI2012", 4)
    rows, _ = evaluate(job, data, progress=False, use_cache=False)
    frame = to_frame(rows)
    assert list(frame["view"]) == ["left", "right"] and set(frame["image"]) == {"000000_10"}
    assert list(frame.columns[:3]) == ["dataset", "image", "view"]
    sample = data.load("000000_10")
    sr = Bicubic(4).predict_uint8(sample.lr)
    pair = stereo_scores(
        sr[..., :3], sr[..., 3:], sample.hr[..., :3], sample.hr[..., 3:], ssim_kind=ssim_kind
    )
    left = stereo_scores(
        sr[..., :3], None, sample.hr[..., :3], None, protocol="left_crop64", ssim_kind=ssim_kind
    )
    mean = means(frame).iloc[0]
    assert mean["images"] == 1
    for metric in ("psnr", "ssim"):
        assert mean[f"{metric}@pair_mean"] == pytest.approx(pair[metric], abs=1e-12)
        assert mean[f"{metric}@left_crop64"] == pytest.approx(left[metric], abs=1e-12)
        assert math.isnan(frame.loc[1, f"{metric}@left_crop64"])  # the right view has no share
    assert frame.loc[0, "psnr@pair_mean"] != frame.loc[1, "psnr@pair_mean"]


def test_infinite_psnr_does_not_break_the_mean():
    assert finite_mean([math.inf, 30.0, 32.0]) == 31.0
    assert math.isnan(finite_mean([math.inf]))


def test_rerun_reuses_cached_rows_and_recomputes_changed_files(monkeypatch, set5_copy, card_dir):
    card_dir("Set5", sha256={})
    data = open_dataset("Set5", 3, data_root=set5_copy.parent)
    first, _ = evaluate(Job(**JOB), data, progress=False)
    calls = []
    import repro.eval.runner as runner

    real_score = runner.score
    monkeypatch.setattr(runner, "score", lambda *a, **k: calls.append(1) or real_score(*a, **k))
    again, _ = evaluate(
        Job(**JOB), open_dataset("Set5", 3, data_root=set5_copy.parent), progress=False
    )
    assert calls == [] and [r["psnr"] for r in again] == [r["psnr"] for r in first]
    # a changed HR file invalidates exactly that image's cached row
    path = set5_copy / "HR" / "bird.png"
    path.write_bytes(path.read_bytes() + b"\0")  # same pixels, different bytes
    evaluate(Job(**JOB), open_dataset("Set5", 3, data_root=set5_copy.parent), progress=False)
    assert len(calls) == 1


def test_interrupted_run_resumes(monkeypatch):
    data = open_dataset("Set5", 3)
    import repro.eval.runner as runner

    real_score, seen = runner.score, []

    def flaky(*a, **k):
        if len(seen) == 2:
            raise KeyboardInterrupt
        seen.append(1)
        return real_score(*a, **k)

    monkeypatch.setattr(runner, "score", flaky)
    with pytest.raises(KeyboardInterrupt):
        evaluate(Job(**JOB), data, progress=False)
    seen.clear()
    monkeypatch.setattr(runner, "score", lambda *a, **k: seen.append(1) or real_score(*a, **k))
    rows, _ = evaluate(Job(**JOB), open_dataset("Set5", 3), progress=False)
    assert len(rows) == 5 and len(seen) == 3  # two images came from the cache


def test_cache_skips_a_torn_last_line(tmp_path):
    cache = RowCache("k", folder=tmp_path)
    assert cache.path.parent == tmp_path
    cache.put("a", {"f": "1"}, [{"image": "a", "psnr": 1.0, "seconds": 0.1}])
    with open(cache.path, "a") as f:
        f.write('{"image": "b", "files_sha')
    again = RowCache("k", folder=tmp_path)
    assert again.get("a", {"f": "1"}) == [{"image": "a", "psnr": 1.0, "seconds": 0.1}]
    assert again.get("b", {}) is None


def _eval_json(cmd: list[str], env: dict) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_two_processes_give_the_same_frame_as_one(tmp_path):
    env = {**os.environ, "REPRO_OUT": str(tmp_path / "r"), "OMP_NUM_THREADS": "1"}
    args = [
        "-m",
        "repro",
        "eval",
        "--model",
        "bicubic",
        "--scale",
        "2",
        "--dataset",
        "Set14",
        "--json",
    ]
    single = _eval_json([sys.executable, *args], env)
    env["REPRO_OUT"] = str(tmp_path / "r2")
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
    ]
    double = _eval_json([*torchrun, *args], env)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(double["rows"]) == strip(single["rows"])
    assert len(single["rows"]) == 14


def test_a_protocol_tile_block_drives_the_tiled_forward():
    # camixer_large's protocol: tile {size, overlap} in LR pixels, as the official test tiles
    import numpy as np
    import torch

    from repro.eval.predictor import make_predictor
    from repro.models import build
    from repro.models.tiling import tiled_forward

    torch.manual_seed(0)
    module = build("camixersr", "s", 2, ratio=1.0, mode="deterministic").eval()
    lr = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    sr = make_predictor("camixersr-s", module, tile={"size": 32, "overlap": 4})(lr)
    assert sr.shape == (80, 96, 3) and sr.dtype == np.uint8
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float().div(255)
    want = tiled_forward(module, x, tile=32, overlap=4).clamp(0, 1).mul(255).round()
    assert np.array_equal(sr, want[0].permute(1, 2, 0).to(torch.uint8).numpy())


def test_a_table_run_loads_each_rows_model_once(monkeypatch):
    """run_table loads a row's model once and hands it to evaluate for every dataset."""
    import repro.eval.loaded as loaded
    import repro.eval.runner as runner
    import repro.tables.run as table_run
    from repro.tables.spec import load_spec

    loads = []
    real_load = loaded.load_model
    monkeypatch.setattr(loaded, "load_model", lambda *a, **k: loads.append(a) or real_load(*a, **k))

    def refuse(*a, **k):
        raise AssertionError("evaluate loaded a model itself")

    monkeypatch.setattr(runner, "load", refuse)
    spec = load_spec("bicubic_classic")
    result = table_run.run_table(
        spec, datasets=["Set5", "Set14"], limit=1, progress=False, use_cache=False
    )
    runnable = [r for r in spec.rows if not r.status and r.model is not None]
    assert len(loads) == len(runnable)
    assert len(result.provenance["jobs"]) == 2 * len(runnable)
