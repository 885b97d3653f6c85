"""The visual comparison (issue #24, point 6): the same crop of HR, bicubic and each model, each
scored, on real dataset images; the box given or picked where the outputs differ most."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from repro.cli import main
from repro.data.loaders import open_dataset
from repro.errors import ReproError
from repro.eval.predictor import load_model, make_predictor
from repro.report.compare_images import (
    Box,
    compare_image,
    comparison_figure,
    pick_box,
)


def _y(img: np.ndarray) -> np.ndarray:
    """BT.601 Y on 0..255 as DESIGN.md states it (MATLAB rgb2ycbcr on [0, 1], times 255)."""
    rgb = img.astype(np.float64)
    return 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255


def _psnr_y(a: np.ndarray, b: np.ndarray, crop: int = 0) -> float:
    if crop:
        a, b = a[crop:-crop, crop:-crop], b[crop:-crop, crop:-crop]
    mse = np.mean((_y(a) - _y(b)) ** 2)
    return 10 * math.log10(255**2 / mse)


@pytest.fixture(scope="module")
def bird():
    """Set5 bird x4: its HR and the bicubic upscaling of its official LR."""
    sample = open_dataset("Set5", 4).load("bird")
    module, _ = load_model("bicubic", 4)
    return sample.hr, make_predictor("bicubic", module)(sample.lr)


def test_the_picked_box_is_where_the_outputs_differ_most(bird):
    hr, bicubic = bird
    box = pick_box([bicubic, hr], 40, 4)
    # brute force over every position at least 4 pixels from the edges
    spread = np.std(np.stack([_y(bicubic), _y(hr)]), axis=0)
    sums = sliding_window_view(spread, (40, 40)).sum(axis=(2, 3))[4:-4, 4:-4]
    y, x = np.unravel_index(np.argmax(sums), sums.shape)
    assert (box.x, box.y, box.w, box.h) == (x + 4, y + 4, 40, 40)
    assert 4 <= box.x <= hr.shape[1] - 44 and 4 <= box.y <= hr.shape[0] - 44
    with pytest.raises(ReproError, match="too small"):
        pick_box([bicubic, hr], 285, 4)


def test_each_crop_is_cut_from_its_output_and_scored_on_y(bird):
    hr, bicubic = bird
    c = compare_image("Set5", "bird", [], 4, box=Box(100, 30, 64, 48))
    assert [k.name for k in c.crops] == ["HR", "bicubic"]
    assert np.array_equal(c.crops[0].pixels, hr[30:78, 100:164])
    crop = c.crops[1]
    assert np.array_equal(crop.pixels, bicubic[30:78, 100:164])
    assert crop.psnr == pytest.approx(_psnr_y(bicubic[30:78, 100:164], hr[30:78, 100:164]), 1e-9)
    # the whole image under Set5's protocol: Y, 4 border pixels cropped at x4
    assert crop.whole["psnr"] == pytest.approx(_psnr_y(bicubic, hr, 4), abs=1e-9)
    assert 0 < crop.ssim < 1 and c.picked == "given"
    assert c.to_dict()["box"] == {"x": 100, "y": 30, "w": 64, "h": 48}


@pytest.mark.parametrize(
    ("box", "says"),
    [
        (Box(250, 0, 64, 64), "leaves the 288x288 HR image"),
        (Box(0, 0, 8, 64), "at least 16x16"),
    ],
)
def test_a_box_off_the_image_is_refused(box, says):
    with pytest.raises(ReproError, match=says):
        compare_image("Set5", "bird", [], 4, box=box)


def test_the_figure_shows_the_box_and_every_crop_with_its_scores(bird):
    from matplotlib.patches import Rectangle

    c = compare_image("Set5", "bird", [], 4, box=Box(100, 30, 64, 48))
    fig = comparison_figure(c)
    full, *crops = fig.axes
    (rect,) = [p for p in full.patches if isinstance(p, Rectangle)]
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (
        99.5,
        29.5,
        64,
        48,
    )
    assert np.array_equal(full.images[0].get_array(), c.hr)
    assert [ax.get_gid() for ax in crops] == ["HR", "bicubic"]
    for ax, crop in zip(crops, c.crops, strict=True):
        assert np.array_equal(ax.images[0].get_array(), crop.pixels)
    words = [t.get_text() for t in crops[1].texts]
    assert f"{c.crops[1].psnr:.2f}" in words and f"{c.crops[1].ssim:.4f}" in words
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "x=100 y=30 64x48 (given)" in caption and "on Y" in caption


def test_a_learned_model_beside_bicubic_on_a_real_image(tmp_path, capsys):
    """The shipped CAMixerSR-S checkpoint (x4) on Set5 butterfly (the smallest LR of the set,
    64x64: one CPU forward of a few seconds, the only learned model with weights here), through
    the command: the box where the outputs differ most, the model ahead of bicubic on the crop
    and on the image."""
    argv = ["compare-images", "Set5", "butterfly", "--model", "camixersr-s", "--scale", "4"]
    assert main([*argv, "--figures", str(tmp_path), "--json", "--device", "cpu"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)["comparisons"]
    assert doc["picked"].startswith("picked where the outputs differ most")
    hr_crop, bicubic, model = doc["crops"]
    assert model["name"] == "camixersr-s"
    assert model["psnr"] > bicubic["psnr"] and model["ssim"] > bicubic["ssim"]
    assert model["whole"]["psnr"] > bicubic["whole"]["psnr"] + 2
    png = tmp_path / "Set5_butterfly_x4_compare.png"
    assert doc["figure"] == str(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == [png.name]


def test_command_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    for argv, says in [
        (["Set5", "bird", "nope", "--scale", "4"], "Set5 has no image 'nope'"),
        (["Set5", "bird", "--scale", "4", "--box", "1,2,3"], "expected X,Y,W,H"),
        (["Set5", "bird", "baby", "--scale", "4", "--box", "1,2,40,40"], "one box per image"),
        (["Set5", "bird", "--scale", "4", "--model", "camixersr-s:ratio"], "KEY=VALUE"),
        (["Set5", "bird", "--scale", "4", "--model", "nosuchnet"], "nosuchnet"),
    ]:
        assert main(["compare-images", *argv, "--figures", str(out)]) == 2
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
