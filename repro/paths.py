"""Where things live: the shared folder, data roots, results, reports, caches.

Every location can be overridden by an environment variable so users can point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    """``REPRO_SHARED`` or ``../shared`` beside the repository."""
    env = os.environ.get("REPRO_SHARED")
    return Path(env).expanduser().resolve() if env else (REPO_ROOT.parent / "shared").resolve()


def data_roots(explicit: str | os.PathLike | None = None) -> list[Path]:
    """Local dataset roots, in search order: ``--data-root``, ``REPRO_DATA``, shared/data."""
    roots: list[Path] = []
    if explicit:
        roots.append(Path(explicit).expanduser().resolve())
    env = os.environ.get("REPRO_DATA")
    if env:
        roots.extend(Path(p).expanduser().resolve() for p in env.split(os.pathsep) if p)
    roots.append(shared_root() / "data")
    return roots


def cards_dir() -> Path:
    return Path(os.environ.get("REPRO_CARDS", REPO_ROOT / "datasets"))


def results_dir() -> Path:
    return Path(os.environ.get("REPRO_RESULTS", REPO_ROOT / "results"))


def reports_dir() -> Path:
    return Path(os.environ.get("REPRO_REPORTS", REPO_ROOT / "reports"))


def weights_dirs() -> list[Path]:
    """Local weight folders: ``REPRO_WEIGHTS`` (os.pathsep-separated), then shared/weights."""
    dirs = [
        Path(p).expanduser() for p in os.environ.get("REPRO_WEIGHTS", "").split(os.pathsep) if p
    ]
    dirs.append(shared_root() / "weights")
    return dirs


def cache_dir() -> Path:
    """Cache for converted weights and made LR images: ``REPRO_CACHE`` or ~/.cache/repro."""
    env = os.environ.get("REPRO_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "repro"
