"""Issue #24, point 5: images out, images in. SR images are saved under the HR file names
(``eval --save-sr``/``--out``, ``table --save-sr``), so ``repro score --ref HR --dist SR``
pairs them and gives eval's numbers; ``score`` takes several metrics and eval's protocol options
and prints eval's protocol header; ``eval --dataset`` prints the table ``eval --hr`` prints; an
image's seconds exclude a warm-up forward.

The model is bicubic (MATLAB imresize of the LR): its outputs are known exactly.
"""

from __future__ import annotations

import json
import re
import shutil
import time

import numpy as np
import pytest

from repro.cli import main
from repro.data.imresize import upscale_uint8
from repro.imageio import read_image
from repro.paths import REPO_ROOT
from tests.conftest import DATA

SET5 = DATA / "Set5"
NAMES = ["baby", "bird", "butterfly", "head", "woman"]


PROGRESS = re.compile(r".+: \d+ images, \d+\.\d s\n")


def _run(capsys, *argv) -> tuple[int, str, str]:
    """The exit status, stdout without the job's progress line (tests/test_quiet_log.py), and
    stderr."""
    rc = main(list(argv))
    out = capsys.readouterr()
    printed = [line for line in out.out.splitlines(True) if not PROGRESS.fullmatch(line)]
    return rc, "".join(printed), out.err


def _json(capsys, *argv) -> dict:
    rc, out, err = _run(capsys, *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


def _committed(dataset: str, scale: int, metric: str) -> float:
    """bicubic_classic's committed cell: the same images scored by a complete table run."""
    cells = json.loads((REPO_ROOT / "results" / "bicubic_classic.cells.json").read_text())
    (cell,) = [
        c
        for c in cells["cells"]
        if (c["dataset"], c["scale"], c["metric"]) == (dataset, scale, metric)
    ]
    return cell["reproduced"]


def test_lr_alone_saves_under_the_hr_names_and_score_chains(capsys, tmp_path):
    """eval --lr kept the LR names (babyx4.png), so score found no names in common."""
    sr = tmp_path / "sr"
    lr_dir = SET5 / "LR_bicubic" / "X4"
    assert main(["eval", "--model", "bicubic", "--scale", "4", "--lr", str(lr_dir), "--out",
                 str(sr)]) == 0  # fmt: skip
    assert sorted(p.name for p in sr.iterdir()) == sorted(f"{n}.png" for n in NAMES)
    lr = read_image(lr_dir / "birdx4.png")  # the model's output, under the HR's name
    assert np.array_equal(read_image(sr / "bird.png"), upscale_uint8(lr, 4))
    capsys.readouterr()
    doc = _json(capsys, "score", "psnr", "ssim", "--ref", str(SET5 / "HR"), "--dist", str(sr),
                "--crop", "4")  # fmt: skip
    assert [r["image"] for r in doc["rows"]] == [f"{n}.png" for n in NAMES]
    # the paper's protocol on Y with a 4-pixel crop: the table run's numbers
    assert doc["means"]["psnr"] == pytest.approx(_committed("Set5", 4, "psnr"), abs=1e-9)
    assert doc["means"]["ssim"] == pytest.approx(_committed("Set5", 4, "ssim"), abs=1e-9)


def test_score_prints_the_protocol_header_eval_prints(capsys, tmp_path):
    lr_dir = SET5 / "LR_bicubic" / "X4"
    argv = ["eval", "--model", "bicubic", "--scale", "4", "--hr", str(SET5 / "HR"), "--lr"]
    rc, evaluated, _ = _run(capsys, *argv, str(lr_dir), "--save-sr", str(tmp_path / "sr"))
    assert rc == 0
    rc, scored, _ = _run(capsys, "score", "psnr", "ssim", "--ref", str(SET5 / "HR"), "--dist",
                         str(tmp_path / "sr"), "--crop", "4")  # fmt: skip
    assert rc == 0
    eval_lines, score_lines = evaluated.splitlines(), scored.splitlines()
    assert score_lines[0] == eval_lines[1]  # "scored: psnr, ssim on Y (BT.601 luma), ..."
    assert score_lines[0].startswith("scored: psnr, ssim on Y (BT.601 luma), 4 border pixels")
    # the same per-image values, image by image: the columns before eval's seconds
    assert [line.split()[:3] for line in score_lines[2:]] == [
        line.split()[:3] for line in eval_lines[3:-1]
    ]


def test_score_mod_crops_an_hr_that_is_not_a_multiple_of_the_scale(capsys, tmp_path):
    """B100's HR images are 321 pixels wide: their x4 outputs are 320. eval crops the HR;
    score says how to (--mod-crop 4), then gives eval's values."""
    hr, lr = tmp_path / "hr", tmp_path / "lr"
    hr.mkdir(), lr.mkdir()
    for name in ("img_001", "img_002"):
        shutil.copy(DATA / "B100" / "HR" / f"{name}.png", hr)
        shutil.copy(DATA / "B100" / "LR_bicubic" / "X4" / f"{name}x4.png", lr)
    assert read_image(hr / "img_001.png").shape[1] % 4 == 1
    argv = ["eval", "--model", "bicubic", "--scale", "4", "--hr", str(hr), "--lr", str(lr)]
    evaluated = _json(capsys, *argv, "--out", str(tmp_path / "sr"))
    score = ["score", "psnr", "ssim", "--ref", str(hr), "--dist", str(tmp_path / "sr"), "--crop"]
    rc, _, err = _run(capsys, *score, "4")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "is 320x480 but" in err and "--mod-crop SCALE" in err
    doc = _json(capsys, *score, "4", "--mod-crop", "4")
    for mine, theirs in zip(doc["rows"], evaluated["rows"], strict=True):
        assert mine["image"] == theirs["image"]
        assert (mine["psnr"], mine["ssim"]) == pytest.approx((theirs["psnr"], theirs["ssim"]))
    assert doc["protocol"] == {"channel": "y", "gray": "rgb3", "crop": 4, "mod_crop": 4}


def test_score_takes_several_metrics_and_keeps_its_one_metric_document(capsys):
    hr = str(SET5 / "HR" / "baby.png")
    doc = _json(capsys, "score", "psnr", "ssim", "--ref", hr, "--dist", hr, "--channel", "rgb")
    assert doc["metrics"] == ["psnr", "ssim"] and "values" not in doc
    assert doc["rows"] == [{"image": "baby.png", "psnr": "inf", "ssim": 1.0}]
    one = _json(capsys, "score", "ssim", "--ref", hr, "--dist", hr)
    assert (one["metric"], one["values"], one["mean"]) == ("ssim", {"baby.png": 1.0}, 1.0)


def test_eval_dataset_prints_the_table_eval_hr_prints(capsys, tmp_path):
    hr, lr = tmp_path / "hr", tmp_path / "lr"
    hr.mkdir(), lr.mkdir()
    for name in NAMES[:2]:
        shutil.copy(SET5 / "HR" / f"{name}.png", hr)
        shutil.copy(SET5 / "LR_bicubic" / "X2" / f"{name}x2.png", lr)
    common = ["eval", "--model", "bicubic", "--scale", "2"]
    rc, on_set, _ = _run(capsys, *common, "--dataset", "Set5", "--limit", "2")
    assert rc == 0
    rc, on_folders, _ = _run(capsys, *common, "--hr", str(hr), "--lr", str(lr))
    assert rc == 0
    a, b = on_set.splitlines(), on_folders.splitlines()
    assert a[1] == b[1]  # the same protocol header
    assert a[2].split() == b[2].split() == ["image", "psnr", "ssim", "seconds"]
    # per image: its name (the card's name, or the file's), psnr, ssim, seconds; then the means
    assert [line.split()[1:3] for line in a[3:]] == [line.split()[1:3] for line in b[3:]]
    assert [line.split()[0] for line in a[3:]] == ["baby", "bird", "mean"]
    assert a[-1].split() == b[-1].split() and a[-1].startswith("mean ")
    assert float(a[-1].split()[1]) == pytest.approx(
        np.mean([float(line.split()[1]) for line in a[3:5]]), abs=1e-4
    )


def test_eval_dataset_saves_its_sr_images_under_the_hr_names(capsys, tmp_path):
    out = tmp_path / "sr"
    argv = ["eval", "--model", "bicubic", "--scale", "3", "--dataset", "Set5", "--limit", "2"]
    rc, printed, _ = _run(capsys, *argv, "--save-sr", str(out))
    assert rc == 0 and f"to {out}" in printed
    assert sorted(p.name for p in out.iterdir()) == ["baby.png", "bird.png"]
    for name in ("baby", "bird"):
        lr = read_image(SET5 / "LR_bicubic" / "X3" / f"{name}x3.png")
        assert np.array_equal(read_image(out / f"{name}.png"), upscale_uint8(lr, 3))
    rc, _, err = _run(capsys, *argv, "--save-sr", str(out))  # never over earlier images
    assert rc == 2 and "--save-sr" in err and "not an empty folder" in err


def test_a_table_run_saves_its_sr_images_per_row_and_dataset(capsys, tmp_path):
    out = tmp_path / "sr"
    argv = ["table", "bicubic_classic", "--datasets", "Set5", "--limit", "1"]
    assert main([*argv, "--save-sr", str(out)]) == 0
    saved = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert saved == [f"bicubic-x{s}/Set5/baby.png" for s in (2, 3, 4)]
    for s in (2, 3, 4):
        lr = read_image(SET5 / "LR_bicubic" / f"X{s}" / f"babyx{s}.png")
        assert np.array_equal(read_image(out / f"bicubic-x{s}/Set5/baby.png"), upscale_uint8(lr, s))
    assert [p.name for p in tmp_path.iterdir()] == ["sr"]  # no staging folder left
    capsys.readouterr()
    before = sorted((tmp_path / "sr").rglob("*"))
    assert main([*argv, "--save-sr", str(out)]) == 2  # refused before anything runs
    assert "not an empty folder" in capsys.readouterr().err
    assert sorted((tmp_path / "sr").rglob("*")) == before


def test_stereo_sr_files_take_the_names_of_the_hr_views(tmp_path):
    from repro.data.loaders import open_dataset
    from repro.eval.sr_files import sr_paths, write_sr

    data = open_dataset("KITTI2012", 4, use_hub=False)  # the shared sample: original/{name}_L.png
    (name,) = data.names
    hr_names = sorted(p.name for p in (DATA / "KITTI2012_sample1" / "original").iterdir())
    assert [p.as_posix() for p in sr_paths(data, name)] == hr_names
    pair = np.random.default_rng(0).integers(0, 256, (8, 12, 6), dtype=np.uint8)
    write_sr(tmp_path, data, name, pair)
    left, right = (read_image(tmp_path / n) for n in hr_names)
    assert np.array_equal(left, pair[..., :3]) and np.array_equal(right, pair[..., 3:])


class _Clock:
    """A fake perf_counter: the first forward of the process costs 100 s, every other 1 s."""

    def __init__(self):
        self.now, self.forwards = 0.0, 0

    def __call__(self) -> float:
        return self.now

    def wrap(self, make_predictor):
        def make(*args, **kwargs):
            predict = make_predictor(*args, **kwargs)

            def forward(lr):
                self.now += 100.0 if self.forwards == 0 else 1.0
                self.forwards += 1
                return predict(lr)

            return forward

        return make


def test_seconds_exclude_a_warm_up_forward_on_datasets(monkeypatch):
    from repro.data.loaders import open_dataset
    from repro.eval import runner
    from repro.eval.quick import dataset_job

    clock = _Clock()
    monkeypatch.setattr(runner, "make_predictor", clock.wrap(runner.make_predictor))
    monkeypatch.setattr(time, "perf_counter", clock)
    data = open_dataset("Set5", 4).limit(3)
    rows, _ = runner.evaluate(dataset_job("bicubic", 4, data), data, progress=False)
    assert [r["seconds"] for r in rows] == [1.0, 1.0, 1.0]
    assert clock.forwards == 4  # one untimed warm-up, then one forward per image
    rows, _ = runner.evaluate(dataset_job("bicubic", 4, data), data, progress=False)
    assert clock.forwards == 4  # all rows from the cache: nothing to warm up


def test_seconds_exclude_a_warm_up_forward_on_folders(monkeypatch):
    from repro.eval import folders

    clock = _Clock()
    monkeypatch.setattr(folders, "make_predictor", clock.wrap(folders.make_predictor))
    monkeypatch.setattr(time, "perf_counter", clock)
    images = folders.match_folders(SET5 / "HR", None, 4)[:2]
    protocol = {**folders.FOLDER_PROTOCOL, "channel": "y"}
    rows, _ = folders.evaluate_folders(
        "bicubic", 4, images, metrics=[("psnr", None)], protocol=protocol, crop=4
    )
    assert [r["seconds"] for r in rows] == [1.0, 1.0] and clock.forwards == 3
