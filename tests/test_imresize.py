"""MATLAB bicubic imresize: torch vs an independent loop-based numpy reference, and vs the
official LR files of Set5/Set14 (made by MATLAB ``imresize(hr, 1/s, 'bicubic')``)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

import repro.data.imresize as imr
from repro.data.imresize import (
    ResizeArgumentError,
    imresize,
    imresize_uint8,
    make_lr,
    modcrop,
    upscale_uint8,
)
from repro.errors import DataError, ReproError
from repro.imageio import read_image
from repro.paths import shared_root


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """These images are small: on a busy 2-core machine two spinning OpenMP threads made the
    official-LR tests ~9x slower in CPU time than one thread. Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# Reference: MATLAB imresize.m `contributions` + `resizeAlongDim`, written as plain loops.


def ref_cubic(x: float) -> float:
    a = abs(x)
    if a <= 1:
        return 1.5 * a**3 - 2.5 * a**2 + 1
    if a <= 2:
        return -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2
    return 0.0


def ref_mirror(j: int, n: int) -> int:
    """0-based index folded back into 0..n-1 by half-sample symmetric reflection."""
    while j < 0 or j >= n:
        j = -1 - j if j < 0 else 2 * n - 1 - j
    return j


def ref_clamp(j: int, n: int) -> int:
    """0-based index clamped into 0..n-1 (MATLAB before R2007b: the edge pixel replicated)."""
    return min(max(j, 0), n - 1)


def ref_contributions(in_len, out_len, scale, aa=True, boundary="symmetric"):
    """Per output pixel: a list of (input index, weight)."""
    fold = ref_clamp if boundary == "replicate" else ref_mirror
    width = 4.0 / scale if (scale < 1 and aa) else 4.0
    rows = []
    for k in range(1, out_len + 1):
        u = k / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = []
        for t in range(math.ceil(width) + 2):
            j = left + t  # 1-based
            d = u - j
            w = scale * ref_cubic(d * scale) if (scale < 1 and aa) else ref_cubic(d)
            taps.append((fold(j - 1, in_len), w))
        total = sum(w for _, w in taps)
        rows.append([(j, w / total) for j, w in taps])
    return rows


def ref_resize_axis(a, axis, out_len, scale, aa=True, boundary="symmetric"):
    """Resize axis 0 (rows) or 1 (columns) of a float64 (H, W, ...) array."""
    a = np.moveaxis(a, axis, 0)
    out = np.zeros((out_len,) + a.shape[1:], dtype=np.float64)
    for i, taps in enumerate(ref_contributions(a.shape[0], out_len, scale, aa, boundary)):
        for j, w in taps:
            out[i] += w * a[j]
    return np.moveaxis(out, 0, axis)


def ref_imresize(
    a, scale, out_hw=None, order=(0, 1), round_between=False, aa=True, boundary="symmetric"
):
    """(H, W, ...) float64 array; passes in ``order``; optional uint8 rounding between them."""
    scales = scale if isinstance(scale, tuple) else (scale, scale)
    if out_hw is None:
        out_hw = (math.ceil(a.shape[0] * scales[0]), math.ceil(a.shape[1] * scales[1]))
    a = a.astype(np.float64)
    for k, ax in enumerate(order):
        a = ref_resize_axis(a, ax, out_hw[ax], scales[ax], aa, boundary)
        if round_between and k == 0:
            a = np.floor(np.clip(a, 0, 255) + 0.5)
    return a


def ref_uint8(img, scale, rounding, order=(0, 1), boundary="symmetric"):
    out = ref_imresize(
        img, scale, order=order, round_between=rounding == "matlab", boundary=boundary
    )
    return np.floor(np.clip(out, 0, 255) + 0.5).astype(np.uint8)


def chw_ref(x: torch.Tensor, scale: float, aa: bool = True, boundary="symmetric") -> np.ndarray:
    """Apply the reference to the last two axes of a tensor."""
    a = np.moveaxis(x.double().numpy(), (-2, -1), (0, 1))
    out = ref_imresize(a, scale, aa=aa, boundary=boundary)
    return np.moveaxis(out, (0, 1), (-2, -1))


# ---------------------------------------------------------------------------------------------
# torch vs reference

SCALES = [1 / 2, 1 / 3, 1 / 4, 2, 3, 4, 0.37, 1.7]
SHAPES = [(17, 23), (1, 19, 31), (3, 25, 14), (2, 3, 13, 21)]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_reference(shape, scale):
    g = torch.Generator().manual_seed(hash((shape, scale)) % 2**31)
    x = torch.rand(shape, generator=g)
    y = imresize(x, scale)
    assert y.dtype == torch.float32
    assert y.shape[-2:] == (math.ceil(shape[-2] * scale), math.ceil(shape[-1] * scale))
    assert y.shape[:-2] == x.shape[:-2]
    np.testing.assert_allclose(y.numpy(), chw_ref(x, scale), atol=1e-5, rtol=0)


@pytest.mark.parametrize("scale", [1 / 4, 0.37, 3])
def test_taps_path_matches_reference(monkeypatch, scale):
    """The loop-over-taps path (used for long axes) equals the dense path and the reference."""
    monkeypatch.setattr(imr, "_DENSE_MAX_IN", 0)
    imr._torch_tables.cache_clear()
    try:
        x = torch.rand(2, 3, 29, 18, dtype=torch.float64)
        np.testing.assert_allclose(imresize(x, scale).numpy(), chw_ref(x, scale), atol=1e-10)
    finally:
        imr._torch_tables.cache_clear()


@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 0.37, 2, 1.7])
def test_replicate_boundary_matches_reference(scale):
    x = torch.rand(2, 3, 15, 22, dtype=torch.float64)
    got = imresize(x, scale, boundary="replicate")
    np.testing.assert_allclose(got.numpy(), chw_ref(x, scale, boundary="replicate"), atol=1e-10)
    # only the outer output rows/columns see the boundary
    sym = imresize(x, scale)
    assert not torch.allclose(got, sym)
    m = 3 if scale >= 1 else math.ceil(3 * scale) + 1
    assert torch.allclose(got[..., m:-m, m:-m], sym[..., m:-m, m:-m], atol=1e-12)


def test_replicate_boundary_uint8():
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, size=(26, 19, 3), dtype=np.uint8)
    for mode in ("matlab", "float"):
        np.testing.assert_array_equal(
            imresize_uint8(img, 1 / 3, rounding=mode, boundary="replicate"),
            ref_uint8(img, 1 / 3, mode, boundary="replicate"),
        )


def test_no_antialiasing_and_float64():
    x = torch.rand(3, 20, 27, dtype=torch.float64)
    for s in (0.5, 1 / 3):
        y = imresize(x, s, antialiasing=False)
        assert y.dtype == torch.float64
        np.testing.assert_allclose(y.numpy(), chw_ref(x, s, aa=False), atol=1e-10)


def test_tiny_inputs_mirror_many_times():
    """Kernel support far larger than the image: indices fold back several times (MATLAB mod)."""
    for h, w in [(1, 1), (2, 3), (3, 2)]:
        x = torch.rand(1, h, w, dtype=torch.float64)
        for s in (1 / 4, 0.37, 4):
            np.testing.assert_allclose(imresize(x, s).numpy(), chw_ref(x, s), atol=1e-10)


def test_out_size_uses_per_axis_scales():
    x = torch.rand(3, 30, 40, dtype=torch.float64)
    y = imresize(x, out_size=(12, 52))
    a = np.moveaxis(x.numpy(), 0, -1)
    ref = ref_imresize(a, (12 / 30, 52 / 40), out_hw=(12, 52))
    np.testing.assert_allclose(y.numpy(), np.moveaxis(ref, -1, 0), atol=1e-10)


# ---------------------------------------------------------------------------------------------
# uint8 paths


@pytest.mark.parametrize("rounding", ["matlab", "float"])
@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 3, 1.7])
def test_uint8_matches_reference(rounding, scale):
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, size=(23, 17, 3), dtype=np.uint8)
    out = imresize_uint8(img, scale, rounding=rounding)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, ref_uint8(img, scale, rounding))


def test_uint8_pass_order_smaller_scale_first():
    """MATLAB sorts the scales: the axis with the smaller one is resized (and rounded) first."""
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, size=(40, 40, 1), dtype=np.uint8)
    h_small = imresize_uint8(img, (0.3, 0.5))  # H first
    w_small = imresize_uint8(img, (0.5, 0.3))  # W first
    np.testing.assert_array_equal(h_small, ref_uint8(img, (0.3, 0.5), "matlab", order=(0, 1)))
    np.testing.assert_array_equal(w_small, ref_uint8(img, (0.5, 0.3), "matlab", order=(1, 0)))
    # and the order does matter once rounding sits between the passes
    assert not np.array_equal(w_small, ref_uint8(img, (0.5, 0.3), "matlab", order=(0, 1)))


def test_uint8_gray_2d_and_rounding_modes_differ():
    rng = np.random.default_rng(11)
    img = rng.integers(0, 256, size=(30, 21), dtype=np.uint8)
    a = imresize_uint8(img, 1 / 3, rounding="matlab")
    b = imresize_uint8(img, 1 / 3, rounding="float")
    assert a.shape == b.shape == (10, 7)
    assert 0 < np.count_nonzero(a != b) and np.abs(a.astype(int) - b).max() <= 2


def test_round_half_away_from_zero_and_saturate():
    t = torch.tensor([0.5, 1.5, 2.5, 254.49, -3.0, 300.0], dtype=torch.float64)
    assert imr._round_uint8_range(t).tolist() == [1, 2, 3, 254, 0, 255]


# ---------------------------------------------------------------------------------------------
# properties, modcrop, errors


@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 0.37, 1.7, 4])
def test_constant_stays_constant_and_sizes(scale):
    x = torch.full((2, 3, 37, 26), 0.625, dtype=torch.float64)
    y = imresize(x, scale)
    assert y.shape == (2, 3, math.ceil(37 * scale), math.ceil(26 * scale))
    assert torch.allclose(y, torch.full_like(y, 0.625), atol=1e-12)
    img = np.full((37, 26, 3), 201, dtype=np.uint8)
    for mode in ("matlab", "float"):
        out = imresize_uint8(img, scale, rounding=mode)
        assert out.shape == (math.ceil(37 * scale), math.ceil(26 * scale), 3)
        assert (out == 201).all()


def test_modcrop_make_lr_upscale_shapes():
    img = np.arange(11 * 14 * 3, dtype=np.uint8).reshape(11, 14, 3)
    c = modcrop(img, 4)
    assert c.shape == (8, 12, 3) and np.array_equal(c, img[:8, :12])  # top-left anchored
    assert modcrop(img[:, :, 0], 3).shape == (9, 12)
    lr = make_lr(img, 4)
    assert lr.shape == (2, 3, 3) and lr.dtype == np.uint8
    up = upscale_uint8(lr, 4)
    assert up.shape == (8, 12, 3) and up.dtype == np.uint8


@pytest.mark.parametrize(
    "call",
    [
        lambda: imresize(torch.rand(5, 5), 0),
        lambda: imresize(torch.rand(5, 5), -2),
        lambda: imresize(torch.rand(5, 5), float("nan")),
        lambda: imresize(torch.rand(5, 5), float("inf")),
        lambda: imresize(torch.rand(5, 5)),
        lambda: imresize(torch.rand(5, 5), out_size=(0, 3)),
        lambda: imresize(torch.rand(5, 5), out_size=(2.5, 3)),
        lambda: imresize_uint8(np.zeros((4, 4, 3), np.uint8), 0.5, rounding="nearest"),
        lambda: imresize(torch.rand(5, 5), 0.5, boundary="reflect"),
        lambda: make_lr(np.zeros((4, 4, 3), np.uint8), 2, boundary="circular"),
        lambda: modcrop(np.zeros((4, 4, 3), np.uint8), 0),
        lambda: upscale_uint8(np.zeros((4, 4, 3), np.uint8), 2.5),
    ],
)
def test_bad_arguments(call):
    with pytest.raises(ResizeArgumentError) as err:
        call()
    assert isinstance(err.value, ReproError) and str(err.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: imresize(torch.zeros(5, 5, dtype=torch.uint8), 0.5),
        lambda: imresize(torch.rand(1, 1, 1, 5, 5), 0.5),
        lambda: imresize(torch.rand(0, 5), 0.5),
        lambda: imresize_uint8(np.zeros((4, 4, 3), np.uint16), 0.5),
        lambda: modcrop(np.zeros((3, 8, 3), np.uint8), 4),
        lambda: make_lr(np.zeros((3, 3, 3), np.float32), 2),
    ],
)
def test_bad_data(call):
    with pytest.raises(DataError):
        call()


# ---------------------------------------------------------------------------------------------
# official LR files (MATLAB-made): Set5 / Set14


@functools.lru_cache(maxsize=64)
def _read(path):
    return read_image(path)


def _official_pairs(dataset: str, scale: int, limit: int | None = None):
    root = shared_root() / "data" / dataset
    if not (root / "HR").is_dir():
        pytest.skip(f"shared data {root} not available")
    for hr_path in sorted((root / "HR").glob("*.png"))[:limit]:
        lr_path = root / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png"
        hr, lr = _read(hr_path), read_image(lr_path)
        # B100 HR is 321x480: the LR files were made from its top-left LR*scale crop
        yield hr[: lr.shape[0] * scale, : lr.shape[1] * scale], lr


# measured (benchmarks/lr_match.md): "matlab" reproduces every pixel of Set5 and Set14 x2/x3/x4;
# "float" reproduces 85.6-89.8 %.
MATLAB_FLOOR = 0.999
FLOAT_CEILING = 0.91


@pytest.mark.parametrize("dataset", ["Set5", "Set14"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_official_lr_match(dataset, scale):
    eq = {"matlab": 0, "float": 0}
    total = 0
    for hr, lr in _official_pairs(dataset, scale):
        total += lr.size
        for mode in eq:
            mine = make_lr(hr, scale, rounding=mode)
            assert mine.shape == lr.shape
            eq[mode] += int(np.count_nonzero(mine == lr))
    share = {m: v / total for m, v in eq.items()}
    assert share["matlab"] >= MATLAB_FLOOR, share
    assert share["float"] <= FLOAT_CEILING, share
    assert share["matlab"] > share["float"] + 0.05, share


# measured on all 100 (benchmarks/lr_match.md): SelfExSR's B100 LR files are reproduced at 100 %
# by the pre-R2007b boundary (replicate), at 98.6-99.3 % by the symmetric one.
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_official_b100_lr_match_replicate_boundary(scale):
    eq = {"replicate": 0, "symmetric": 0}
    total = 0
    for hr, lr in _official_pairs("B100", scale, limit=5):
        total += lr.size
        for boundary in eq:
            mine = make_lr(hr, scale, boundary=boundary)
            eq[boundary] += int(np.count_nonzero(mine == lr))
    share = {b: v / total for b, v in eq.items()}
    assert share["replicate"] >= MATLAB_FLOOR, share
    assert share["symmetric"] <= 0.997, share
