"""The workspace (issue #21): one output root per command, never the package or the checkout's
reference runs; every location checked before anything runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro import workspace
from repro.cli import main
from repro.errors import ConfigError
from repro.paths import PACKAGE_ROOT, REPO_ROOT
from repro.publish import Destination


def test_out_then_repro_out_then_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPRO_OUT")
    default = workspace.resolve()
    assert (default.root, default.origin) == (tmp_path / "repro-workspace", "default")
    monkeypatch.setenv("REPRO_OUT", str(tmp_path / "env"))
    assert workspace.resolve().root == tmp_path / "env"
    chosen = workspace.resolve(tmp_path / "flag")
    assert (chosen.root, chosen.origin) == (tmp_path / "flag", "--out")
    # every output of a table lives under the one root
    dest = Destination("t", partial=True, workspace=chosen)
    assert dest.results == chosen.root / "results" / "partial"
    assert dest.reports == chosen.root / "reports" / "partial"
    assert {chosen.row_cache, chosen.sr_cache, chosen.locks, chosen.log_file} == {
        chosen.root / "cache" / "rows",
        chosen.root / "cache" / "sr",
        chosen.root / "locks",
        chosen.root / "runs.jsonl",
    }


def test_the_default_workspace_of_the_checkout_is_git_ignored(monkeypatch):
    """A run from the checkout writes only into ./repro-workspace, which git ignores: the
    README's default job leaves `git status` clean."""
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.delenv("REPRO_OUT")
    ws = workspace.resolve()
    assert ws.root == REPO_ROOT / "repro-workspace"
    probe = [str((ws.results / "bicubic_classic.csv").relative_to(REPO_ROOT)), "runs.jsonl"]
    out = subprocess.run(
        ["git", "check-ignore", "--no-index", *probe], cwd=REPO_ROOT, capture_output=True
    )
    if out.returncode == 128:
        pytest.skip("not a git checkout")
    assert out.stdout.decode().split() == probe


@pytest.mark.parametrize(
    "where", [".", "results", "reports/partial", "repro/tables"], ids=lambda w: w.replace("/", "-")
)
def test_the_reference_runs_and_the_package_are_never_a_workspace(where):
    with pytest.raises(ConfigError) as info:
        workspace.resolve(REPO_ROOT / where)
    message = str(info.value)
    assert "\n" not in message
    if where == "repro/tables":
        assert (REPO_ROOT / where).is_relative_to(PACKAGE_ROOT) and "package" in message
    else:
        assert "reference runs" in message and "--reference" in message


def test_only_the_reference_switch_writes_the_reference_runs(tmp_path, monkeypatch):
    ref = workspace.resolve(reference=True)
    assert ref.root == REPO_ROOT and ref.reference and ref.card_dirs == ref.spec_dirs == ()
    with pytest.raises(ConfigError, match="drop --out"):
        workspace.resolve(tmp_path, reference=True)
    (tmp_path / "cards").mkdir()
    monkeypatch.setenv("REPRO_CARDS", str(tmp_path / "cards"))
    with pytest.raises(ConfigError, match="only the shipped cards and specs"):
        workspace.resolve(reference=True)


@pytest.mark.parametrize("names", [["REPRO_RESULTS"], ["REPRO_RESULTS", "REPRO_REPORTS"]])
def test_the_old_variables_say_what_moved(monkeypatch, tmp_path, capsys, names):
    for name in names:
        monkeypatch.setenv(name, str(tmp_path / name))
    assert main(["ls", "tables"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "REPRO_OUT" in err
    assert all(name in err for name in names)


def test_an_old_results_folder_gets_one_note(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPRO_OUT")
    assert workspace.old_layout_note(workspace.resolve()) == ""
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "bicubic_classic.manifest.json").write_text("{}")
    note = workspace.old_layout_note(workspace.resolve())
    assert note.startswith("note: ./results") and "--out ." in note
    # the layout is the same: --out . keeps using the old folder
    assert workspace.resolve(".").results == tmp_path / "results"
    assert workspace.old_layout_note(workspace.resolve(".")) == ""
    (tmp_path / "repro-workspace").mkdir()  # moved on: said once, not forever
    assert workspace.old_layout_note(workspace.resolve()) == ""


def _refused(capsys, argv: list[str], needle: str, root: Path) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert not root.exists(), list(root.rglob("*"))  # nothing written, not even the folder


@pytest.mark.parametrize(
    "variable, needle",
    [
        ("REPRO_OUT", "REPRO_OUT"),
        ("REPRO_CARDS", "REPRO_CARDS entry"),
        ("REPRO_SPECS", "REPRO_SPECS entry"),
        ("REPRO_CACHE", "REPRO_CACHE"),
        ("REPRO_SHARED", "REPRO_SHARED"),
        ("REPRO_DATA", "REPRO_DATA entry"),
    ],
)
def test_a_variable_naming_a_file_is_one_line(tmp_path, monkeypatch, capsys, variable, needle):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    ws = tmp_path / "ws"
    monkeypatch.setenv("REPRO_OUT", str(ws))
    monkeypatch.setenv(variable, str(afile))
    argv = ["table", "bicubic_classic", "--limit", "1", "--datasets", "Set5"]
    _refused(capsys, argv, needle, ws)
    assert afile.read_text() == "not a folder"


def test_repro_weights_set_to_the_checkpoint_itself_says_so(tmp_path, monkeypatch, capsys):
    from tests.conftest import SHARED

    checkpoint = SHARED / "weights" / "camixersr" / "CAMixerSR_S.pth"
    monkeypatch.setenv("REPRO_WEIGHTS", str(checkpoint))
    _refused(capsys, ["validate", "camixer_tab2"], f"set it to {checkpoint.parent}", tmp_path / "x")


def test_a_run_logs_its_command_and_what_it_resolved(tmp_path, capsys):
    ws = tmp_path / "ws"
    argv = ["table", "bicubic_classic", "--datasets", "Set5", "--limit", "1", "--out", str(ws)]
    assert main([*argv, "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert all(Path(p).is_relative_to(ws) for p in files.values())
    (record,) = [json.loads(line) for line in (ws / "runs.jsonl").read_text().splitlines()]
    assert record["command"] == ["repro", *argv, "--json"] and record["exit"] == 0
    settings = record["settings"]
    assert settings["workspace"] == str(ws) and settings["origin"] == "--out"
    assert (settings["datasets"], settings["limit"], settings["device"]) == (["Set5"], 1, "cpu")
    assert settings["partial"] is True and record["warnings"] == []
    assert sorted(record["files"]) == sorted(files)


def test_report_renders_any_workspace(tmp_path, capsys):
    """The reference runs copied elsewhere are a workspace like any other."""
    import shutil

    ws = tmp_path / "copy"
    shutil.copytree(REPO_ROOT / "results", ws / "results")
    shutil.copytree(REPO_ROOT / "reports", ws / "reports")
    assert main(["report", "--out", str(ws)]) == 0
    index = (ws / "reports" / "index.md").read_text()
    row = next(line for line in index.splitlines() if "`bicubic_classic`" in line)
    assert "IMPROVED 2, PASS 16" in row and "[bicubic_classic.md](bicubic_classic.md)" in row


def test_a_test_session_leaves_no_temporary_hf_folder(tmp_path):
    """conftest makes a fresh HF cache per session; the session removes it when it ends (a
    second pytest in its own TMPDIR: the only way to watch a session end). test_quiet_log also
    imports tests.conftest by name, a second import of the file that used to leave a folder."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
         str(tmp_path / "base"), "tests/test_architecture.py", "tests/test_quiet_log.py"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:]
    assert not list(tmp_path.glob("repro-tests-hf-*"))
