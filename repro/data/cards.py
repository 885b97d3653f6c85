"""Dataset cards: the YAML files in ``datasets/`` that say where a set lives and how to read it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath

import yaml

from repro.errors import SpecError, UnknownNameError, did_you_mean
from repro.paths import cards_dir

TASKS = ("classic", "stereo", "360", "large", "real")
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")  # full hash, or the abbreviation the Hub shows
# card names become cache folder names (<repro-cache>/datasets/<name>/...): keep them plain
_CARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Layout:
    name: str
    hr: str | None  # template with {name}, {scale}, {view}
    lr: str | None
    views: tuple[str, ...] = ()  # stereo: ("0", "1") or ("L", "R"); empty for single images
    # Hub parquet tables: {files, name, hr, lr}; hr/lr name a column, or map view -> column
    parquet: dict | None = None


@dataclass(frozen=True)
class HubSource:
    repo: str
    revision: str | None
    repo_type: str = "dataset"
    subdir: str = ""
    allow_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Card:
    name: str
    task: str
    description: str
    scales: tuple[int, ...]
    protocol: dict
    local_dirs: tuple[str, ...]
    layouts: tuple[Layout, ...]
    hub: HubSource | None
    source_note: str
    archive: dict | None
    sha256: dict[str, str] = field(default_factory=dict)
    subsets: dict[str, dict] = field(default_factory=dict)
    images: int | None = None  # size of the full set, where known
    path: Path | None = None
    exclude: dict[str, str] = field(default_factory=dict)  # image name -> why the papers skip it

    @property
    def stereo(self) -> bool:
        return self.task == "stereo"

    def source_hint(self) -> str:
        """One phrase saying where the set can be obtained."""
        if self.hub and self.hub.revision:
            return f"Hub dataset {self.hub.repo}@{self.hub.revision[:8]}"
        if self.archive and self.archive.get("url"):
            return f"the official archive {self.archive['url']}"
        return self.source_note or "no public source is known"


# key -> (expected type, what to write) for the optional keys whose type the code relies on
_TYPED_KEYS = {
    "scales": (list, "a list of whole numbers, e.g. [2, 3, 4]"),
    "sha256": (dict, "a mapping of relative file path -> sha256"),
    "exclude": (dict, "a mapping of image name -> why it is dropped"),
    "subsets": (dict, "a mapping"),
    "protocol": (dict, "a mapping"),
    "source": (dict, "a mapping (hub, archive, note)"),
    "images": (int, "a whole number (images in the full set)"),
    "local_dirs": (list, "a list of folder names"),
    "layouts": (list, "a list of layouts"),
}


def _parse(path: Path) -> Card:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SpecError(f"dataset card {path} is not valid UTF-8 YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"dataset card {path} must be a mapping")
    for key, (kind, what) in _TYPED_KEYS.items():
        value = raw.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise SpecError(f"dataset card {path}: '{key}' must be {what}, got {value!r}")
    if not all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in raw.get("scales") or ()
    ):
        raise SpecError(f"dataset card {path}: 'scales' must be whole numbers, got {raw['scales']}")
    hub = (raw.get("source") or {}).get("hub")
    if hub is not None and not (isinstance(hub, dict) and isinstance(hub.get("repo"), str)):
        raise SpecError(f"dataset card {path}: source.hub must be a mapping with a 'repo' id")
    try:
        return _parse_fields(path, raw)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise SpecError(
            f"dataset card {path} is malformed ({type(exc).__name__}: {exc}); see "
            "datasets/README.md"
        ) from None


def _parse_fields(path: Path, raw: dict) -> Card:
    def need(key):
        if key not in raw:
            raise SpecError(f"dataset card {path} lacks '{key}'; see datasets/README.md")
        return raw[key]

    name = need("name")
    if name != path.stem:
        raise SpecError(f"dataset card {path}: name '{name}' differs from the file name")
    if not _CARD_NAME.match(str(name)):
        raise SpecError(
            f"dataset card {path}: name {name!r} must be letters, digits, '.', '_' or '-'"
        )
    task = need("task")
    if task not in TASKS:
        raise SpecError(f"dataset card {path}: task '{task}' not one of {TASKS}")
    layouts = []
    for item in need("layouts") or []:
        if not isinstance(item, dict) or not (item.get("hr") or item.get("lr")):
            raise SpecError(f"dataset card {path}: each layout is a mapping with 'hr' and/or 'lr'")
        views = tuple(str(v) for v in item.get("views", ()) or ())
        for view in views:
            _inside(path, "view", view, plain=True)
        for key in ("hr", "lr"):
            if item.get(key):
                _template(path, f"layout {item.get('name', 'default')} {key}", item[key])
        if item.get("parquet"):
            _inside(path, "parquet files", item["parquet"].get("files", "**/*.parquet"))
        layouts.append(
            Layout(
                item.get("name", "default"),
                item.get("hr"),
                item.get("lr"),
                views,
                item.get("parquet"),
            )
        )
    local_dirs = tuple(str(d) for d in raw.get("local_dirs") or (name,))
    for folder in local_dirs:
        _inside(path, "local_dirs entry", folder)
    src = raw.get("source") or {}
    hub = None
    if src.get("hub"):
        h = src["hub"]
        rev = h.get("revision")
        if rev is not None and not _COMMIT.match(str(rev)):
            raise SpecError(
                f"dataset card {path}: hub revision must be a commit hash (40 hex, or the 7+ "
                f"hex abbreviation the Hub shows), got {rev}; branch names are not pins"
            )
        hub = HubSource(
            repo=h["repo"],
            revision=rev,
            repo_type=h.get("repo_type", "dataset"),
            subdir=_inside(path, "hub subdir", h.get("subdir", "") or "", empty=True),
            allow_patterns=tuple(h.get("allow_patterns") or ()),
        )
    return Card(
        name=name,
        task=task,
        description=raw.get("description", ""),
        scales=tuple(int(s) for s in raw.get("scales") or ()),
        protocol=dict(raw.get("protocol") or {}),
        local_dirs=local_dirs,
        layouts=tuple(layouts),
        hub=hub,
        source_note=src.get("note", "") or "",
        archive=src.get("archive"),
        sha256=dict(raw.get("sha256") or {}),
        subsets=dict(raw.get("subsets") or {}),
        images=raw.get("images"),
        path=path,
        exclude={str(k): str(v) for k, v in (raw.get("exclude") or {}).items()},
    )


def _inside(path: Path, what: str, value, *, plain: bool = False, empty: bool = False) -> str:
    """Refuse a card path that could reach outside its folder: '..', absolute, NUL, drive."""
    text = str(value)
    parts = PurePosixPath(text.replace("\\", "/")).parts
    bad = (
        (not text and not empty)
        or "\0" in text
        or text.startswith(("/", "\\", "~"))
        or bool(PureWindowsPath(text).drive)
        or ".." in parts
        or (plain and len(parts) != 1)
    )
    if bad:
        kind = "a plain name" if plain else "a relative path inside the dataset folder"
        raise SpecError(
            f"dataset card {path}: {what} {text!r} must be {kind} (no '..', no absolute path)"
        )
    return text


def _template(path: Path, what: str, template) -> str:
    text = _inside(path, what, template)
    if text.count("{name}") != 1:
        raise SpecError(f"dataset card {path}: {what} {text!r} must hold {{name}} exactly once")
    return text


@lru_cache(maxsize=4)
def _all_cards_cached(folder: str, stamp: tuple) -> dict[str, Card]:
    cards = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        card = _parse(path)
        cards[card.name] = card
    return cards


def all_cards() -> dict[str, Card]:
    """Every card in ``datasets/`` (or REPRO_CARDS); re-read when a card file changes."""
    folder = cards_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    return _all_cards_cached(str(folder), stamp)


def get_card(name: str) -> Card:
    cards = all_cards()
    if name in cards:
        return cards[name]
    lowered = {k.lower(): k for k in cards}
    if name.lower() in lowered:
        return cards[lowered[name.lower()]]
    raise UnknownNameError(
        f"unknown dataset '{name}'; {did_you_mean(name, cards)} "
        "(list them with: python -m repro ls datasets)"
    )
