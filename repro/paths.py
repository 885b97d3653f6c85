"""Where shared things live: the shipped cards, the shared folder, data roots, weights, caches.

Every location can be overridden by an environment variable so users can point elsewhere; a
variable that names the wrong kind of path (a file where a folder is expected) is a one-line
:class:`ConfigError`. What a run writes (results, reports, its caches) lives in the user's
workspace instead (:mod:`repro.workspace`); the downloads shared by every workspace (fetched
sets, converted weights) stay under ``REPRO_CACHE``.
"""

from __future__ import annotations

import os
from pathlib import Path

from repro.errors import ConfigError, DataError

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
# A wheel carries the dataset cards inside the package (setup.py maps the checkout's top-level
# datasets/ there: installed at the top level, it would take Hugging Face's package name).
PACKAGED_CARDS = PACKAGE_ROOT / "_cards"


def source_checkout() -> bool:
    """Does the code run from a source checkout (editable or not) rather than an installed wheel?"""
    return not PACKAGED_CARDS.is_dir()


def env_path(name: str, what: str) -> Path | None:
    """The folder an environment variable names, or None when unset; a file is an error (a
    folder that does not exist yet is not: it may be made, or it is searched and found empty)."""
    value = os.environ.get(name)
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name} {value} is a file, not a folder; point it at {what}")
    return path


def shared_root() -> Path:
    """``REPRO_SHARED``, else ``../shared`` beside the checkout (installed: ``./shared``)."""
    env = env_path("REPRO_SHARED", "the shared folder (the one holding data/ and weights/)")
    if env:
        return env
    return (REPO_ROOT.parent / "shared" if source_checkout() else Path.cwd() / "shared").resolve()


def labelled_data_roots(explicit: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Local dataset roots in search order, each with the label provenance shows for it.

    ``--data-root`` (``explicit``) and every ``REPRO_DATA`` entry must exist: a typo there would
    otherwise fall through to other roots (or the Hub) without a word. The sets ``repro fetch``
    placed (:func:`fetched_dir`) come before ``shared/data``, whose sample copies they complete;
    both are defaults, skipped quietly when absent.
    """
    roots: list[tuple[str, Path]] = []
    if explicit:
        roots.append(("<data-root>", _existing_folder(explicit, "--data-root")))
    env = os.environ.get("REPRO_DATA")
    if env:
        roots.extend(
            ("<REPRO_DATA>", _existing_folder(p, "REPRO_DATA entry"))
            for p in env.split(os.pathsep)
            if p
        )
    roots.append(("<repro-cache>/fetched", fetched_dir()))
    roots.append(("<shared>/data", shared_root() / "data"))
    return roots


def data_roots(explicit: str | os.PathLike | None = None) -> list[Path]:
    """Local dataset roots, in search order: ``--data-root``, ``REPRO_DATA``, fetched, shared."""
    return [root for _, root in labelled_data_roots(explicit)]


def _existing_folder(path: str | os.PathLike, what: str) -> Path:
    folder = Path(path).expanduser().resolve()
    if not folder.exists():
        raise DataError(f"{what} {path} does not exist; point it at the folder holding e.g. Set5/")
    if not folder.is_dir():
        raise DataError(f"{what} {path} is not a folder; point it at the folder holding e.g. Set5/")
    return folder


def cards_dir() -> Path:
    """The shipped dataset cards: the checkout's ``datasets/`` or the installed package's.

    A user's own cards are added beside them (:meth:`repro.workspace.Workspace.card_dirs`)."""
    return REPO_ROOT / "datasets" if source_checkout() else PACKAGED_CARDS


def weights_dirs() -> list[Path]:
    """Local weight folders: ``REPRO_WEIGHTS`` (os.pathsep-separated), then shared/weights."""
    dirs = []
    for entry in os.environ.get("REPRO_WEIGHTS", "").split(os.pathsep):
        path = Path(entry).expanduser()
        if entry and path.is_file():
            raise ConfigError(
                f"REPRO_WEIGHTS entry {entry} is a file; REPRO_WEIGHTS lists folders that hold "
                f"checkpoints: set it to {path.resolve().parent}, or pass the file with --weights"
            )
        if entry:
            dirs.append(path)
    dirs.append(shared_root() / "weights")
    return dirs


def cache_dir() -> Path:
    """Downloads shared by every workspace (fetched sets, converted weights, made LR images):
    ``REPRO_CACHE``, else ~/.cache/repro."""
    env = env_path("REPRO_CACHE", "a folder for downloads and converted weights")
    return env if env else Path.home() / ".cache" / "repro"


def fetched_dir() -> Path:
    """Where ``repro fetch`` puts the sets it downloads: ``<cache>/fetched/<name>``."""
    return cache_dir() / "fetched"


def check_environment() -> None:
    """Refuse, in one line and before anything runs, a ``REPRO_*`` location of the wrong kind:
    ``REPRO_SHARED``, ``REPRO_CACHE`` or a ``REPRO_DATA``/``REPRO_WEIGHTS`` entry that is a
    file (the workspace's variables: :func:`repro.workspace.resolve`)."""
    weights_dirs()  # reads REPRO_SHARED too
    cache_dir()
    labelled_data_roots()


def torch_hub_dir() -> Path:
    """torch's hub folder (``torch.hub.get_dir()``: ``$TORCH_HOME/hub``, ~/.cache/torch/hub).

    pyiqa keeps its downloads in ``<hub>/pyiqa/``, torchvision in ``<hub>/checkpoints/``.
    """
    import torch.hub  # heavy: only when a metric file is looked up there

    return Path(torch.hub.get_dir())


def hf_cache_dirs() -> list[Path]:
    """Hugging Face cache folders, in search order: ``HF_HUB_CACHE``, ``HF_HOME/hub``, default."""
    dirs = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        dirs.append(Path(os.environ["HF_HOME"]) / "hub")
    dirs.append(Path.home() / ".cache" / "huggingface" / "hub")
    return dirs
