"""The workspace's run log (``runs.jsonl``): one line for every command that runs something.

Each line holds the command as typed, the settings it resolved (its parsed options, then what the
command resolved from them: the device, the datasets, the protocol, the workspace...), the files
it wrote, its exit status and every warning it gave: those a table run's context collected
(:meth:`repro.tables.context.RunContext.warn`) and the Python ``warnings`` raised while it ran.
The warnings are said on stderr once, when the command ends. A command that stops with an
error writes nothing, the log included: its one line on stderr is the record.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from repro.workspace import Workspace

# the commands that run models or metrics (ls, validate, card, pull, fetch and verify do not)
LOGGED = frozenset({"table", "report", "eval", "score", "explain", "compare-images"})
_INTERNAL = {"command", "argv", "log", "func"}


@dataclass
class RunLog:
    command: list[str]
    settings: dict = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""  # why a command that published exits 2 all the same
    contexts: list = field(default_factory=list)  # RunContexts: their settings and warnings

    def watch(self, ctx) -> None:
        """Record a run context's resolved settings and warnings when the command ends."""
        self.contexts.append(ctx)

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def record(self, status: int) -> dict:
        out = {
            "command": self.command,
            "settings": self.settings,
            "exit": status,
            "files": sorted(self.files),
            "warnings": self.warnings,
        }
        return {**out, "error": self.error} if self.error else out


def arguments(args: argparse.Namespace) -> dict:
    """The parsed options, defaults filled in: the settings before the command resolves more."""
    return {k: v for k, v in vars(args).items() if k not in _INTERNAL}


def run_logged(
    args: argparse.Namespace, ws: Workspace, command: Callable[[argparse.Namespace], int]
) -> int:
    """Run ``command``; for a command in LOGGED, say its warnings and append its record to the
    workspace's run log (``args.log`` is the :class:`RunLog` it adds to)."""
    if args.command not in LOGGED:
        return command(args)
    log = args.log = RunLog(["repro", *args.argv], settings={**arguments(args), **ws.describe()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # each distinct warning once, as Python shows them
        try:
            status = command(args)
        finally:
            for ctx in log.contexts:
                log.settings.update(ctx.describe())
                for text in ctx.warnings:
                    log.warn(text)
            for w in caught:
                log.warn(f"{w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})")
            for text in log.warnings:
                print(f"warning: {text}", file=sys.stderr)
    ws.log(log.record(status))
    return status
