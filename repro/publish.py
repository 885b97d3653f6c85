"""Publish one table run: its result files and report appear together or not at all.

A run writes everything (``<id>.csv``, ``<id>.cells.json``, ``<id>.provenance.json``,
``reports/<id>.md`` and its plots) into staging folders of its workspace
(:mod:`repro.workspace`) first, moves the files into place, then writes
``results/<id>.manifest.json`` last, listing the sha256 of every file of the set. Readers (the
index, ``repro report <id>``) trust a set only when the manifest matches, so a run killed half
way through publishing is seen as incomplete, never mixed with the old set. Publishing holds a
per-table lock (``locks/``): two runs of one table serialise instead of interleaving.

Partial runs (``--limit``, ``--datasets``) publish to ``results/partial/`` and
``reports/partial/``: beside the complete run, never over it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from repro.checksums import sha256_file
from repro.errors import BusyError, ReproError
from repro.files import atomic_write_text, default_mode, read_json_object
from repro.workspace import Workspace, current

PARTIAL_DIR = "partial"
LOCK_WAIT_S = 600.0  # a publish takes seconds; a lock held longer belongs to a stuck run


@dataclass(frozen=True)
class Destination:
    """Where a table's result set lives: the complete run, or its partial (test) runs."""

    table: str
    partial: bool = False
    workspace: Workspace = field(default_factory=current)

    @property
    def results(self) -> Path:
        folder = self.workspace.results
        return folder / PARTIAL_DIR if self.partial else folder

    @property
    def reports(self) -> Path:
        folder = self.workspace.reports
        return folder / PARTIAL_DIR if self.partial else folder

    @property
    def manifest(self) -> Path:
        return self.results / f"{self.table}.manifest.json"

    def file(self, suffix: str) -> Path:
        return self.results / f"{self.table}{suffix}"


class SavedResultsError(ReproError):
    """Saved results that are half written or unreadable; ``problem`` says what, in short."""

    def __init__(self, table: str, problem: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}; rerun: repro table {table}")


class NoSavedResultsError(SavedResultsError):
    """No results were ever saved for the table."""


def check_writable(dest: Destination) -> None:
    """Fail before a run, not after it: the folders the set goes to must take a file.

    Nothing is created: the nearest existing folder of each target takes a probe file.
    """
    ws = dest.workspace
    for folder in (dest.results, dest.reports, ws.row_cache, ws.sr_cache, ws.locks):
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(existing))
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".probe-"):
            pass


@contextlib.contextmanager
def table_lock(dest: Destination, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold ``locks/<id>.lock`` of the workspace: one publisher per table set at a time."""
    folder = dest.workspace.locks
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dest.table}{'.partial' if dest.partial else ''}.lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BusyError(
                        f"another run of {dest.table} has been publishing for over "
                        f"{wait_s:.0f} s (lock {path}); wait for it, or end that process"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(
    dest: Destination,
    results: dict[str, str],
    render_report: Callable[[Path], list[Path]],
    meta: dict,
) -> dict[str, str]:
    """Write one result set atomically (see the module docstring); return the final paths.

    ``results`` maps a suffix (``.csv``, ``.cells.json``, ...) to the file's text;
    ``render_report(folder)`` writes the report and its plots into ``folder`` and returns their
    paths. ``meta`` goes into the manifest (table, protocol version, code hash, partial).
    """
    with table_lock(dest):
        dest.results.mkdir(parents=True, exist_ok=True)
        dest.reports.mkdir(parents=True, exist_ok=True)
        _sweep_staging(dest)
        prefix = f".staging-{dest.table}-"
        stage_results = Path(tempfile.mkdtemp(dir=dest.results, prefix=prefix))
        stage_reports = Path(tempfile.mkdtemp(dir=dest.reports, prefix=prefix))
        try:
            for suffix, text in results.items():
                atomic_write_text(stage_results / f"{dest.table}{suffix}", text)
            report_files = render_report(stage_reports)
            staged = [f"results:{p.name}" for p in sorted(stage_results.iterdir())]
            staged += [f"reports:{Path(p).name}" for p in report_files]
            files = {k: sha256_file(_path(dest, k, stage_results, stage_reports)) for k in staged}
            old = _read_manifest(dest)
            for key in staged:  # a folder in the way fails the run before anything moves
                target = _path(dest, key)
                if target.exists() and not target.is_file():
                    raise ReproError(
                        f"cannot publish {dest.table}: {target} is in the way (not a file); "
                        "move it away and rerun"
                    )
            for key in staged:  # every file of the set is complete before any move
                src = _path(dest, key, stage_results, stage_reports)
                os.chmod(src, default_mode())
                os.replace(src, _path(dest, key))
            for stale in set(_valid_keys(old.get("files"))) - set(files):
                with contextlib.suppress(FileNotFoundError):
                    _path(dest, stale).unlink()  # a plot the new run no longer draws
            manifest = {**meta, "partial": dest.partial, "files": files}
            atomic_write_text(dest.manifest, json.dumps(manifest, indent=1, sort_keys=True))
        finally:
            shutil.rmtree(stage_results, ignore_errors=True)
            shutil.rmtree(stage_reports, ignore_errors=True)
    return {name: str(_path(dest, name)) for name in files}


def _sweep_staging(dest: Destination) -> None:
    """Remove this table's staging folders left by a run killed while publishing. Called under
    the table's lock, so no live run is using one; other tables' folders (named by their id,
    which has no '-') are theirs to sweep."""
    for folder in (dest.results, dest.reports):
        for path in folder.glob(f".staging-{dest.table}-*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


def _path(
    dest: Destination, key: str, results: Path | None = None, reports: Path | None = None
) -> Path:
    """A manifest key (``results:<file>`` or ``reports:<file>``) as a path, by default the
    published one; ``results``/``reports`` point it into staging folders instead."""
    kind, name = key.split(":", 1)
    if kind == "reports":
        return (reports or dest.reports) / name
    return (results or dest.results) / name


def _valid_keys(files) -> list[str]:
    """Manifest keys naming a plain file of the set: ``results:<name>``, ``reports:<name>``."""
    if not isinstance(files, dict):
        return []
    return [
        k
        for k in files
        if isinstance(k, str)
        and k.partition(":")[0] in ("results", "reports")
        and k.partition(":")[2] not in ("", ".", "..")
        and "/" not in k.partition(":")[2]
        and "\\" not in k
    ]


def _read_manifest(dest: Destination) -> dict:
    try:
        return read_json_object(dest.manifest, ReproError)
    except ReproError:
        return {}


def load_saved(dest: Destination) -> dict:
    """The saved cells and provenance of a table, checked against its manifest.

    Raises :class:`SavedResultsError` (one line, what to do) when the set is absent, was cut
    short while being written, or does not parse.
    """
    if not dest.manifest.is_file():
        if dest.file(".cells.json").is_file():
            raise SavedResultsError(
                dest.table,
                f"results of {dest.table} in {dest.results} have no manifest (written by an "
                "older version, or a run was cut short)",
            )
        raise NoSavedResultsError(
            dest.table, f"no saved results for {dest.table} in {dest.results}"
        )
    manifest = _read_manifest(dest)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files or len(_valid_keys(files)) != len(files):
        raise SavedResultsError(dest.table, f"{dest.manifest} is malformed")
    for name, digest in files.items():
        path = _path(dest, name)
        if not path.is_file() or sha256_file(path) != digest:
            raise SavedResultsError(
                dest.table,
                f"results of {dest.table} are incomplete or altered ({path.name} does not match "
                "its manifest: a run was interrupted while publishing, or the file was edited)",
            )
    unreadable = partial(SavedResultsError, dest.table)  # hand-edited JSON of any shape
    cells = read_json_object(dest.file(".cells.json"), unreadable)
    provenance = read_json_object(dest.file(".provenance.json"), unreadable)
    if not isinstance(cells.get("cells"), list) or not all(
        isinstance(c, dict) for c in cells["cells"]
    ):
        raise SavedResultsError(
            dest.table, f"results of {dest.table} do not parse (cells: not a list of objects)"
        )
    return {"manifest": manifest, "cells": cells, "provenance": provenance}
