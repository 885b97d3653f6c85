"""Careless command lines: bad numbers, names, settings and devices are one line, exit 2."""

from __future__ import annotations

import pytest
import torch

from tests.hostile.sandbox import expect_error

EVAL_CAM = ["eval", "--model", "camixersr-s", "--scale", "4", "--dataset", "Set5", "--limit", "1"]
EVAL_BIC = ["eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5", "--limit", "1"]


@pytest.mark.parametrize(
    "args, needles",
    [
        pytest.param(["--limit", "0"], ("--limit",), id="cli-limit-0"),
        pytest.param(["--limit", "-1"], ("--limit",), id="cli-limit-negative"),
        pytest.param(["--limit", "abc"], ("--limit",), id="cli-limit-abc"),
        pytest.param(["--seed", "abc"], ("--seed",), id="cli-seed-abc"),
        pytest.param(["--datasets", "Set6"], ("Set6",), id="cli-datasets-unknown"),
        pytest.param(["--datasets"], ("--datasets",), id="cli-datasets-no-value"),
        pytest.param(["--device", "tpu"], ("tpu",), id="cli-device-tpu"),
    ],
)
def test_a_bad_table_option(sb, args, needles):
    """python -m repro.table bicubic_classic with a bad option"""
    expect_error(sb.run("bicubic_classic", *args, module="repro.table"), *needles)


def test_cli_json_error_keeps_stdout_empty(sb):
    """repro.table bicubic_classic --datasets Set6 --json: the error leaves stdout empty"""
    r = sb.run("bicubic_classic", "--datasets", "Set6", "--json", module="repro.table")
    expect_error(r)
    assert not r.stdout.strip(), r.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cli_device_cuda(sb):
    """repro.table bicubic_classic --device cuda on a machine without CUDA"""
    expect_error(sb.run("bicubic_classic", "--device", "cuda", module="repro.table"), "--device")


@pytest.mark.parametrize(
    "base, setting, needles",
    [
        pytest.param(EVAL_CAM, "ratio=[1", ("ratio",), id="cli-set-unclosed-list"),
        pytest.param(EVAL_CAM, "noequals", ("KEY=VALUE",), id="cli-set-no-equals"),
        pytest.param(EVAL_CAM, "unknown_key=1", ("unknown_key",), id="cli-set-unknown-key"),
        pytest.param(EVAL_CAM, "=0.5", (), id="cli-set-empty-key"),
        pytest.param(EVAL_CAM, "ratio=abc", ("ratio",), id="cli-set-ratio-not-a-number"),
        pytest.param(EVAL_CAM, "ratio=[0.5]", ("ratio",), id="cli-set-ratio-a-list"),
        pytest.param(EVAL_CAM, "mode=bogus", ("mode",), id="cli-set-mode-bogus"),
        pytest.param(EVAL_BIC, "method=bogus", ("method",), id="cli-set-bicubic-method-bogus"),
        pytest.param(
            EVAL_BIC, "rounding=bogus", ("rounding",), id="cli-set-bicubic-rounding-bogus"
        ),
    ],
)
def test_a_bad_model_setting(sb, base, setting, needles):
    """eval camixersr-s / bicubic --set <bad>"""
    expect_error(sb.run(*base, "--set", setting), *needles)


@pytest.mark.parametrize(
    "args, needles",
    [
        pytest.param([*EVAL_BIC, "--device", "cuda:7"], ("cuda",), id="cli-device-cuda-index-eval"),
        pytest.param([*EVAL_BIC, "--device", ""], ("device",), id="cli-device-empty"),
        pytest.param([*EVAL_BIC, "--crop", "-1"], ("--crop",), id="cli-crop-negative"),
        pytest.param([*EVAL_BIC, "--crop", "100000"], ("crop",), id="cli-crop-huge"),
        pytest.param(
            ["eval", "--model", "bicubic", "--scale", "0", "--dataset", "Set5"],
            ("--scale",),
            id="cli-scale-0",
        ),
        pytest.param(
            ["eval", "--model", "bicubic", "--scale", "5", "--dataset", "Set5"],
            ("x5",),
            id="cli-scale-5",
        ),
        # Set5 has x8, esc-light does not
        pytest.param(
            ["eval", "--model", "esc-light", "--scale", "8", "--dataset", "Set5", "--limit", "1"],
            ("x8",),
            id="cli-model-without-the-scale",
        ),
        pytest.param(
            ["eval", "--model", "camixersr-xs", "--scale", "4", "--dataset", "Set5"],
            ("camixersr-xs",),
            id="cli-unknown-model",
        ),
        # a single-image model on the stereo set KITTI2012
        pytest.param(
            ["eval", "--model", "camixersr-s", "--scale", "4", "--dataset", "KITTI2012"]
            + ["--limit", "1"],
            (),
            id="cli-single-image-model-on-stereo",
        ),
        pytest.param(["ls", "widgets"], ("widgets",), id="cli-unknown-ls-kind"),
        pytest.param([], (), id="cli-no-command"),
        pytest.param(
            ["validate", "no_such_table"], ("no_such_table",), id="cli-validate-unknown-table"
        ),
        pytest.param(
            ["report", "no_such_table"], ("no_such_table",), id="cli-report-unknown-table"
        ),
        # an empty results folder
        pytest.param(
            ["report", "bicubic_classic"], ("bicubic_classic",), id="cli-report-never-run"
        ),
    ],
)
def test_a_bad_command_line(sb, args, needles):
    expect_error(sb.run(*args), *needles)


def test_cli_unknown_table(sb):
    """repro.table no_such_table"""
    expect_error(sb.run("no_such_table", module="repro.table"), "no_such_table")


def test_cli_validate_missing_data_root(sb):
    """validate bicubic_classic --data-root a missing folder"""
    r = sb.run("validate", "bicubic_classic", "--data-root", str(sb.root / "gone"))
    expect_error(r, "gone")


def test_cli_stereo_model_on_single_images(sb, ckpts):
    """eval nafssr-t x2 (a stereo model, random weights via --weights) on Set5"""
    weights = ["--weights", str(ckpts / "nafssr_t_x2.pth"), "--weights-key", "params"]
    r = sb.run(
        "eval", "--model", "nafssr-t", "--scale", "2", "--dataset", "Set5", "--limit", "1", *weights
    )
    expect_error(r)


# -- the entry points as processes: exit code and stderr shape of a real `python -m` ---------------
@pytest.mark.parametrize(
    "module, args, needle",
    [
        ("repro", ["verify", "Set6"], "Set6"),  # a ReproError of a command
        ("repro.table", ["bicubic_classic", "--limit", "0"], "--limit"),  # a usage error
        ("repro", [], "command"),
    ],
)
def test_the_entry_points_keep_the_promise_as_processes(sb, module, args, needle):
    expect_error(sb.run_process(*args, module=module), needle)
