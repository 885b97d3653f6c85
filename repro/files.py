"""Atomic file writes with the user's permissions, and the one safe reader of JSON files.

Every file the suite publishes is written to a temporary file in the target folder and renamed
into place, so an interrupted run never leaves half a file. ``tempfile.mkstemp`` creates files
with mode 0600; :func:`publish` gives them the mode a plain ``open()`` would (0666 less the
umask, 0644 by default) before the rename.

:func:`read_json_object` reads a JSON file a user may have edited by hand (a lock, a manifest,
saved cells): whatever it holds, the answer is a dict or one line naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

# Deeper than any file the suite writes (a few levels), shallow enough that no reader's
# recursion (comparison, copy, json.dumps) can exhaust Python's stack on what it was given.
MAX_JSON_DEPTH = 64


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it: set, then restore at once
    os.umask(mask)
    return mask


def default_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file under the current umask."""
    return 0o666 & ~_umask()


@contextlib.contextmanager
def staged(path: os.PathLike | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, else vanishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".tmp-{path.stem[:40]}-"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: os.PathLike | str, data: bytes) -> None:
    with staged(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: os.PathLike | str, text: str) -> None:
    """Write text atomically so an interrupted run never leaves a partial file."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: os.PathLike | str, write: Callable[[Path], None]) -> None:
    """Let ``write(tmp_path)`` produce the file (e.g. matplotlib's savefig), then publish it."""
    with staged(path) as tmp:
        write(tmp)


def read_json_object(
    path: os.PathLike | str, error: Callable[[str], Exception], todo: str = ""
) -> dict:
    """The JSON object in ``path``; anything else raises ``error(message)``, one line.

    A file edited by hand may hold anything: bytes that are not UTF-8, invalid or truncated
    JSON, an integer past Python's digit limit, nesting past the parser's recursion limit or
    :data:`MAX_JSON_DEPTH`, or valid JSON of another type (a list, ``null``). The message names
    the file and what is wrong, then ``todo`` (what to do); ``error`` is the caller's
    :class:`~repro.errors.ReproError` (class, or a function making one from the message).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        why = f"cannot be read ({exc.strerror or type(exc).__name__})"
    except UnicodeDecodeError:  # a ValueError: caught first
        why = "is not UTF-8 text"
    except RecursionError:
        why = "is not valid JSON here (nested too deeply)"
    except ValueError as exc:  # JSONDecodeError, or an integer of too many digits
        why = f"is not valid JSON ({str(exc).splitlines()[0]})"
    else:
        if not isinstance(data, dict):
            why = f"holds {_json_type(data)} where a JSON object ({{...}}) belongs"
        elif _depth(data) > MAX_JSON_DEPTH:
            why = f"is nested more than {MAX_JSON_DEPTH} levels deep"
        else:
            return data
    raise error(f"{path} {why}; {todo}" if todo else f"{path} {why}")


def _json_type(value: object) -> str:
    names = {list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def _depth(data: object) -> int:
    """How deeply lists and objects nest in ``data`` (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest
