"""Where things live: the shared folder, data roots, results, reports, caches.

Every location can be overridden by an environment variable so users can point elsewhere.
Defaults: in a source checkout, its folders (``datasets/``, ``results/``, ``reports/``,
``../shared``); an installed package reads the cards and specs it ships and writes results and
reports under the current folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from repro.errors import DataError

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
# A wheel carries the dataset cards inside the package (setup.py maps the checkout's top-level
# datasets/ there: installed at the top level, it would take Hugging Face's package name).
PACKAGED_CARDS = PACKAGE_ROOT / "_cards"


def source_checkout() -> bool:
    """Does the code run from a source checkout (editable or not) rather than an installed wheel?"""
    return not PACKAGED_CARDS.is_dir()


def project_root() -> Path:
    """The checkout; for an installed package, the current folder (never site-packages)."""
    return REPO_ROOT if source_checkout() else Path.cwd()


def shared_root() -> Path:
    """``REPRO_SHARED``, else ``../shared`` beside the checkout (installed: ``./shared``)."""
    env = os.environ.get("REPRO_SHARED")
    if env:
        return Path(env).expanduser().resolve()
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
    """``REPRO_CARDS``, else the checkout's ``datasets/`` or the installed package's cards."""
    default = REPO_ROOT / "datasets" if source_checkout() else PACKAGED_CARDS
    return Path(os.environ.get("REPRO_CARDS", default))


def results_dir() -> Path:
    return Path(os.environ.get("REPRO_RESULTS", project_root() / "results"))


def reports_dir() -> Path:
    return Path(os.environ.get("REPRO_REPORTS", project_root() / "reports"))


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


def fetched_dir() -> Path:
    """Where ``python -m repro fetch`` puts the sets it downloads: ``<cache>/fetched/<name>``."""
    return cache_dir() / "fetched"


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
