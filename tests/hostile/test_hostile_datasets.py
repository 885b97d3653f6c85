"""Damaged, misplaced or missing dataset folders: `verify`, `eval` and a table say so in a line."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.hostile.inputs import copy_cards, copy_set5, flip_byte, without_sha
from tests.hostile.sandbox import Sandbox, expect_error, expect_ok

EVAL_BIC_X2 = ["eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5"]


def _verify(sb: Sandbox, root=None, *extra: str, name: str = "Set5"):
    return sb.run("verify", name, *extra, *(["--data-root", str(root)] if root else []))


# -- a copy of Set5 with one thing wrong ----------------------------------------------------------
def test_ds_sha256_mismatch(sb):
    """verify Set5 where HR/baby.png has one byte changed"""
    root = copy_set5(sb.root / "data")
    p = root / "Set5" / "HR" / "baby.png"
    flip_byte(p, p.stat().st_size // 2)
    expect_error(_verify(sb, root), "checksum")


def test_ds_sha256_mismatch_table(sb):
    """a table on Set5 with one changed byte in an LR file"""
    root = copy_set5(sb.root / "data")
    flip_byte(root / "Set5" / "LR_bicubic" / "X3" / "birdx3.png", -20, 0x01)
    r = sb.run(
        "bicubic_classic", "--datasets", "Set5", "--data-root", str(root), module="repro.table"
    )
    expect_error(r, "checksum")


def test_ds_extra_non_image_file(sb):
    """verify Set5 with an extra notes.txt in the HR folder"""
    root = copy_set5(sb.root / "data")
    (root / "Set5" / "HR" / "notes.txt").write_text("hello\n")
    expect_error(_verify(sb, root), "notes.txt")


def test_ds_lr_of_wrong_scale(sb):
    """verify Set5 --scale 2 where LR_bicubic/X2/babyx2.png holds the x3 file"""
    lr = copy_set5(sb.root / "data") / "Set5" / "LR_bicubic"
    shutil.copyfile(lr / "X3" / "babyx3.png", lr / "X2" / "babyx2.png")
    expect_error(_verify(sb, sb.root / "data", "--scale", "2"))


@pytest.mark.parametrize(
    "damage, needle",
    [
        pytest.param(
            lambda set5: shutil.copyfile(
                set5 / "LR_bicubic" / "X3" / "babyx3.png", set5 / "LR_bicubic" / "X2" / "babyx2.png"
            ),
            "scale",
            id="ds-lr-of-wrong-scale-no-sha",
        ),
        pytest.param(
            lambda set5: (set5 / "HR" / "bird.png").write_bytes(
                (set5 / "HR" / "bird.png").read_bytes()[:2000]
            ),
            "bird",
            id="ds-hr-truncated-no-sha",
        ),
    ],
)
def test_damage_no_checksum_catches(sb, damage, needle):
    """eval bicubic x2 on a damaged Set5 whose card has no sha256: the loader still refuses"""
    root = copy_set5(sb.root / "data")
    sb.setenv("REPRO_OVERRIDE_SHIPPED", "1")
    sb.setenv("REPRO_CARDS", copy_cards(sb.root / "cards", without_sha))
    damage(root / "Set5")
    expect_error(sb.run(*EVAL_BIC_X2, "--data-root", str(root)), needle)


def test_ds_missing_lr_file(sb):
    """verify Set5 --scale 2 with LR_bicubic/X2/babyx2.png deleted"""
    root = copy_set5(sb.root / "data")
    (root / "Set5" / "LR_bicubic" / "X2" / "babyx2.png").unlink()
    expect_error(_verify(sb, root, "--scale", "2"), "babyx2")


@pytest.mark.parametrize(
    "shared",
    [
        pytest.param(False, id="ds-missing-hr-folder"),
        # with the shared data present: must not verify ../shared/data/Set5 instead without a word
        pytest.param(True, id="ds-missing-hr-folder-falls-through"),
    ],
)
def test_a_data_root_without_the_hr_folder(sb, shared):
    """verify Set5 --data-root D without D/Set5/HR (Hub offline)"""
    root = copy_set5(sb.root / "data")
    shutil.rmtree(root / "Set5" / "HR")
    if not shared:
        sb.setenv("REPRO_SHARED", sb.empty)
    expect_error(_verify(sb, root))


# -- data roots that are not what they say --------------------------------------------------------
def test_ds_data_root_missing(sb):
    """verify Set5 --data-root a folder that does not exist"""
    expect_error(_verify(sb, sb.root / "no-such-folder"), "no-such-folder")


def test_ds_data_root_is_a_file(sb):
    """verify Set5 --data-root a regular file"""
    (sb.inp / "afile").write_text("x")
    expect_error(_verify(sb, sb.inp / "afile"), "afile")


def test_ds_data_root_empty(sb):
    """verify Set5 --data-root an empty folder, REPRO_SHARED empty, Hub offline"""
    sb.setenv("REPRO_SHARED", sb.empty)
    expect_error(_verify(sb, sb.empty), "--data-root")


def test_ds_repro_data_missing(sb):
    """verify Set5 with REPRO_DATA pointing at a missing folder"""
    sb.setenv("REPRO_DATA", sb.root / "gone")
    expect_error(_verify(sb), "REPRO_DATA")


def test_ds_repro_data_empty_entries(sb):
    """verify Set5 with REPRO_DATA=':' (only empty entries): shared data is used, exit 0"""
    sb.setenv("REPRO_DATA", os.pathsep)
    expect_ok(_verify(sb))


def test_ds_set5_symlink_loop(sb):
    """verify Set5 --data-root D where D/Set5 is a symlink to itself; no shared data"""
    root = sb.root / "data"
    root.mkdir()
    os.symlink("Set5", root / "Set5")
    sb.setenv("REPRO_SHARED", sb.empty)
    expect_error(_verify(sb, root))


# -- names and scales -----------------------------------------------------------------------------
def test_ds_unknown_dataset(sb):
    """verify Set6"""
    expect_error(_verify(sb, name="Set6"), "Set5")


def test_ds_verify_scale_0(sb):
    """verify Set5 --scale 0"""
    expect_error(_verify(sb, None, "--scale", "0"))


def test_ds_verify_scale_7(sb):
    """verify Set5 --scale 7 (not a scale of the card)"""
    expect_error(_verify(sb, None, "--scale", "7"), "x7")


# -- no data anywhere: exit 2 naming every place to put it (the Hub is offline: no wait) -----------
NO_DATA_NEEDLES = ("--data-root", "REPRO_DATA", "REPRO_SHARED")


@pytest.mark.parametrize(
    "args, module",
    [
        pytest.param(["bicubic_classic"], "repro.table", id="ds-no-data-anywhere-table"),
        pytest.param(EVAL_BIC_X2, "repro", id="ds-no-data-anywhere-eval"),
        pytest.param(["verify", "Set14"], "repro", id="ds-no-data-anywhere-verify"),
    ],
)
def test_no_data_anywhere(sb, args, module):
    sb.setenv("REPRO_SHARED", sb.empty)
    expect_error(sb.run(*args, module=module), *NO_DATA_NEEDLES)
