"""Typed reads from a parsed YAML file whose every error is one line naming the file and the key.

``Fields("dataset card datasets/Set5.yaml", "datasets/README.md")`` checks one mapping at a
time: unknown keys, missing keys, and each value against what it must be, e.g.
``dataset card datasets/Set5.yaml: key 'images' must be a whole number > 0, got 'five'``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath

import yaml

from repro.errors import SpecError

Check = Callable[[object], bool]


def is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def is_count(value: object) -> bool:
    """A whole number > 0 (YAML's true/false are no numbers)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def one_of(choices: tuple) -> Check:
    return lambda value: isinstance(value, str) and value in choices


def _got(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def join(where: str, key: str | int) -> str:
    """The dotted name of ``key`` inside the block at ``where`` (``layouts[0].hr``)."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


class Fields:
    """Reads of one file; ``label`` names it in every error, ``readme`` documents its keys."""

    def __init__(self, label: str, readme: str) -> None:
        self.label, self.readme = label, readme

    def load(self, path: Path) -> object:
        """The parsed YAML of ``path``; a one-line error when it is not readable UTF-8 YAML."""
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise self.error(f"is not readable UTF-8 YAML ({' '.join(str(exc).split())})") from None

    def error(self, message: str) -> SpecError:
        return SpecError(f"{self.label}: {message}")

    def expected(self, key: str, what: str, value: object) -> SpecError:
        return self.error(f"key '{key}' must be {what}, got {_got(value)}")

    def block(
        self, raw: object, where: str, known: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict:
        """``raw`` as a mapping with only ``known`` keys and every ``required`` one (not null)."""
        if not isinstance(raw, dict):
            if not where:
                raise self.error(f"must be a mapping of keys (see {self.readme}), got {_got(raw)}")
            raise self.expected(where, "a mapping", raw)
        for key in raw:
            if key not in known:
                raise self.error(f"unknown key '{join(where, key)}' (known: {', '.join(known)})")
        for key in required:
            if raw.get(key) is None:
                raise self.error(f"key '{join(where, key)}' is missing (see {self.readme})")
        return raw

    def get(self, raw: dict, where: str, key: str, check: Check, what: str, default=None):
        """``raw[key]`` if it passes ``check``; ``default`` when absent or null."""
        value = raw.get(key)
        if value is None:
            return default
        if not check(value):
            raise self.expected(join(where, key), what, value)
        return value

    def items(
        self, raw: dict, where: str, key: str, check: Check, what: str, *, nonempty: bool = False
    ) -> tuple:
        """``raw[key]`` as a tuple of list items that each pass ``check``, each being ``what``."""
        value = raw.get(key)
        if value is None:
            value = []
        if not isinstance(value, list) or (nonempty and not value):
            kind = "a non-empty list" if nonempty else "a list"
            raise self.expected(join(where, key), f"{kind}, each {what}", value)
        for i, item in enumerate(value):
            if not check(item):
                raise self.expected(join(join(where, key), i), what, item)
        return tuple(value)

    def mapping(
        self, raw: dict, where: str, key: str, check: Check, what: str, *, keys: str
    ) -> dict:
        """``raw[key]`` as a mapping of non-empty text ``keys`` to values passing ``check``."""
        value = raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.expected(join(where, key), f"a mapping of {keys} -> {what}", value)
        for name, item in value.items():
            if not is_text(name):  # e.g. an unquoted 014 (YAML reads a number)
                raise self.expected(join(where, key), f"a mapping with quoted {keys}s", name)
            if not check(item):
                raise self.expected(join(join(where, key), name), what, item)
        return dict(value)

    def relative(self, key: str, value: object, *, plain: bool = False, empty: bool = False) -> str:
        """A path that stays inside its folder: no '..', absolute path, drive, '~' or NUL."""
        kind = "a plain name" if plain else "a relative path inside the dataset folder"
        what = f"{kind} (no '..', no absolute path)"
        if not isinstance(value, str):
            raise self.expected(key, what, value)
        parts = PurePosixPath(value.replace("\\", "/")).parts
        bad = (
            (not value and not empty)
            or "\0" in value
            or value.startswith(("/", "\\", "~"))
            or bool(PureWindowsPath(value).drive)
            or ".." in parts
            or (plain and len(parts) != 1)
        )
        if bad:
            raise self.expected(key, what, value)
        return value
