"""A dataset card for a folder of your own images (``python -m repro card new DIR``).

The card records what :mod:`repro.data.cards` reads: the layout found in the folder, the image
count, the sha256 of every file (so later runs verify them) and, in the description, the image
sizes. It is checked by the card loader before it is written, and never overwrites a card
unless asked to.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import yaml

from repro.checksums import sha256_file
from repro.data.cards import load_card
from repro.data.schema import LR_MAKERS, TASKS, Card
from repro.errors import DataError, ReproError
from repro.files import atomic_write_text
from repro.imageio import is_image_file, read_image
from repro.paths import cards_dir, source_checkout

# the tasks a folder of single images can be (stereo pairs need two views: write those by hand)
FOLDER_TASKS = tuple(t for t, facts in TASKS.items() if facts.views == 0)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # as the card loader checks it
_EDSR_LR = re.compile(r"^X(\d+)$")  # LR_bicubic/X4/: the EDSR benchmark layout


def _image_files(folder: Path) -> list[Path]:
    """The images of one layout folder, as the dataset loader will list them: every file below
    it (hidden ones aside) must be an image, directly inside it."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if not is_image_file(path):
            raise DataError(f"{path} is not an image; move it out of {folder}")
        if path.parent != folder:
            raise DataError(
                f"{path} is in a subfolder of {folder}; a card takes a flat folder of images, "
                "or HR/ with LR_bicubic/X{scale}/ beside it: move it out"
            )
        found.append(path)
    return found


def _one_suffix(files: list[Path], folder: Path) -> str:
    suffixes = sorted({p.suffix for p in files})
    if len(suffixes) != 1:
        raise DataError(
            f"{folder} holds {' and '.join(suffixes)} files; a card's layout names one file "
            "type per folder: convert them to one (e.g. PNG)"
        )
    return suffixes[0]


def _layouts(folder: Path, lr_only: bool) -> tuple[list[dict], list[Path], dict[int, list[Path]]]:
    """(layouts, the images named by the first layout, {scale: LR files} of an EDSR layout).

    A flat folder of images, or the EDSR benchmark shape: ``HR/`` with optional
    ``LR_bicubic/X{scale}/{name}x{scale}`` files (then a second, HR-only layout lets other
    scales make their LR).
    """
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; pass the folder holding the images")
    hr_dir = folder / "HR"
    if not hr_dir.is_dir() or lr_only:
        files = _image_files(folder)
        if not files:
            raise DataError(f"{folder} holds no images; pass a folder of images, or one with HR/")
        kind = "lr" if lr_only else "hr"
        return [{"name": "folder", kind: "{name}" + _one_suffix(files, folder)}], files, {}
    files = _image_files(hr_dir)
    if not files:
        raise DataError(f"{hr_dir} holds no images")
    ext = _one_suffix(files, hr_dir)
    lr_files: dict[int, list[Path]] = {}
    lr_root = folder / "LR_bicubic"
    for sub in sorted(lr_root.iterdir()) if lr_root.is_dir() else []:
        match = _EDSR_LR.match(sub.name)
        if not (sub.is_dir() and match):
            continue
        s = int(match.group(1))
        found = _image_files(sub)
        expected = {f"{p.stem}x{s}{ext}" for p in files}
        odd = sorted(expected ^ {p.name for p in found})
        if odd:
            raise DataError(
                f"{sub} does not hold exactly one {{name}}x{s}{ext} per HR image (first "
                f"mismatch: {odd[0]}); fix the folder or move {sub.name} away"
            )
        lr_files[s] = found
    hr_only = {"name": "hr-only", "hr": "HR/{name}" + ext}
    if not lr_files:
        return [hr_only], files, {}
    edsr = {**hr_only, "name": "edsr-benchmark", "lr": "LR_bicubic/X{scale}/{name}x{scale}" + ext}
    return [edsr, hr_only], files, lr_files


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
    name = name or folder.name
    if not _NAME.match(name):
        raise ReproError(
            f"'{name}' cannot name a card (letters, digits, '.', '_', '-'): pass --name NAME"
        )
    if task not in FOLDER_TASKS:
        raise ReproError(f"task {task!r}: a folder card is one of {', '.join(FOLDER_TASKS)}")
    layouts, images, lr_files = _layouts(folder, lr_only)
    facts = TASKS[task]
    protocol: dict = {  # a task's fixed scoring, else that of the shipped sets of its kind
        "channel": facts.channel or ("rgb" if lr_only else "y"),
        "crop": facts.crop if facts.channel else (0 if lr_only else "scale"),
    }
    if facts.lr_maker != LR_MAKERS[0]:
        protocol["lr_maker"] = facts.lr_maker
    scales = tuple(scales or sorted(lr_files) or ((4,) if lr_only else (2, 3, 4)))
    kind = "LR" if lr_only else "HR"
    files = images + [p for s in sorted(lr_files) for p in lr_files[s]]
    return {
        "name": name,
        "task": task,
        "description": f"{len(images)} {kind} images {_sizes(images)}, from the local folder "
        f"{folder.name} (card written by python -m repro card new)",
        "scales": list(scales),
        "images": len(images),
        "protocol": protocol,
        "local_dirs": [name] if folder.name == name else [name, folder.name],
        "layouts": layouts,
        "source": {"note": f"your own images (a local folder named {folder.name}); no public copy"},
        "sha256": {p.relative_to(folder).as_posix(): sha256_file(p) for p in files},
    }


def write_card(card: dict, dest: Path, *, force: bool = False) -> tuple[Path, Card]:
    """Write ``card`` to ``dest/<name>.yaml`` once the card loader accepts it; return the path
    and the loaded card. An existing card is replaced only with ``force``."""
    path = dest / f"{card['name']}.yaml"
    if path.exists() and not force:
        raise ReproError(f"{path} exists; pass --force to replace it, or --name another name")
    text = yaml.safe_dump(card, sort_keys=False, width=100, allow_unicode=True)
    with tempfile.TemporaryDirectory() as tmp:
        trial = Path(tmp) / path.name
        trial.write_text(text, encoding="utf-8")
        load_card(trial)  # a SpecError here is this module's bug: nothing is written
    if not dest.is_dir():
        raise DataError(f"cards folder {dest} does not exist; create it or pass --out FOLDER")
    atomic_write_text(path, text)
    return path, load_card(path)


def card_folder(out: str | None) -> Path:
    """Where ``card new`` writes: ``--out``, else the cards folder in use when it is the user's
    (``REPRO_CARDS``, or ``datasets/`` of a source checkout); never inside an installed package."""
    if out:
        return Path(out).expanduser()
    if os.environ.get("REPRO_CARDS") or source_checkout():
        return cards_dir()
    raise ReproError(
        "this is an installed package: its cards are not yours to edit; pass --out FOLDER (and "
        "set REPRO_CARDS to a folder holding every card you use)"
    )
