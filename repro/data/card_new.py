"""A dataset card for a folder of your own images (``repro card new DIR``).

The card records what :mod:`repro.data.cards` reads: the layout found in the folder, the image
count and types, the sha256 of every image (so later runs verify them) and, in the description,
the image sizes. A folder takes what ``repro eval --hr`` takes: files that are not images are
left out by name (the card's ``exclude``), and images of several types are named in full
(template ``{name}``). The card is checked by the card loader before it is written, into the
workspace's ``cards/`` (or ``-o FILE``), never into the package, and never over a card unless
asked to.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from repro.checksums import sha256_file
from repro.data.cards import load_card
from repro.data.schema import LR_MAKERS, TASKS, Card
from repro.errors import ConfigError, DataError, ReproError
from repro.files import atomic_write_text
from repro.imageio import is_image_file, read_image
from repro.paths import PACKAGE_ROOT, cards_dir
from repro.workspace import OVERRIDE_HINT, Workspace

# the tasks a folder of single images can be (stereo pairs need two views: write those by hand)
FOLDER_TASKS = tuple(t for t, facts in TASKS.items() if facts.views == 0)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # as the card loader checks it
_EDSR_LR = re.compile(r"^X(\d+)$")  # LR_bicubic/X4/: the EDSR benchmark layout
SKIPPED = "not an image: left out by repro card new, as repro eval --hr leaves it out"


def _scan(folder: Path) -> tuple[list[Path], list[Path]]:
    """(images, other files) of one layout folder, hidden files aside: what ``eval --hr``
    reads and what it passes over. Files in a subfolder are an error: a layout names one
    folder level."""
    images, others = [], []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.parent != folder:
            raise DataError(
                f"{path} is in a subfolder of {folder}; a card takes a flat folder of images, "
                "or HR/ with LR_bicubic/X{scale}/ beside it: move it out"
            )
        (images if is_image_file(path) else others).append(path)
    return images, others


def _template(prefix: str, folder: Path, images: list[Path], others: list[Path]) -> str:
    """The layout template of a folder: ``{name}.png`` when every file is an image of one type,
    else ``{name}``, the whole file name (mixed types; the other files are excluded by name)."""
    suffixes = {p.suffix for p in images}
    if not images:
        raise DataError(f"{folder} holds no images; pass a folder of images, or one with HR/")
    return prefix + "{name}" + (suffixes.pop() if len(suffixes) == 1 and not others else "")


def _one_type(folder: Path, images: list[Path], others: list[Path]) -> str:
    """The one image type of an HR folder whose LR files pair up by ``{name}x{scale}``."""
    suffixes = sorted({p.suffix for p in images})
    if others:
        raise DataError(f"{others[0]} is not an image; move it out of {folder}")
    if len(suffixes) != 1:
        raise DataError(
            f"{folder} holds {' and '.join(suffixes)} files and LR_bicubic/ beside it: LR "
            "files pair up by one file type; convert them to one (e.g. PNG)"
        )
    return suffixes[0]


@dataclass(frozen=True)
class Found:
    """What a folder holds for a card."""

    layouts: list[dict]
    images: list[Path]  # the images the first layout names
    lr_files: dict[int, list[Path]]  # scale -> LR files of an EDSR layout
    skipped: list[Path]  # files that are not images: excluded by name, never read


def _layouts(folder: Path, lr_only: bool) -> Found:
    """A flat folder of images, or the EDSR benchmark shape: ``HR/`` with optional
    ``LR_bicubic/X{scale}/{name}x{scale}`` files (then a second, HR-only layout lets other
    scales make their LR)."""
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; pass the folder holding the images")
    hr_dir = folder / "HR"
    if not hr_dir.is_dir() or lr_only:
        images, others = _scan(folder)
        kind = "lr" if lr_only else "hr"
        return Found(
            [{"name": "folder", kind: _template("", folder, images, others)}], images, {}, others
        )
    images, others = _scan(hr_dir)
    hr_only = {"name": "hr-only", "hr": _template("HR/", hr_dir, images, others)}
    lr_files: dict[int, list[Path]] = {}
    lr_root = folder / "LR_bicubic"
    for sub in sorted(lr_root.iterdir()) if lr_root.is_dir() else []:
        match = _EDSR_LR.match(sub.name)
        if not (sub.is_dir() and match):
            continue
        ext = _one_type(hr_dir, images, others)
        s = int(match.group(1))
        found, junk = _scan(sub)
        if junk:
            raise DataError(f"{junk[0]} is not an image; move it out of {sub}")
        expected = {f"{p.stem}x{s}{ext}" for p in images}
        odd = sorted(expected ^ {p.name for p in found})
        if odd:
            raise DataError(
                f"{sub} does not hold exactly one {{name}}x{s}{ext} per HR image (first "
                f"mismatch: {odd[0]}); fix the folder or move {sub.name} away"
            )
        lr_files[s] = found
    if not lr_files:
        return Found([hr_only], images, {}, others)
    edsr = {**hr_only, "name": "edsr-benchmark", "lr": "LR_bicubic/X{scale}/{name}x{scale}" + ext}
    return Found([edsr, hr_only], images, lr_files, [])


def _sizes(files: list[Path]) -> str:
    """'of 512x512 pixels', or 'of 228-512 x 256-512 pixels' (widths x heights); every file is
    decoded, so an unreadable one stops the card here."""
    heights, widths = zip(*(read_image(p).shape[:2] for p in files), strict=True)
    if len(set(heights)) == len(set(widths)) == 1:
        return f"of {widths[0]}x{heights[0]} pixels"
    return f"of {min(widths)}-{max(widths)} x {min(heights)}-{max(heights)} pixels"


def new_card(
    folder: Path,
    *,
    name: str | None = None,
    task: str = "classic",
    scales: tuple[int, ...] | None = None,
    lr_only: bool = False,
) -> dict:
    """The card of ``folder`` as a mapping (every key as ``datasets/README.md`` documents it)."""
    folder = folder.expanduser().resolve()
    name = _checked_name(name or folder.name)
    if task not in FOLDER_TASKS:
        raise ReproError(f"task {task!r}: a folder card is one of {', '.join(FOLDER_TASKS)}")
    found = _layouts(folder, lr_only)
    images, lr_files = found.images, found.lr_files
    facts = TASKS[task]
    protocol: dict = {  # a task's fixed scoring, else that of the shipped sets of its kind
        "channel": facts.channel or ("rgb" if lr_only else "y"),
        "crop": facts.crop if facts.channel else (0 if lr_only else "scale"),
    }
    if facts.lr_maker != LR_MAKERS[0]:
        protocol["lr_maker"] = facts.lr_maker
    scales = tuple(scales or sorted(lr_files) or ((4,) if lr_only else (2, 3, 4)))
    kind = "LR" if lr_only else "HR"
    types = ", ".join(sorted({p.suffix for p in images}))
    files = images + [p for s in sorted(lr_files) for p in lr_files[s]]
    card = {
        "name": name,
        "task": task,
        "description": f"{len(images)} {kind} images ({types}) {_sizes(images)}, from the local "
        f"folder {folder.name} (card written by repro card new)",
        "scales": list(scales),
        "images": len(images),
        "protocol": protocol,
        "local_dirs": [name] if folder.name == name else [name, folder.name],
        "layouts": found.layouts,
        "source": {"note": f"your own images (a local folder named {folder.name}); no public copy"},
        "sha256": {p.relative_to(folder).as_posix(): sha256_file(p) for p in files},
    }
    if found.skipped:  # named in full by the '{name}' template: left out by name
        card["exclude"] = {p.name: SKIPPED for p in found.skipped}
    return card


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise ReproError(
            f"'{name}' cannot name a card (letters, digits, '.', '_', '-'): pass --name NAME"
        )
    return name


def card_path(output: str | None, name: str | None, folder: Path, ws: Workspace) -> Path:
    """Where ``card new`` writes: ``-o FILE``, else ``<workspace>/cards/<name>.yaml`` (the name:
    ``--name``, else the file's stem with ``-o``, else the folder's name)."""
    if output is None:
        return ws.cards / f"{_checked_name(name or folder.expanduser().resolve().name)}.yaml"
    path = Path(output).expanduser()
    if path.suffix != ".yaml":
        raise ReproError(f"-o {output}: a card is a .yaml file named after it, e.g. -o MySet.yaml")
    if name is not None and name != path.stem:
        raise ReproError(f"--name {name} and -o {output} disagree: a card's file is <name>.yaml")
    return path


def write_card(card: dict, path: Path, *, force: bool = False, ws: Workspace) -> Card:
    """Write ``card`` to ``path`` (its folder made when it is the workspace's ``cards/``) once
    the card loader accepts it; return the loaded card. Never into the package or the shipped
    cards; an existing card is replaced only with ``force``, a shipped one's name only when the
    workspace allows overriding."""
    path = path.expanduser().resolve()
    if path.is_relative_to(PACKAGE_ROOT) or path.parent == cards_dir().resolve():
        raise ReproError(
            f"{path} is among the shipped cards: write your cards into your workspace (the "
            "default) or elsewhere with -o FILE"
        )
    if (cards_dir() / path.name).is_file() and not ws.override:
        raise ConfigError(
            f"{path.stem} is the name of a shipped card; pass --name another name, or "
            + OVERRIDE_HINT
        )
    if path.exists() and not force:
        raise ReproError(f"{path} exists; pass --force to replace it, or --name another name")
    text = yaml.safe_dump(card, sort_keys=False, width=100, allow_unicode=True)
    with tempfile.TemporaryDirectory() as tmp:
        trial = Path(tmp) / path.name
        trial.write_text(text, encoding="utf-8")
        load_card(trial)  # a SpecError here is this module's bug: nothing is written
    if path.parent == ws.cards.resolve():
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise DataError(f"folder {path.parent} does not exist; create it or choose another -o FILE")
    atomic_write_text(path, text)
    return load_card(path)
