"""The hostile cases' sandbox: a run of the CLI in a temporary folder, and the promise it checks.

A run is in-process by default (:func:`tests.cli_run.run_cli`): an uncaught exception, which a
user would see as a traceback, fails the test with that exception. ``run_process`` starts a real
``python -m`` process, for what needs one (exit codes of the entry points, kills, two runs).

The promise for bad input (:func:`expect_error`): exit code 2, exactly one line on stderr, no
traceback, nothing written to the results/reports folders (their row cache and locks aside) or
the working folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_run import CliRun, run_cli

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, every request is refused
_PROXIES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass
class Result(CliRun):
    before: dict[str, tuple[int, str]]  # the sandbox's files just before the run
    sandbox: Sandbox

    def written(self, only: Callable[[str], bool] | None = None) -> list[str]:
        """Files of results/, reports/ and the working folder the run changed ('-' removed)."""
        after = self.sandbox.snapshot()
        changed = sorted(k for k, v in after.items() if self.before.get(k) != v)
        removed = sorted(f"-{k}" for k in self.before if k not in after)
        return [k for k in changed + removed if only is None or only(k)]


class Sandbox:
    """A temporary folder holding a run's outputs, caches, HF home and working folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Where a run writes: the workspace (REPRO_OUT) and the shared download cache
        self.ws = root / "ws"
        self.res, self.rep, self.cache = self.ws / "results", self.ws / "reports", root / "cache"
        self.row_cache, self.locks = self.ws / "cache", self.ws / "locks"
        self.hf, self.work, self.inp = root / "hf", root / "work", root / "in"
        self.empty = root / "empty"  # an existing, empty folder (e.g. for REPRO_SHARED)
        for d in (self.work, self.inp, self.empty):
            d.mkdir(parents=True, exist_ok=True)
        self._mp: pytest.MonkeyPatch | None = None

    # -- the environment: everything inside the sandbox, no network ------------------------------
    def isolate(self, mp: pytest.MonkeyPatch) -> Sandbox:
        """Point every output, cache and network setting of this process into the sandbox
        (undone by ``mp``); child processes inherit the same environment."""
        import huggingface_hub.constants as hfc

        for name in list(os.environ):
            foreign = name.startswith(("REPRO_", "HF_", "HUGGINGFACE", "TRANSFORMERS_"))
            if (foreign and name != "REPRO_SHARED") or name.lower() in _PROXIES:
                mp.delenv(name)
        env = {
            "REPRO_OUT": str(self.ws),
            "REPRO_CACHE": str(self.cache),
            "HF_HOME": str(self.hf),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_ENDPOINT": CLOSED,
            "TORCH_HOME": str(self.root / "torch"),
            "XDG_CACHE_HOME": str(self.root / "xdg"),
            "MPLCONFIGDIR": str(self.root / "mpl"),
            "MPLBACKEND": "Agg",
            **{p: CLOSED for p in ("http_proxy", "https_proxy", "all_proxy")},
            **{p.upper(): CLOSED for p in ("http_proxy", "https_proxy", "all_proxy")},
            "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        for name, value in env.items():
            mp.setenv(name, value)
        # huggingface_hub reads its settings once, at import: this process needs them set too
        mp.setattr(hfc, "HF_HUB_CACHE", str(self.hf / "hub"))
        mp.setattr(hfc, "HF_HUB_OFFLINE", True)
        mp.setattr(hfc, "ENDPOINT", CLOSED)
        mp.chdir(self.work)
        self._mp = mp
        return self

    def setenv(self, name: str, value: str | os.PathLike) -> None:
        """A case's own setting (REPRO_SHARED, REPRO_CARDS, ...), for in-process and child runs."""
        assert self._mp is not None, "isolate() the sandbox first"
        self._mp.setenv(name, str(value))

    # -- runs ------------------------------------------------------------------------------------
    def run(self, *args: str, module: str = "repro") -> Result:
        """``python -m <module> args`` in this process."""
        before = self.snapshot()
        done = run_cli(*args, module=module)
        return Result(done.args, done.rc, done.stdout, done.stderr, before, self)

    def run_process(self, *args: str, module: str = "repro", timeout: float = 300) -> Result:
        """``python -m <module> args`` as a child process, in the sandbox's environment."""
        before = self.snapshot()
        try:
            done = subprocess.run(
                [sys.executable, "-m", module, *args],
                cwd=self.work,
                env=_child_env(),
                capture_output=True,
                timeout=timeout,
            )
            rc, so, se = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as exc:
            rc, so, se = None, exc.stdout or b"", exc.stderr or b""
        decode = lambda b: b.decode("utf-8", "backslashreplace")  # noqa: E731
        return Result([module, *args], rc, decode(so), decode(se), before, self)

    def popen(self, *args: str, module: str = "repro") -> subprocess.Popen:
        """A child ``python -m`` run left running (in its own session: killable as a group)."""
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=self.work,
            env=_child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    # -- what a run may not change ---------------------------------------------------------------
    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Size and sha256 of every file of the workspace (results/, reports/, the run log) and
        the working folder, the row cache and the locks aside (kept on purpose: an interrupted
        run resumes from them)."""
        out: dict[str, tuple[int, str]] = {}
        for base in (self.ws, self.work):
            if not base.is_dir():
                if base.exists():
                    out[base.name] = (-1, "not a folder")
                continue
            for path in base.rglob("*"):
                if path.is_relative_to(self.row_cache) or path.is_relative_to(self.locks):
                    continue
                if path.is_file() and not path.is_symlink():
                    rel = path.relative_to(self.root).as_posix()
                    out[rel] = (path.stat().st_size, sha256(path))
        return out


def _child_env() -> dict[str, str]:
    """This process's (isolated) environment, plus what only a fresh process reads."""
    return {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the promise -----------------------------------------------------------------------------------
def _error_problems(r: Result, needles, forbid, allow_written) -> list[str]:
    p = []
    if r.rc != 2:
        p.append(f"exit {r.rc}, expected 2" if r.rc is not None else "timed out")
    if "Traceback" in r.stderr:
        p.append("traceback on stderr")
    if len(r.lines) != 1:
        p.append(f"{len(r.lines)} lines on stderr, expected 1")
    low = r.stderr.lower()
    p += [f"stderr lacks {n!r}" for n in needles if n.lower() not in low]
    p += [f"stderr says {f!r}" for f in forbid if f.lower() in low]
    written = [w for w in r.written() if allow_written is None or not allow_written(w)]
    if written:
        p.append(f"wrote {written[:3]}")
    return p


def expect_error(
    r: Result,
    *needles: str,
    forbid: tuple[str, ...] = (),
    allow_written: Callable[[str], bool] | None = None,
) -> None:
    """The promise for bad input: exit 2, one line on stderr (holding every needle, case-blind,
    and none of ``forbid``), no traceback, nothing written."""
    problems = _error_problems(r, needles, forbid, allow_written)
    assert not problems, f"{'; '.join(problems)}\n{r}"


def expect_ok(r: Result, *stdout_needles: str, json_out: bool = False) -> None:
    """A run that must succeed: exit 0, no traceback (and one JSON document with ``json_out``)."""
    assert r.rc == 0 and "Traceback" not in r.stderr, str(r)
    missing = [n for n in stdout_needles if n not in r.stdout]
    assert not missing, f"stdout lacks {missing}: {r.stdout[-1000:]}"
    if json_out:
        json.loads(r.stdout)


def expect_clean(r: Result) -> None:
    """Either outcome is right, as long as it is clean: exit 0, or the promise for bad input."""
    if r.rc == 0 and "Traceback" not in r.stderr:
        return
    expect_error(r)
