"""Hostile images given to `score`: corrupt, lying, too small, oddly named; one line each."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.hostile.inputs import NON_UTF8, bomb_png, noisy_copy, png
from tests.hostile.sandbox import Sandbox, expect_clean, expect_error, expect_ok


def _score(sb: Sandbox, metric: str, dist: Path, ref: Path | None = None, *extra: str):
    args = ["score", metric, *(["--ref", str(ref)] if ref else []), "--dist", str(dist), *extra]
    return sb.run(*args)


# -- one bad --dist against a good reference ------------------------------------------------------
def _cut(sb: Sandbox) -> Path:
    data = png(sb.inp / "full.png").read_bytes()
    (sb.inp / "cut.png").write_bytes(data[: len(data) // 2])
    return sb.inp / "cut.png"


def _bytes(name: str, data: bytes):
    def make(sb: Sandbox) -> Path:
        (sb.inp / name).write_bytes(data)
        return sb.inp / name

    return make


def _float_tiff(sb: Sandbox) -> Path:
    arr = np.full((48, 48), 0.5, np.float32)
    arr[3, 3] = np.nan
    Image.fromarray(arr).save(sb.inp / "float.tif")
    return sb.inp / "float.tif"


def _int32_tiff(sb: Sandbox) -> Path:
    arr = np.full((48, 48), 100_000, np.int32)
    arr[0, 0] = -5
    Image.fromarray(arr).save(sb.inp / "int32.tif")
    return sb.inp / "int32.tif"


def _symlink_loop(sb: Sandbox) -> Path:
    os.symlink("loop_b.png", sb.inp / "loop_a.png")
    os.symlink("loop_a.png", sb.inp / "loop_b.png")
    return sb.inp / "loop_a.png"


def _folder(sb: Sandbox) -> Path:
    (sb.inp / "B").mkdir()
    return sb.inp / "B"


@pytest.mark.parametrize(
    "make, metric, extra, needles",
    [
        pytest.param(_cut, "psnr", (), (), id="img-truncated-png"),
        pytest.param(_bytes("zero.png", b""), "psnr", (), (), id="img-zero-byte"),
        pytest.param(
            _bytes("text.png", b"this is not an image\n"), "psnr", (), (), id="img-text-named-png"
        ),
        pytest.param(
            lambda sb: bomb_png(sb.inp / "bomb.png"), "psnr", (), ("pixels",), id="img-bomb-ihdr"
        ),
        pytest.param(_float_tiff, "psnr", (), (), id="img-float32-tiff"),
        pytest.param(_int32_tiff, "psnr", (), (), id="img-int32-tiff"),
        pytest.param(
            lambda sb: png(sb.inp / "d.png", seed=3),
            "psnr",
            ("--crop", "64"),
            (),
            id="img-crop-larger-than-image",
        ),
        pytest.param(
            lambda sb: png(sb.inp / "small.png", 40, 44, seed=2),
            "psnr",
            (),
            (),
            id="img-size-mismatch",
        ),
        pytest.param(lambda sb: sb.inp / "nope.png", "psnr", (), (), id="img-missing-file"),
        pytest.param(_symlink_loop, "psnr", (), (), id="img-symlink-loop"),
        pytest.param(_folder, "psnr", (), ("folder",), id="img-file-vs-folder"),
        pytest.param(_bytes(NON_UTF8, b"garbage"), "psnr", (), (), id="img-non-utf8-name-corrupt"),
        pytest.param(
            lambda sb: png(sb.inp / "d.png"), "psnrr", (), ("psnr",), id="img-unknown-metric"
        ),
    ],
)
def test_a_bad_image_against_a_good_reference(sb, make, metric, extra, needles):
    dist = make(sb)
    expect_error(_score(sb, metric, dist, png(sb.inp / "good.png"), *extra), *needles)


# -- two images too small for the metric ----------------------------------------------------------
@pytest.mark.parametrize(
    "metric, size, extra, needles",
    [
        pytest.param("ssim", 1, (), (), id="img-1x1-ssim"),
        pytest.param("psnr", 1, ("--crop", "1"), (), id="img-1x1-psnr-crop1"),
        pytest.param("lpips", 16, (), ("LPIPS",), id="img-lpips-16px"),
        pytest.param("ssim", 8, (), ("11",), id="img-ssim-8px"),
    ],
)
def test_images_too_small_for_the_metric(sb, metric, size, extra, needles):
    a, b = png(sb.inp / "a.png", size, size), png(sb.inp / "b.png", size, size, seed=2)
    expect_error(_score(sb, metric, b, a, *extra), *needles)


@pytest.mark.parametrize(
    "dist",
    [
        pytest.param(lambda sb: bomb_png(sb.inp / "bomb.png"), id="img-bomb-ihdr-niqe"),
        pytest.param(lambda sb: png(sb.inp / "t.png", 20, 20), id="img-niqe-tiny"),
    ],
)
def test_no_reference_niqe_on_a_bad_image(sb, dist):
    """niqe (no reference) of a decompression-bomb header, and of a 20x20 image (NIQE works on
    96x96 blocks)"""
    expect_error(_score(sb, "niqe", dist(sb)))


def test_img_gray_vs_rgb(sb):
    """psnr --channel rgb of a gray reference against an RGB image: a value or a clean error"""
    ref = png(sb.inp / "gray.png", mode="L")
    expect_clean(_score(sb, "psnr", png(sb.inp / "rgb.png", seed=2), ref, "--channel", "rgb"))


def test_img_ref_missing_full_reference(sb):
    """psnr without --ref"""
    expect_error(_score(sb, "psnr", png(sb.inp / "d.png")), "--ref")


def test_img_identical_json(sb):
    """psnr --json of an image against itself (PSNR +inf): exit 0, valid JSON"""
    a = png(sb.inp / "a.png")
    expect_ok(_score(sb, "psnr", a, a, "--json"), json_out=True)


# -- folders --------------------------------------------------------------------------------------
def _no_common_names(sb: Sandbox) -> None:
    png(sb.inp / "A" / "one.png")
    png(sb.inp / "B" / "two.png")


def _empty(sb: Sandbox) -> None:
    (sb.inp / "A").mkdir()
    (sb.inp / "B").mkdir()


def _one_corrupt(sb: Sandbox) -> None:
    png(sb.inp / "A" / "x.png")
    noisy_copy(sb.inp / "A" / "x.png", sb.inp / "B" / "x.png")
    (sb.inp / "B" / "y.png").write_bytes(png(sb.inp / "A" / "y.png").read_bytes()[:100])


def _loop_in_folder(sb: Sandbox) -> None:
    png(sb.inp / "A" / "x.png")
    (sb.inp / "B").mkdir()
    os.symlink("x.png", sb.inp / "B" / "x.png")


def _directory_named_png(sb: Sandbox) -> None:
    png(sb.inp / "A" / "x.png")
    (sb.inp / "B" / "x.png").mkdir(parents=True)


@pytest.mark.parametrize(
    "lay_out, needles",
    [
        pytest.param(_no_common_names, ("common",), id="img-folders-no-common-names"),
        pytest.param(_empty, (), id="img-folders-empty"),
        pytest.param(_one_corrupt, (), id="img-folder-with-one-corrupt"),
        pytest.param(_loop_in_folder, (), id="img-symlink-loop-in-folder"),
        pytest.param(_directory_named_png, (), id="img-directory-named-png"),
    ],
)
def test_bad_folders(sb, lay_out, needles):
    lay_out(sb)
    expect_error(_score(sb, "psnr", sb.inp / "B", sb.inp / "A"), *needles)


@pytest.mark.parametrize(
    "extra",
    [
        # a strict UTF-8 stdout (en_US.UTF-8, PYTHONIOENCODING=utf-8) prints the name escaped
        pytest.param((), id="img-non-utf8-name-folders"),
        pytest.param(("--json",), id="img-non-utf8-name-folders-json"),
    ],
)
def test_a_non_utf8_file_name_is_scored(sb, extra):
    """folders holding a valid image with a non-UTF-8 name: exit 0 (one JSON document)"""
    png(sb.inp / "A" / NON_UTF8)
    noisy_copy(sb.inp / "A" / NON_UTF8, sb.inp / "B" / NON_UTF8)
    r = _score(sb, "psnr", sb.inp / "B", sb.inp / "A", *extra)
    expect_ok(r, json_out=bool(extra))


# -- metrics that cannot run here ------------------------------------------------------------------
def test_img_fid_without_pyiqa(sb):
    """fid of two folders (pyiqa is not installed here): a clean refusal, or a value"""
    for i in range(2):
        png(sb.inp / "A" / f"{i}.png", 64, 64, seed=i)
        png(sb.inp / "B" / f"{i}.png", 64, 64, seed=10 + i)
    expect_clean(_score(sb, "fid", sb.inp / "B", sb.inp / "A"))


def test_img_dists_without_pyiqa(sb):
    """dists of an image pair (pyiqa not installed: a clean refusal, or a value)"""
    expect_clean(_score(sb, "dists", png(sb.inp / "d.png", seed=4), png(sb.inp / "good.png")))


def test_img_lpips_no_weights(sb):
    """lpips with REPRO_SHARED pointing at an empty folder (no LPIPS weights)"""
    sb.setenv("REPRO_SHARED", sb.empty)
    a, b = png(sb.inp / "a.png", 64, 64), png(sb.inp / "b.png", 64, 64, seed=2)
    expect_error(_score(sb, "lpips", b, a), "lpips")
