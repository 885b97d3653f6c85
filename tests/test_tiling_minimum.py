"""Tiles (and images) below a model's smallest input are refused with one line, every family.

CAMixerSR and ESC reflect-pad to a multiple of their attention window, which needs more than
half a window of image: CAMixerSR's window is 16 (the official ``window_size``), so 9 pixels;
ESC-light's 32, so 17; ESC-XL's 48, so 25. NAFSSR has no windows and bicubic works on the whole
uint8 image (never tiled), so any size goes. Each declared minimum is checked against the model
itself: it runs at the minimum and fails one pixel below it (ESC-XL, slow on a CPU, only by its
declaration: the same ESC code as ESC-light).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from repro.cli import main
from repro.errors import ReproError
from repro.eval.predictor import make_predictor
from repro.models import build, registry
from repro.models.tiling import min_input_size, tiled_forward

# model id -> (family, variant, scale, the minimum from its window, as in the docstring)
WINDOWED = {
    "camixersr-s": ("camixersr", "s", 4, 16 // 2 + 1),
    "esc-light": ("esc", "light", 2, 32 // 2 + 1),
}


def _net(model_id: str) -> torch.nn.Module:
    family, variant, scale, _ = WINDOWED[model_id]
    torch.manual_seed(0)
    return build(family, variant, scale).eval()


def test_esc_xl_declares_half_its_48_pixel_window():
    with torch.device("meta"):  # the declaration only: no weights allocated
        assert min_input_size(build("esc", "xl", 2)) == 48 // 2 + 1


def _lr(side: int, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(side).integers(0, 256, (side, side, channels), dtype=np.uint8)


@pytest.mark.parametrize("model_id", WINDOWED)
def test_a_windowed_family_declares_the_size_its_padding_needs(model_id):
    net = _net(model_id)
    need = WINDOWED[model_id][3]
    assert min_input_size(net) == need
    with torch.no_grad():
        net(torch.rand(1, 3, need, need))  # runs at the minimum ...
        with pytest.raises((RuntimeError, ReproError)):
            net(torch.rand(1, 3, need - 1, need))  # ... and the model itself fails below it


@pytest.mark.parametrize("model_id", WINDOWED)
def test_a_tile_below_the_minimum_is_refused_before_any_image(model_id):
    net, need = _net(model_id), WINDOWED[model_id][3]
    with pytest.raises(ReproError) as info:
        make_predictor(model_id, net, tile={"size": need - 1})
    msg = str(info.value)
    assert "\n" not in msg and f"at least {need}" in msg and f"tile {need - 1}" in msg
    with pytest.raises(ReproError, match=f"tile {need - 1} "):
        tiled_forward(net, torch.rand(1, 3, 40, 40), tile=need - 1)
    sr = make_predictor(model_id, net, tile={"size": need})(_lr(need))  # the minimum works
    assert sr.shape[:2] == (need * net.scale,) * 2


@pytest.mark.parametrize("model_id", WINDOWED)
def test_an_image_below_the_minimum_is_refused_tiled_or_not(model_id):
    net, need = _net(model_id), WINDOWED[model_id][3]
    for tile in (None, {"size": 64}):  # a tile larger than the image shrinks to the image
        with pytest.raises(ReproError, match=f"{need - 1}x{need - 1} pixels .* {need}x{need}"):
            make_predictor(model_id, net, tile=tile)(_lr(need - 1))


def test_nafssr_takes_any_tile():
    torch.manual_seed(0)
    net = build("nafssr", "t", 2).eval()
    assert min_input_size(net) == 1
    pair = _lr(6, channels=6)
    whole = make_predictor("nafssr-t", net)(pair)
    tiled = make_predictor("nafssr-t", net, tile={"size": 3})(pair)  # below any window
    assert whole.shape == tiled.shape == (12, 12, 6)


def test_bicubic_is_never_tiled_so_any_tile_is_the_whole_image():
    module = build("bicubic", None, 4)
    assert registry.get("bicubic").predict_uint8 is not None
    lr = _lr(5)
    whole = make_predictor("bicubic", module)(lr)
    assert np.array_equal(make_predictor("bicubic", module, tile={"size": 1})(lr), whole)


@pytest.fixture
def hr_folder(tmp_path):
    folder = tmp_path / "hr"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / "a.png")
    return folder


def test_cli_eval_tile_8_on_camixersr_is_one_line(hr_folder, tmp_path, capsys):
    """The issue's case: ``eval --tile 8`` on CAMixerSR was a RuntimeError from padding."""
    args = ["eval", "--model", "camixersr-s", "--scale", "4", "--hr", str(hr_folder)]
    out = tmp_path / "sr"
    assert main([*args, "--tile", "8", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: tile 8 ") and "at least 9" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()  # nothing written
    assert main([*args, "--tile", "9", "--json"]) == 0  # 10x10 LR in 9x9 tiles


def test_cli_eval_tile_below_esc_minimum_is_one_line(hr_folder, tmp_path, capsys):
    ckpt = tmp_path / "esc.pth"
    torch.save({"params_ema": _net("esc-light").state_dict()}, ckpt)
    args = ["eval", "--model", "esc-light", "--scale", "2", "--hr", str(hr_folder)]
    assert main([*args, "--weights", str(ckpt), "--tile", "16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: tile 16 ") and "at least 17" in err
    assert len(err.strip().splitlines()) == 1
