"""Options every command shares, checked before anything runs: the workspace (``--out``,
``--cards``, ``--override-shipped``, ``--reference``), the environment's locations, and the CI
flags' paths (``--summary-md``). Each problem is one line and a non-zero exit, nothing written."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from repro import workspace
from repro.errors import ConfigError
from repro.paths import check_environment

OUT_HELP = (
    "the workspace: results, reports, caches, the run log, and your own cards/ and specs/ "
    f"(default: $REPRO_OUT, else ./{workspace.DEFAULT_NAME})"
)


def add_workspace_options(s: argparse.ArgumentParser, *, out: bool = True) -> None:
    """--out (unless the command's --out means something else), --cards, --override-shipped."""
    if out:
        s.add_argument("--out", dest="workspace", metavar="DIR", help=OUT_HELP)
    s.add_argument(
        "--cards",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of your own dataset cards, added to the shipped ones (repeatable; also "
        "REPRO_CARDS and the workspace's cards/)",
    )
    s.add_argument(
        "--override-shipped",
        action="store_true",
        help=f"let your cards and specs replace shipped ones of the same name (also "
        f"{workspace.OVERRIDE_ENV}=1); without it a clash is an error",
    )


def add_reference_option(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--reference",
        action="store_true",
        help="maintainers: write into the repository's reference runs (results/, reports/ of "
        "the checkout), as benchmarks/regenerate_results.py does",
    )


def resolve_workspace(args: argparse.Namespace) -> workspace.Workspace:
    """The command's workspace, with every REPRO_* location checked first (one line each)."""
    check_environment()
    ws = workspace.resolve(
        getattr(args, "workspace", None),
        cards=getattr(args, "cards", ()),
        override=getattr(args, "override_shipped", False),
        reference=getattr(args, "reference", False),
    )
    note = workspace.old_layout_note(ws)
    if note:
        print(note, file=sys.stderr)
    return ws


def summary_target(text: str | None) -> Path | None:
    """``--summary-md PATH``: a regular file to append to, or one its folder can take."""
    if text is None:
        return None
    if not text.strip():
        raise ConfigError(
            '--summary-md is empty; give the file to append to (in CI: "$GITHUB_STEP_SUMMARY")'
        )
    path = Path(text).expanduser()
    if path.exists():
        if path.is_dir():
            raise ConfigError(f"--summary-md {text} is a folder; give a file to append to")
        if not path.is_file():
            raise ConfigError(
                f"--summary-md {text} is not a regular file (a FIFO, socket or device); give a "
                "file to append to"
            )
        if not os.access(path, os.W_OK):
            raise ConfigError(f"--summary-md {text} is not writable; fix its permissions")
        return path
    parent = path.absolute().parent
    if not parent.exists():
        raise ConfigError(
            f"--summary-md {text}: folder {parent} does not exist; create it or choose another file"
        )
    if not parent.is_dir():
        raise ConfigError(f"--summary-md {text}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--summary-md {text}: cannot create a file in {parent}")
    return path
