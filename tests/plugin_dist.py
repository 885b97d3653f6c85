"""Plugin distributions for tests, installed into a temporary folder that the test puts on
``sys.path``: as an installer leaves them (a ``.dist-info`` with ``entry_points.txt``, found by
``importlib.metadata``), or by pip itself, offline."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def install_dist_info(
    site: Path,
    name: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, Mapping[str, str]],
    version: str = "0.3",
) -> None:
    """Write ``modules`` (module name -> source; ``pkg/__init__`` for a package's files) and a
    ``.dist-info`` declaring ``entry_points`` (group -> {name: "module:attribute"})."""
    for module, source in modules.items():
        path = site / f"{module.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    groups = (
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in named.items())
        for group, named in entry_points.items()
    )
    (info / "entry_points.txt").write_text("\n".join(groups))


def pip_install(src: Path, target: Path) -> None:
    """``pip install --target`` of a source folder, offline (about 3 s: a pip run)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--no-cache-dir",
            "--target",
            str(target),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
