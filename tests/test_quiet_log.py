"""Issue #24, point 9: quiet and logged. Progress is a bar on a terminal and one plain line per
job on stdout elsewhere (no carriage returns in CI logs; stderr keeps an error to its one line),
nothing with ``--quiet``; every command that runs
something appends to the workspace's run log its command, resolved settings and every warning
(a run context's and Python's), and says the warnings on stderr."""

from __future__ import annotations

import io
import json
import re
import sys
import warnings

from repro.cli import main
from repro.progress import progress
from tests.conftest import DATA


def _records(workspace) -> list[dict]:
    if not workspace.log_file.exists():
        return []
    return [json.loads(line) for line in workspace.log_file.read_text().splitlines()]


def test_progress_off_a_terminal_is_one_plain_line(capsys):
    assert list(progress(range(3), "bicubic x4 Set5", 3)) == [0, 1, 2]
    out, err = capsys.readouterr()
    assert re.fullmatch(r"bicubic x4 Set5: 3 images, \d+\.\d s\n", out) and err == "", out


def test_progress_on_a_terminal_is_a_bar(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    assert list(progress(range(3), "bicubic x4 Set5", 3)) == [0, 1, 2]
    assert "\r" in screen.getvalue() and "bicubic x4 Set5:   0%|" in screen.getvalue()


def test_a_run_logged_to_a_file_has_no_carriage_returns_and_quiet_has_no_progress(capsys):
    argv = ["eval", "--model", "bicubic", "--scale", "4", "--dataset", "Set5", "--limit", "2"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "\r" not in out and err == ""
    assert re.fullmatch(r"bicubic x4 Set5: 2 images, \d+\.\d s", out.splitlines()[0])
    # the job's line, then what, how scored, header, 2 images, mean
    assert len(out.splitlines()) == 1 + 2 + 1 + 2 + 1
    assert main([*argv, "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert [line.split()[0] for line in out.splitlines()] == ["bicubic", "scored:", "mean"]


def test_explain_off_a_terminal_draws_no_bar(workspace, capsys):
    """The explainer re-scores a set: on a log it used to leave tqdm's carriage returns."""
    assert main(["explain", "bicubic_classic", "Bicubic x3", "Set5", "ssim", "--vary", "crop"]) == 0
    out, err = capsys.readouterr()
    assert "\r" not in out + err and "%|" not in out + err
    assert out.startswith("bicubic_classic · Bicubic x3 · Set5 x3 · ssim")


def test_eval_and_score_are_logged_with_their_resolved_settings(workspace, capsys):
    argv = ["eval", "--model", "bicubic", "--scale", "3", "--dataset", "Set5", "--limit", "1"]
    assert main([*argv, "--json"]) == 0
    hr = str(DATA / "Set5" / "HR" / "baby.png")
    assert main(["score", "psnr", "ssim", "--ref", hr, "--dist", hr, "--crop", "3"]) == 0
    evaluated, scored = _records(workspace)
    assert evaluated["command"] == ["repro", *argv, "--json"] and evaluated["exit"] == 0
    settings = evaluated["settings"]
    assert settings["device"] == "cpu"  # resolved from --device auto
    assert settings["protocol"]["crop"] == 3 and settings["protocol"]["channel"] == "y"
    assert settings["metrics"] == [["psnr", None], ["ssim", None]]
    assert settings["workspace"] == str(workspace.root) and evaluated["warnings"] == []
    assert scored["settings"]["metrics"] == ["psnr", "ssim"] and scored["settings"]["crop"] == 3


def test_python_warnings_raised_during_a_run_are_said_and_logged(workspace, capsys, monkeypatch):
    from repro.eval import quick

    real = quick.score

    def drifting(*args, **kwargs):
        warnings.warn("made-up drift in the metric", UserWarning, stacklevel=1)
        return real(*args, **kwargs)

    monkeypatch.setattr(quick, "score", drifting)
    hr = str(DATA / "Set5" / "HR")
    assert main(["score", "psnr", "--ref", hr, "--dist", hr]) == 0
    err = capsys.readouterr().err
    # one warning, though raised once per image
    (said,) = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert said.startswith("warning: UserWarning: made-up drift in the metric (")
    (record,) = _records(workspace)
    assert record["warnings"] == [said.removeprefix("warning: ")]


def test_a_table_runs_context_warnings_are_said_and_logged(workspace, capsys, monkeypatch):
    from repro.tables import run

    real = run.plan

    def plan(ctx):
        ctx.warn("made-up: this machine's clock drifts")
        return real(ctx)

    monkeypatch.setattr(run, "plan", plan)
    argv = ["table", "bicubic_classic", "--datasets", "Set5", "--limit", "1", "--quiet"]
    assert main(argv) == 0
    assert capsys.readouterr().err == "warning: made-up: this machine's clock drifts\n"
    (record,) = _records(workspace)
    assert record["warnings"] == ["made-up: this machine's clock drifts"]
    assert record["settings"]["datasets"] == ["Set5"] and record["settings"]["quiet"] is True


def test_commands_that_run_nothing_or_fail_write_no_record(workspace, capsys):
    assert main(["ls", "tables"]) == 0
    assert main(["validate", "bicubic_classic"]) == 0
    assert main(["eval", "--model", "nosuch", "--scale", "2", "--dataset", "Set5"]) == 2
    assert _records(workspace) == []
