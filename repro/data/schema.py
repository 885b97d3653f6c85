"""What a dataset card is: typed blocks of ``datasets/<Name>.yaml`` and the facts of each task.

:mod:`repro.data.cards` parses the files into these; ``datasets/README.md`` documents the keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Task:
    """What every card of one task shares: how it is scored and how its images come."""

    channel: str | None  # the card protocol's channel for every set of the task; None: per card
    crop: int | str | None  # likewise the border crop ("scale": the scale factor)
    lr_maker: str  # how LR images absent from disk are made
    views: int  # views per image in every layout: 2 for stereo pairs, 0 for single images


# the five kinds of benchmark set the papers score; a card's ``task`` is one of them
TASKS: dict[str, Task] = {
    "classic": Task(channel="y", crop="scale", lr_maker="matlab-bicubic", views=0),
    "stereo": Task(channel="rgb", crop=0, lr_maker="matlab-bicubic", views=2),
    # OSRT's 360° pipeline: HR resized to 1024x2048, bicubic in the fisheye domain
    "360": Task(channel="rgb", crop=0, lr_maker="odi-fisheye", views=0),
    "large": Task(channel="rgb", crop=0, lr_maker="matlab-bicubic", views=0),
    "real": Task(channel=None, crop=None, lr_maker="matlab-bicubic", views=0),
}
CHANNELS = ("y", "rgb")
LR_BOUNDARIES = ("symmetric", "replicate")  # the first is the default
LR_MAKERS = ("matlab-bicubic", "odi-fisheye")  # the first is the default
REPO_TYPES = ("dataset", "model", "space")


@dataclass(frozen=True)
class Recipe:
    """How a built set's HR and LR are made from the raw images (``source.build.recipe``)."""

    scale: int  # HR mod-cropped to a multiple of it; LR made at 1/scale
    rounding: str  # MATLAB bicubic rounding (repro.data.imresize.ROUNDING_MODES)


# ClassSR codes/data_scripts/generate_mod_LR_bic.py: mod-crop 4, then BasicSR's imresize_np
# (antialiased bicubic in float, rounded only when the PNG is written)
BUILD_RECIPES: dict[str, Recipe] = {"classsr-mod4-float-bicubic": Recipe(4, "float")}


@dataclass(frozen=True)
class CardProtocol:
    """A set's scoring defaults (a table's protocol overrides them) and how its LR is made."""

    channel: str  # "y" or "rgb"
    crop: int | str  # border pixels dropped before scoring, or "scale"
    lr_boundary: str | None = None  # edge rule of the MATLAB that made the LR; None: symmetric
    lr_maker: str | None = None  # None: matlab-bicubic

    def as_dict(self) -> dict:
        """The keys the card wrote, as the protocol mapping ``repro eval`` starts from."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class ParquetSource:
    """A Hub parquet table whose image bytes are written to the layout's files."""

    files: str  # glob of the parquet files inside the snapshot
    name: str | None  # the column of image names; None: rows are named 0001, 0002, ...
    columns: dict[str, dict[str, str]]  # "hr"/"lr" -> view ("" for one image) -> column ({scale})


@dataclass(frozen=True)
class Layout:
    name: str
    hr: str | None  # template with {name}, {scale}, {view}
    lr: str | None
    views: tuple[str, ...] = ()  # stereo: ("0", "1") or ("L", "R"); empty for single images
    parquet: ParquetSource | None = None


@dataclass(frozen=True)
class HubSource:
    repo: str
    revision: str | None  # a commit hash (full, or the abbreviation the Hub shows); None: unpinned
    repo_type: str = "dataset"
    subdir: str = ""
    allow_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Archive:
    """The official archive of a set: what ``repro fetch`` downloads and unpacks."""

    url: str  # a file link (HTTP(S), or a Google Drive file link); with ``manual``, a page
    sha256: str | None = None  # None: trusted on first use, recorded in the dataset lock
    mirrors: tuple[str, ...] = ()  # more links to the same file, tried in order after url
    hosts: tuple[str, ...] = ()  # more hosts the links may redirect to (beyond their own)
    root: str = ""  # folder inside the archive that holds the layout; "": found by the layouts
    manual: str | None = None  # url is a page, not a file: why no one command can fetch it

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.mirrors)


@dataclass(frozen=True)
class BuildSource:
    """A set built here from members of a zip on the Hub (``source.build``): not the official
    files, and provenance says so."""

    repo: str  # a Hub dataset repo
    revision: str  # its full commit
    file: str  # the zip inside the repo
    first: int  # members: the images whose 4-digit index is first..last
    last: int
    recipe: str  # a key of BUILD_RECIPES
    sha256: str | None = None  # the zip's (checked on a local copy; range reads cannot)

    @property
    def url(self) -> str:
        return f"hf://datasets/{self.repo}@{self.revision}/{self.file}"

    @property
    def indexes(self) -> range:
        return range(self.first, self.last + 1)


@dataclass(frozen=True)
class Subset:
    """A shipped partial copy of the set (one of the card's ``local_dirs``)."""

    images: int
    note: str
    # Its LR files have the HR's size (aligned captures, not 1/scale): no xN model can take them.
    lr_full_size: bool = False


@dataclass(frozen=True)
class Card:
    name: str
    task: str
    description: str
    scales: tuple[int, ...]
    protocol: CardProtocol
    local_dirs: tuple[str, ...]
    layouts: tuple[Layout, ...]
    hub: HubSource | None
    source_note: str
    archive: Archive | None
    path: Path
    sha256: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    subsets: dict[str, Subset] = field(default_factory=dict)
    images: int | None = None  # size of the full set, where known
    exclude: dict[str, str] = field(default_factory=dict)  # image name -> why the papers skip it
    notes: str = ""  # free text; no code reads it
    build: BuildSource | None = None  # how to build the set from a raw source, where known

    def source_hint(self) -> str:
        """One phrase saying where the set can be obtained."""
        if self.hub and self.hub.revision:
            return f"Hub dataset {self.hub.repo}@{self.hub.revision[:8]}"
        if self.archive:
            return f"the official archive {self.archive.url}"
        return self.source_note or "no public source is known"


def fill(template: str, *, name: str = "*", scale: int, view: str = "") -> str:
    """A layout template with its placeholders filled (``name="*"``: a glob of every image)."""
    return template.replace("{scale}", str(scale)).replace("{view}", view).replace("{name}", name)
