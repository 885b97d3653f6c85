"""Dataset cards: the YAML files in ``datasets/`` that say where a set lives and how to read it.

The shipped cards and the user's own (the workspace's ``cards/``, ``--cards DIR``,
``REPRO_CARDS``) are read together; a user card named as a shipped one is refused unless the
user asks to override (:func:`repro.workspace.named_files`).

Each card is parsed into the dataclasses of :mod:`repro.data.schema` when it is loaded; an
unknown key, a wrong type or a value out of range is a one-line :class:`SpecError` naming the
file and the key (:mod:`repro.data.fields`). ``datasets/README.md`` documents exactly these keys.
"""

from __future__ import annotations

import re
import urllib.parse
from functools import lru_cache
from pathlib import Path

from repro.data.fields import Fields, is_count, is_text, join, one_of
from repro.data.schema import (
    BUILD_RECIPES,
    CHANNELS,
    LR_BOUNDARIES,
    LR_MAKERS,
    REPO_TYPES,
    TASKS,
    Archive,
    BuildSource,
    Card,
    CardProtocol,
    HubSource,
    Layout,
    ParquetSource,
    Subset,
)
from repro.errors import SpecError, UnknownNameError, did_you_mean
from repro.paths import REPO_ROOT, cards_dir
from repro.workspace import named_files

_README = "datasets/README.md"
# block -> (every key it may hold, the required ones); datasets/README.md documents exactly these
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "": (
        ("name", "task", "description", "notes", "scales", "images", "exclude", "protocol",
         "local_dirs", "layouts", "source", "sha256", "subsets"),
        ("name", "task", "description", "scales", "protocol", "layouts"),
    ),
    "protocol": (("channel", "crop", "lr_boundary", "lr_maker"), ("channel", "crop")),
    "layouts[]": (("name", "hr", "lr", "views", "parquet"), ("name",)),
    "layouts[].parquet": (("files", "name", "hr", "lr"), ()),
    "source": (("hub", "archive", "build", "note"), ()),
    "source.hub": (("repo", "repo_type", "revision", "subdir", "allow_patterns"), ("repo",)),
    "source.archive": (("url", "mirrors", "hosts", "sha256", "root", "manual"), ("url",)),
    "source.build": (("repo", "revision", "file", "members", "recipe", "sha256"),
                     ("repo", "revision", "file", "members", "recipe")),
    "subsets.*": (("images", "note", "lr_full_size"), ("images", "note")),
}  # fmt: skip
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")  # full hash, or the abbreviation the Hub shows
_FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_MEMBERS = re.compile(r"^\d{1,4}-\d{1,4}$")  # DIV8K-style 4-digit image indexes
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
# card names become cache folder names (<repro-cache>/datasets/<name>/...): keep them plain
_CARD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_crop(value: object) -> bool:
    return value == "scale" or (
        isinstance(value, int) and not isinstance(value, bool) and value >= 0
    )


def _matches(pattern: re.Pattern):
    return lambda value: isinstance(value, str) and bool(pattern.match(value))


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _is_host(value: object) -> bool:
    return isinstance(value, str) and _HOST.match(value) is not None


def _choices(choices: tuple[str, ...]) -> str:
    return "one of " + ", ".join(choices)


def _label(path: Path) -> str:
    try:
        shown = path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:  # a cards folder elsewhere (REPRO_CARDS)
        shown = str(path)
    return f"dataset card {shown}"


def load_card(path: Path) -> Card:
    """Parse and check one card file; SpecError (one line, naming file and key) if it is bad."""
    f = Fields(_label(path), _README)
    raw = f.block(f.load(path), "", *KEYS[""])
    name = f.get(raw, "", "name", is_text, "text")
    if name != path.stem:
        raise f.expected("name", f"the file name {path.stem!r}", name)
    if not _CARD_NAME.match(name):
        raise f.expected("name", "letters, digits, '.', '_' or '-'", name)
    task = f.get(raw, "", "task", one_of(tuple(TASKS)), _choices(tuple(TASKS)))
    dirs = f.items(raw, "", "local_dirs", is_text, "a folder name") or (name,)
    local_dirs = tuple(f.relative(join("local_dirs", i), d) for i, d in enumerate(dirs))
    if local_dirs[0] != name:  # missing-data advice tells users to make <data root>/<name>
        raise f.expected(
            "local_dirs", f"a list that starts with the card name {name!r}", list(dirs)
        )
    source = raw.get("source")
    source = f.block({} if source is None else source, "source", *KEYS["source"])
    note = f.get(source, "source", "note", _is_str, "text", "")
    layouts = f.items(raw, "", "layouts", lambda v: True, "a layout", nonempty=True)
    sha256 = f.mapping(raw, "", "sha256", _matches(_SHA256), "64 hex digits", keys="file path")
    card = Card(
        name=name,
        task=task,
        description=f.get(raw, "", "description", is_text, "text"),
        scales=f.items(raw, "", "scales", is_count, "a whole number > 0", nonempty=True),
        protocol=_protocol(f, raw["protocol"], task),
        local_dirs=local_dirs,
        layouts=tuple(_layout(f, item, f"layouts[{i}]", task) for i, item in enumerate(layouts)),
        hub=_hub(f, source.get("hub"), note),
        source_note=note,
        archive=_archive(f, source.get("archive")),
        path=path,
        sha256={f.relative(join("sha256", rel), rel): digest for rel, digest in sha256.items()},
        subsets=_subsets(f, raw, local_dirs),
        images=f.get(raw, "", "images", is_count, "a whole number > 0 (images in the full set)"),
        exclude=f.mapping(
            raw, "", "exclude", is_text, "text saying why it is dropped", keys="image name"
        ),
        notes=f.get(raw, "", "notes", _is_str, "text", ""),
        build=_build(f, source.get("build")),
    )
    _check_build(f, card)
    return card


def _protocol(f: Fields, raw: object, task: str) -> CardProtocol:
    w = "protocol"
    raw = f.block(raw, w, *KEYS["protocol"])
    protocol = CardProtocol(
        channel=f.get(raw, w, "channel", one_of(CHANNELS), _choices(CHANNELS)),
        crop=f.get(raw, w, "crop", _is_crop, "'scale' or a whole number >= 0"),
        lr_boundary=f.get(raw, w, "lr_boundary", one_of(LR_BOUNDARIES), _choices(LR_BOUNDARIES)),
        lr_maker=f.get(raw, w, "lr_maker", one_of(LR_MAKERS), _choices(LR_MAKERS)),
    )
    facts = TASKS[task]
    scoring = (protocol.channel, protocol.crop)
    if facts.channel is not None and scoring != (facts.channel, facts.crop):
        raise f.error(
            f"key 'protocol': every {task} set is scored with channel {facts.channel}, crop "
            f"{facts.crop}; got channel {protocol.channel}, crop {protocol.crop}"
        )
    if (protocol.lr_maker or LR_MAKERS[0]) != facts.lr_maker:
        raise f.expected(
            "protocol.lr_maker", f"{facts.lr_maker} for a {task} set", protocol.lr_maker
        )
    return protocol


def _template(f: Fields, key: str, value: object, views: tuple[str, ...]) -> str:
    text = f.relative(key, value)
    if text.count("{name}") != 1:
        raise f.expected(key, "a template holding {name} exactly once", text)
    if ("{view}" in text) != bool(views):
        raise f.expected(key, "a template holding {view} if and only if the layout has views", text)
    return text


def _layout(f: Fields, raw: object, where: str, task: str) -> Layout:
    raw = f.block(raw, where, *KEYS["layouts[]"])
    names = f.items(raw, where, "views", is_text, "a quoted name, e.g. '0'")
    key = join(where, "views")
    views = tuple(f.relative(join(key, i), v, plain=True) for i, v in enumerate(names))
    if len(views) != TASKS[task].views:
        raise f.expected(key, f"{TASKS[task].views} views for a {task} set", list(views))
    templates = {
        kind: _template(f, join(where, kind), raw[kind], views)
        for kind in ("hr", "lr")
        if raw.get(kind) is not None
    }
    if not templates:
        raise f.error(f"key '{where}' must hold 'hr' and/or 'lr' (see {_README})")
    return Layout(
        name=f.get(raw, where, "name", is_text, "text"),
        hr=templates.get("hr"),
        lr=templates.get("lr"),
        views=views,
        parquet=_parquet(f, raw.get("parquet"), join(where, "parquet"), templates, views),
    )


def _parquet(
    f: Fields, raw: object, where: str, templates: dict, views: tuple[str, ...]
) -> ParquetSource | None:
    if raw is None:
        return None
    raw = f.block(raw, where, *KEYS["layouts[].parquet"])
    columns = {}
    for kind in ("hr", "lr"):
        if raw.get(kind) is None:
            continue
        key = join(where, kind)
        if kind not in templates:
            raise f.expected(key, f"absent: the layout has no '{kind}' to write to", raw[kind])
        if views:  # the views of a pair come from columns of the same row
            per_view = raw[kind]
            if not isinstance(per_view, dict) or set(per_view) != set(views):
                raise f.expected(key, f"a mapping of each view {list(views)} to a column", per_view)
            columns[kind] = f.mapping(raw, where, kind, is_text, "a column name", keys="view")
        else:
            columns[kind] = {"": f.get(raw, where, kind, is_text, "a column name")}
    if not columns:
        raise f.error(f"key '{where}' must name an 'hr' and/or 'lr' column")
    return ParquetSource(
        files=f.relative(
            join(where, "files"), f.get(raw, where, "files", _is_str, "a glob", "**/*.parquet")
        ),
        name=f.get(raw, where, "name", is_text, "a column name"),
        columns=columns,
    )


def _hub(f: Fields, raw: object, note: str) -> HubSource | None:
    if raw is None:
        return None
    w = "source.hub"
    raw = f.block(raw, w, *KEYS["source.hub"])
    revision = f.get(
        raw,
        w,
        "revision",
        _matches(_COMMIT),
        "a quoted commit hash (40 hex, or the 7+ hex abbreviation the Hub shows); branch names "
        "are not pins",
    )
    if revision is None and "revision not pinned" not in note:
        raise f.error("key 'source.note' must say 'revision not pinned' and why")
    if revision is not None and len(revision) < 40 and "abbreviated" not in note:
        raise f.error("key 'source.note' must say why the Hub revision is abbreviated")
    return HubSource(
        repo=f.get(raw, w, "repo", _matches(_REPO_ID), "a Hub repo id, owner/name"),
        revision=revision,
        repo_type=f.get(raw, w, "repo_type", one_of(REPO_TYPES), _choices(REPO_TYPES), "dataset"),
        subdir=f.relative(
            join(w, "subdir"), f.get(raw, w, "subdir", _is_str, "text", ""), empty=True
        ),
        allow_patterns=f.items(raw, w, "allow_patterns", is_text, "a file pattern"),
    )


def _page(url: str) -> str | None:
    """Why ``url`` is a web page rather than a file to download; None when it may be a file."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname == "drive.google.com" and parts.path.startswith("/drive/folders"):
        return "a Google Drive folder, not a file"
    if parts.hostname == "github.com" and not re.search(r"/(archive|releases/download|raw)/", url):
        return "a GitHub page, not a file (a release, /archive/ or /raw/ link is one)"
    return None


def _archive(f: Fields, raw: object) -> Archive | None:
    if raw is None:
        return None
    w = "source.archive"
    raw = f.block(raw, w, *KEYS[w])
    archive = Archive(
        url=f.get(raw, w, "url", _is_url, "an http(s) URL"),
        sha256=f.get(raw, w, "sha256", _matches(_SHA256), "64 hex digits or null"),
        mirrors=f.items(raw, w, "mirrors", _is_url, "an http(s) URL"),
        hosts=f.items(raw, w, "hosts", _is_host, "a host name in lower case, e.g. example.org"),
        root=f.relative(join(w, "root"), f.get(raw, w, "root", _is_str, "text", ""), empty=True),
        manual=f.get(raw, w, "manual", is_text, "text saying why no one command can fetch it"),
    )
    if archive.manual is None:  # `repro fetch` downloads these: pages are refused here, not there
        for key, url in (("url", archive.url), *(("mirrors", u) for u in archive.mirrors)):
            if _page(url):
                raise f.error(f"key '{w}.{key}' is {_page(url)}: {url}; or say why in 'manual'")
    return archive


def _build(f: Fields, raw: object) -> BuildSource | None:
    if raw is None:
        return None
    w = "source.build"
    raw = f.block(raw, w, *KEYS[w])
    members = f.get(raw, w, "members", _matches(_MEMBERS), "'first-last', e.g. '1401-1500'")
    first, last = (int(i) for i in members.split("-"))
    if first > last:
        raise f.expected(join(w, "members"), "first <= last", members)
    return BuildSource(
        repo=f.get(raw, w, "repo", _matches(_REPO_ID), "a Hub dataset repo id, owner/name"),
        # a build reads byte ranges of one exact file: only a full commit pins it
        revision=f.get(raw, w, "revision", _matches(_FULL_COMMIT), "a quoted 40-hex commit"),
        file=f.relative(join(w, "file"), f.get(raw, w, "file", is_text, "a .zip in the repo")),
        first=first,
        last=last,
        recipe=f.get(
            raw, w, "recipe", one_of(tuple(BUILD_RECIPES)), _choices(tuple(BUILD_RECIPES))
        ),
        sha256=f.get(raw, w, "sha256", _matches(_SHA256), "64 hex digits or null"),
    )


def _check_build(f: Fields, card: Card) -> None:
    """A build writes the first layout (HR and LR) at its recipe's scale, one image per member."""
    build = card.build
    if build is None:
        return
    scale, layout = BUILD_RECIPES[build.recipe].scale, card.layouts[0]
    if scale not in card.scales:
        raise f.error(f"key 'source.build.recipe' makes x{scale} LR; scales {list(card.scales)}")
    if layout.hr is None or layout.lr is None or layout.views:
        raise f.error("key 'source.build': the first layout must hold 'hr' and 'lr', no views")
    if card.images is not None and len(build.indexes) != card.images:
        raise f.error(
            f"key 'source.build.members' names {len(build.indexes)} images; 'images' says "
            f"{card.images}"
        )


def _subsets(f: Fields, raw: dict, local_dirs: tuple[str, ...]) -> dict[str, Subset]:
    subsets = {}
    given = f.mapping(raw, "", "subsets", lambda v: True, "a subset", keys="folder name")
    for name, sub in given.items():
        where = join("subsets", name)
        if name not in local_dirs:
            raise f.error(f"key '{where}' names no folder of local_dirs {list(local_dirs)}")
        sub = f.block(sub, where, *KEYS["subsets.*"])
        subsets[name] = Subset(
            images=f.get(sub, where, "images", is_count, "a whole number > 0"),
            note=f.get(sub, where, "note", is_text, "text"),
            lr_full_size=f.get(
                sub, where, "lr_full_size", lambda v: isinstance(v, bool), "true or false", False
            ),
        )
    return subsets


# -- the registry --------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _all_cards_cached(stamp: tuple) -> dict[str, Card]:
    return {name: load_card(Path(path)) for name, path, _ in stamp}


def card_files() -> dict[str, Path]:
    """Name -> file of every card: the shipped ones and the user's (clashes refused)."""
    return named_files(cards_dir(), "dataset card")


def all_cards() -> dict[str, Card]:
    """Every card, shipped and the user's; re-read when a card file changes.

    The first card that does not load raises its SpecError: a bad card is never skipped.
    """
    files = card_files()
    stamp = tuple((n, str(p), p.stat().st_mtime_ns) for n, p in sorted(files.items()))
    return _all_cards_cached(stamp)


def validate_all() -> list[str]:
    """One line per card (shipped or the user's) that does not load; empty when all are good."""
    problems = []
    for path in card_files().values():
        try:
            load_card(path)
        except SpecError as exc:
            problems.append(str(exc))
    return problems


def get_card(name: str) -> Card:
    cards = all_cards()
    if name in cards:
        return cards[name]
    lowered = {k.lower(): k for k in cards}
    if name.lower() in lowered:
        return cards[lowered[name.lower()]]
    raise UnknownNameError(
        f"unknown dataset '{name}'; {did_you_mean(name, cards)} (list them with: repro ls datasets)"
    )
