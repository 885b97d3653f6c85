"""The 360° LR pipeline (OSRT/CAMixerSR fisheye-domain bicubic) and the 360° bicubic baseline.

No official ODI LR is available offline, so these tests check properties that a wrong geometry
(swapped hemispheres, mirrored or shifted longitude, wrong axes) or wrong quantisation would break.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.data.loaders import open_dataset
from repro.data.odi import odi_fisheye_lr
from repro.errors import DataError
from repro.imageio import write_image
from repro.models.bicubic import Bicubic

H, W = 1024, 2048


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _area_mean(img: np.ndarray, s: int) -> np.ndarray:
    h, w, c = img.shape
    return img.reshape(h // s, s, w // s, s, c).mean(axis=(1, 3))


def _ramp(values: np.ndarray) -> np.ndarray:
    return np.repeat(np.round(values)[..., None], 3, axis=2).astype(np.uint8)


@pytest.mark.parametrize("scale", [2, 4])
def test_equals_the_official_function_output(scale):
    from pathlib import Path

    from repro.imageio import read_image
    from tests.conftest import DATA

    golden = np.load(Path(__file__).parent / "data" / "odi_official_lr.npz")
    hr = read_image(DATA / "Set14" / "HR" / "baboon.png")[:128, :256]
    lr = odi_fisheye_lr(hr, scale, resize=False)
    official = golden[f"lr_x{scale}"]
    diff = np.abs(lr.astype(int) - official.astype(int))
    # bit-exact here; one level allowed where another CPU's atan2/grid_sample round differently
    assert lr.shape == official.shape and diff.max() <= 1 and (diff == 0).mean() >= 0.999


@pytest.mark.parametrize("scale", [2, 4])
def test_latitude_is_kept_rows_map_to_rows(scale):
    rows = np.linspace(0, 255, H)[:, None] + np.zeros((1, W))
    hr = _ramp(rows)
    lr = odi_fisheye_lr(hr, scale)
    assert lr.shape == (H // scale, W // scale, 3) and lr.dtype == np.uint8
    diff = lr[:, 8:-8].astype(float) - _area_mean(hr, scale)[:, 8:-8]
    # top rows are the north pole: a swapped or flipped hemisphere would be off by ~128 levels
    assert np.abs(diff).mean() < 1.0
    assert np.percentile(np.abs(diff), 99) <= 3


@pytest.mark.parametrize("scale", [2, 4])
def test_longitude_is_kept_not_mirrored_or_shifted(scale):
    cols = np.zeros((H, 1)) + 128 + 100 * np.sin(np.linspace(0, 2 * np.pi, W, endpoint=False))
    hr = _ramp(cols)
    lr = odi_fisheye_lr(hr, scale).astype(float)
    ref = _area_mean(hr, scale)
    band = slice(H // scale // 4, 3 * H // scale // 4)  # away from the poles
    diff = lr[band, 8:-8] - ref[band, 8:-8]
    assert np.abs(diff).mean() < 1.0
    mirrored = lr[band, 8:-8] - ref[band, ::-1][:, 8:-8]
    assert np.abs(mirrored).mean() > 30


def test_quantisation_truncates_like_to_pil_image():
    # floor(255 v) twice: a flat grey can only lose a level, never gain one
    hr = np.full((H, W, 3), 128, np.uint8)
    lr = odi_fisheye_lr(hr, 4)
    interior = lr[4:-4, 8:-8]
    assert set(np.unique(interior)) <= {127, 128}
    # the seam at longitude +-180 deg blends with grid_sample's zero padding, as upstream does
    assert lr[:, 0].mean() < 127


def test_hr_of_another_size_is_resized_to_1024x2048_first():
    hr = _ramp(np.linspace(0, 255, 512)[:, None] + np.zeros((1, 1024)))
    assert odi_fisheye_lr(hr, 4).shape == (256, 512, 3)


def test_odd_lr_height_is_refused():
    with pytest.raises(DataError, match="must be even"):
        odi_fisheye_lr(np.zeros((24, 48, 3), np.uint8), 8, resize=False)


def _odi_folder(tmp_path, size, name="ODI-SR"):
    rng = np.random.default_rng(0)
    root = tmp_path / "data" / name
    base = np.linspace(0, 200, size[0])[:, None, None] + np.zeros((1, size[1], 3))
    noise = rng.integers(0, 40, (size[0], size[1], 3))
    write_image(root / "HR" / "000.png", (base + noise).astype(np.uint8))
    return tmp_path / "data"


def test_loader_makes_the_fisheye_lr_for_hr_only_folders(tmp_path):
    ds = open_dataset("ODI-SR", 4, data_root=_odi_folder(tmp_path, (H, W)))
    assert ds.lr_source == "odi-fisheye-bicubic"
    sample = ds.load("000")
    assert sample.lr.shape == (256, 512, 3) and sample.hr.shape == (H, W, 3)
    assert sample.meta["lr_source"] == "odi-fisheye-bicubic"


def test_odi_sr_skips_the_images_osrt_drops_from_the_test_split(tmp_path):
    root = _odi_folder(tmp_path, (64, 128))
    for name in ("013", "014", "045"):
        (root / "ODI-SR" / "HR" / f"{name}.png").hardlink_to(root / "ODI-SR" / "HR" / "000.png")
    ds = open_dataset("ODI-SR", 4, data_root=root)
    assert ds.names == ["000", "013"] and ds.excluded == ["014", "045"]
    assert ds.describe()["excluded"] == ["014", "045"]


def test_loader_refuses_hr_that_is_not_2048x1024(tmp_path):
    ds = open_dataset("SUN360", 4, data_root=_odi_folder(tmp_path, (512, 1024), "SUN360"))
    with pytest.raises(DataError, match="2048x1024"):
        ds.load("000")


def test_torch_bicubic_keeps_corners_as_align_corners_does():
    rng = np.random.default_rng(1)
    lr = rng.integers(0, 256, (8, 16, 3)).astype(np.uint8)
    up = Bicubic(4, method="torch").predict_uint8(lr)
    assert up.shape == (32, 64, 3)
    for (r, c), (R, C) in [((0, 0), (0, 0)), ((-1, -1), (-1, -1)), ((0, -1), (0, -1))]:
        np.testing.assert_array_equal(up[R, C], lr[r, c])
    # MATLAB's imresize has no such anchoring: the two methods must differ
    assert not np.array_equal(up, Bicubic(4).predict_uint8(lr))
