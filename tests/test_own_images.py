"""`repro eval --hr/--lr DIR`: your own folders of images, without a dataset card."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from repro.cli import main
from repro.data.imresize import upscale_uint8
from repro.imageio import read_image
from repro.metrics import get_metric
from repro.paths import REPO_ROOT
from tests.conftest import DATA

SET5 = DATA / "Set5"
NAMES = ["baby", "bird", "butterfly", "head", "woman"]


def _eval(capsys, *args) -> tuple[int, str, str]:
    rc = main(["eval", "--model", "bicubic", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _json(capsys, *args) -> dict:
    rc, out, err = _eval(capsys, *args, "--json")
    assert rc == 0, err
    return json.loads(out)


def _table_cell(dataset: str, scale: int, metric: str) -> float:
    """The committed result of the bicubic_classic table (a complete run of the table code)."""
    cells = json.loads((REPO_ROOT / "results" / "bicubic_classic.cells.json").read_text())
    (cell,) = [
        c
        for c in cells["cells"]
        if (c["dataset"], c["scale"], c["metric"]) == (dataset, scale, metric)
    ]
    return cell["reproduced"]


def test_an_hr_folder_scores_as_the_table_does(capsys):
    """HR only: the LR is made here (MATLAB bicubic of the mod-cropped HR), and the scores equal
    the bicubic_classic table's Set5 x4 cells, which read the set's official LR files."""
    doc = _json(capsys, "--scale", "4", "--hr", str(SET5 / "HR"))
    assert [r["image"] for r in doc["rows"]] == [f"{n}.png" for n in NAMES]
    assert doc["lr_source"] == "bicubic-matlab-symmetric"
    assert doc["protocol"]["channel"] == "y" and doc["protocol"]["crop"] == 4
    assert doc["means"]["images"] == 5
    assert doc["means"]["psnr"] == pytest.approx(_table_cell("Set5", 4, "psnr"), abs=1e-6)
    assert doc["means"]["ssim"] == pytest.approx(_table_cell("Set5", 4, "ssim"), abs=1e-6)


def test_gray_images_are_scored_as_asked(capsys):
    """Set14 holds a one-channel image (bridge): --gray gray scores it as the table's classic
    bicubic rows do and gives the table's cell; the default (rgb3, BasicSR) differs."""
    hr = str(DATA / "Set14" / "HR")
    gray = _json(capsys, "--scale", "2", "--hr", hr, "--gray", "gray")
    assert gray["protocol"]["gray"] == "gray"
    assert gray["means"]["psnr"] == pytest.approx(_table_cell("Set14", 2, "psnr"), abs=1e-6)
    assert gray["means"]["ssim"] == pytest.approx(_table_cell("Set14", 2, "ssim"), abs=1e-6)
    rgb3 = _json(capsys, "--scale", "2", "--hr", hr)
    assert rgb3["protocol"]["gray"] == "rgb3"
    differs = [
        a["image"]
        for a, b in zip(gray["rows"], rgb3["rows"], strict=True)
        if abs(a["psnr"] - b["psnr"]) > 1e-9
    ]
    assert differs == ["bridge.png"]


def test_an_hr_lr_pair_matches_edsr_names_and_the_plain_output_says_what_was_scored(capsys):
    rc, out, err = _eval(
        capsys, "--scale", "3", "--hr", str(SET5 / "HR"), "--lr", str(SET5 / "LR_bicubic/X3")
    )
    assert rc == 0, err
    assert "scored: psnr, ssim on Y (BT.601 luma), 3 border pixels cropped" in out
    mean = next(line for line in out.splitlines() if line.startswith("mean"))
    assert float(mean.split()[1]) == pytest.approx(_table_cell("Set5", 3, "psnr"), abs=1e-4)


def test_lr_only_with_out_writes_the_sr_images_and_niqe_scores_them(capsys, tmp_path):
    out = tmp_path / "sr"
    lr_dir = SET5 / "LR_bicubic" / "X4"
    doc = _json(capsys, "--scale", "4", "--lr", str(lr_dir), "--out", str(out), "--metrics", "niqe")
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{n}.png" for n in NAMES)  # the HR names: without the x4 suffix
    niqe = get_metric("niqe")
    for row in doc["rows"]:
        lr = read_image(lr_dir / row["image"])
        sr = read_image(out / row["image"].replace("x4.png", ".png"))
        assert sr.shape == (4 * lr.shape[0], 4 * lr.shape[1], 3)
        # the saved PNG is the model's output: bicubic is MATLAB imresize x4 of the LR
        assert np.array_equal(sr, upscale_uint8(lr, 4))
        # ... and the printed NIQE is that of the saved image
        assert row["niqe"] == pytest.approx(niqe.fn(sr), abs=1e-9)
    assert np.isfinite(doc["means"]["niqe"]) and 2.0 < doc["means"]["niqe"] < 20.0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_tiled_upscaling_runs_a_learned_model_tile_by_tile(capsys, tmp_path):
    """--tile 32 on a 72x72 LR: 3 x 3 overlapping tiles merged; the output keeps 4x the LR size
    and differs from the whole-image forward only where tiles meet (a close, not equal, image)."""
    lr_dir = tmp_path / "lr"
    lr_dir.mkdir()
    shutil.copy(SET5 / "LR_bicubic" / "X4" / "birdx4.png", lr_dir)
    model = ["--model", "camixersr-s", "--scale", "4", "--set", "mode=deterministic"]
    outs = {}
    for name, tile in (("tiled", ["--tile", "32"]), ("whole", [])):
        rc = main(["eval", *model, "--lr", str(lr_dir), "--out", str(tmp_path / name), *tile])
        assert rc == 0, capsys.readouterr().err
        outs[name] = read_image(tmp_path / name / "bird.png")
    assert outs["tiled"].shape == outs["whole"].shape == (288, 288, 3)
    assert not np.array_equal(outs["tiled"], outs["whole"])
    psnr = get_metric("psnr").fn(outs["tiled"], outs["whole"], channel="rgb", crop=0)
    assert psnr > 35.0


def _assert_error(rc: int, err: str, needle: str) -> None:
    """Exit 2 and one line (these runs pass --json: no progress bar on stderr)."""
    assert rc == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def test_sizes_that_do_not_fit_are_one_line_and_leave_no_folder(capsys, tmp_path):
    lr = tmp_path / "lr"
    lr.mkdir()
    for n in NAMES:  # x3 LR files named as the HR: they pair by name, not by size
        shutil.copy(SET5 / "LR_bicubic" / "X3" / f"{n}x3.png", lr / f"{n}.png")
    out = tmp_path / "sr"
    rc, _, err = _eval(
        capsys,
        "--scale",
        "4",
        "--hr",
        str(SET5 / "HR"),
        "--lr",
        str(lr),
        "--out",
        str(out),
        "--json",
    )
    _assert_error(rc, err, "is not x4 the LR")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr"]


def test_an_unreadable_image_midway_leaves_no_partial_output(capsys, tmp_path):
    lr = tmp_path / "lr"
    shutil.copytree(SET5 / "LR_bicubic" / "X4", lr)
    (lr / "zz_broken.png").write_bytes((lr / "babyx4.png").read_bytes()[:200])
    rc, _, err = _eval(
        capsys, "--scale", "4", "--lr", str(lr), "--out", str(tmp_path / "sr"), "--json"
    )
    _assert_error(rc, err, "zz_broken.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr"]


@pytest.mark.parametrize(
    "case, needle",
    [
        ("empty", "holds no images"),
        ("missing-lr", "no LR image for baby.png"),
        ("extra-lr", "has no HR image"),
        ("out-not-empty", "is not an empty folder"),
        ("lr-alone", "no ground truth"),
        ("fr-metric-without-hr", "compares with ground truth"),
        ("set-level", "compares two image sets"),
        ("dataset-and-folder", "not both"),
        ("no-images", "--dataset NAME"),
    ],
)
def test_bad_folders_and_options_are_one_line_errors(case, needle, capsys, tmp_path):
    empty, few, out = tmp_path / "empty", tmp_path / "few", tmp_path / "out"
    empty.mkdir()
    few.mkdir()
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    shutil.copy(SET5 / "HR" / "bird.png", few)
    hr, x4 = str(SET5 / "HR"), str(SET5 / "LR_bicubic" / "X4")
    args = {
        "empty": ["--hr", str(empty)],
        "missing-lr": ["--hr", hr, "--lr", str(few)],
        "extra-lr": ["--hr", str(few), "--lr", x4],
        "out-not-empty": ["--lr", x4, "--out", str(out)],
        "lr-alone": ["--lr", x4],
        "fr-metric-without-hr": ["--lr", x4, "--metrics", "psnr"],
        "set-level": ["--hr", hr, "--metrics", "fid"],
        "dataset-and-folder": ["--hr", hr, "--dataset", "Set5"],
        "no-images": [],
    }[case]
    rc, _, err = _eval(capsys, "--scale", "4", *args, "--json")
    _assert_error(rc, err, needle)
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "few", "out"]


def test_dataset_eval_says_which_channel_and_crop_were_scored(capsys):
    rc, out, err = _eval(capsys, "--scale", "2", "--dataset", "Set5", "--limit", "1")
    assert rc == 0, err
    assert "bicubic x2 on Set5: 1 images, its LR files" in out
    assert "scored: psnr, ssim on Y (BT.601 luma), 2 border pixels cropped" in out
    doc = _json(capsys, "--scale", "2", "--dataset", "Set5", "--limit", "1", "--make-lr")
    assert doc["provenance"]["data"]["lr_source"] == "bicubic-matlab-symmetric"
