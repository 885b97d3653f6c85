"""Bad command lines and failing disks: one line on stderr, exit 2, nothing published."""

from __future__ import annotations

import os

import pytest

from tests.cli_run import CliRun, run_cli


def _run(args: list[str], tmp_path, monkeypatch, **env_extra) -> CliRun:
    """The CLI in-process (``args[0]``: the module) with its workspace in ``tmp_path`` (so
    'nothing written' is checkable)."""
    for name, value in {"REPRO_OUT": str(tmp_path / "ws"), **env_extra}.items():
        monkeypatch.setenv(name, value)
    return run_cli(*args[1:], module=args[0])


def _assert_clean_error(out: CliRun, tmp_path, needle: str) -> None:
    assert out.rc == 2, str(out)
    assert len(out.lines) == 1, out.stderr
    assert needle in out.stderr, out.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "cache" not in p.parts]
    assert not written, written


@pytest.mark.parametrize(
    "args, needle",
    [
        (["repro.table", "bicubic_classic", "--limit", "0"], "must be at least 1"),
        (["repro.table", "bicubic_classic", "--limit", "-1"], "must be at least 1"),
        (["repro.table", "bicubic_classic", "--limit", "two"], "whole number"),
        (["repro", "verify", "Set5", "--scale", "0"], "must be at least 1"),
        (
            ["repro", "eval", "--model", "bicubic", "--scale", "0", "--dataset", "Set5"],
            "at least 1",
        ),
        (["repro", "score", "psnr", "--ref", "a", "--dist", "b", "--crop", "-3"], "0 or more"),
        (
            [
                "repro",
                "eval",
                "--model",
                "camixersr-s",
                "--scale",
                "4",
                "--dataset",
                "Set5",
                "--set",
                "ratio=[1",
            ],
            "is not a value",
        ),
        (["repro.table", "bicubic_classic", "--device", "tpu"], "unknown device"),
        (["repro", "verify", "Set5", "--scale", "3", "--data-root", "/no/such/folder"], "/no/such"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, needle, tmp_path, monkeypatch):
    _assert_clean_error(_run(args, tmp_path, monkeypatch), tmp_path, needle)


def test_cuda_on_a_machine_without_it_is_refused_before_anything_runs(tmp_path, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal applies only where CUDA is absent")
    out = _run(["repro.table", "bicubic_classic", "--device", "cuda"], tmp_path, monkeypatch)
    _assert_clean_error(out, tmp_path, "--device cpu")
    out = _run(
        [
            "repro",
            "eval",
            "--model",
            "bicubic",
            "--scale",
            "2",
            "--dataset",
            "Set5",
            "--device",
            "cuda:0",
        ],
        tmp_path,
        monkeypatch,
    )
    _assert_clean_error(out, tmp_path, "--device cpu")


def test_an_unwritable_results_folder_is_one_line(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = _run(
        ["repro.table", "bicubic_classic", "--datasets", "Set5"],
        tmp_path,
        monkeypatch,
        REPRO_OUT=str(blocker / "ws"),
    )
    assert out.rc == 2, str(out)
    assert len(out.lines) == 1 and "cannot read or write" in out.stderr
    assert blocker.read_text() == "not a folder"


def test_a_full_disk_while_publishing_is_one_line_and_publishes_nothing(
    tmp_path, monkeypatch, capsys
):
    import repro.files
    from repro.cli import main

    def full(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(repro.files, "atomic_write_bytes", full)
    code = main(["table", "bicubic_classic", "--datasets", "Set5", "--limit", "1", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err
    assert len(err.strip().splitlines()) == 1
    results = os.path.join(os.environ["REPRO_OUT"], "results")
    published = (
        [p for p in os.listdir(results) if not p.startswith(".")] if os.path.isdir(results) else []
    )
    assert published in ([], ["partial"])
    partial = os.path.join(results, "partial")
    assert not os.path.isdir(partial) or not [
        p for p in os.listdir(partial) if not p.startswith(".")
    ]
