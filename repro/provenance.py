"""What produced a number: the code (hashed), where its files came from, the machine.

The cache key and every result's provenance hold :func:`code_sha256`, a hash of the package's
own source files. A git commit alone would miss uncommitted edits, and ``__version__`` is a
constant: either would let a rerun after a code change reuse numbers the old code produced.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from functools import cache
from pathlib import Path

import repro
from repro.paths import REPO_ROOT, cache_dir, shared_root, weights_dirs

PACKAGE_DIR = Path(repro.__file__).resolve().parent


@cache
def code_sha256() -> str:
    """sha256 over every ``.py`` file of the package (relative path and bytes), sorted."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


@cache
def code_version() -> str:
    """Package version plus the git commit (``-dirty`` with uncommitted package edits)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", str(PACKAGE_DIR)],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    if not commit:
        return repro.__version__
    return f"{repro.__version__}+{commit}" + ("-dirty" if dirty else "")


def portable_path(path: os.PathLike | str | None) -> str | None:
    """A path as provenance stores it: relative to a known base, never the machine's layout.

    ``<shared>/weights/x.pth``, ``<REPRO_WEIGHTS>/x.pth``, ``<repro-cache>/weights/x.st``,
    ``<repo>/...``, ``<home>/...``; anything else keeps only its file name.
    """
    if path is None:
        return None
    p = Path(path).expanduser().resolve()
    bases = [
        ("<shared>", shared_root()),
        *(("<REPRO_WEIGHTS>", d.resolve()) for d in weights_dirs()[:-1]),
        ("<repro-cache>", cache_dir().expanduser().resolve()),
        ("<repo>", REPO_ROOT),
        ("<home>", Path.home().resolve()),
    ]
    for label, base in bases:
        if p.is_relative_to(base):
            return f"{label}/{p.relative_to(base).as_posix()}"
    return f"<elsewhere>/{p.name}"
