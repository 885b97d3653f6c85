"""Hand-edited JSON of any shape is one line and a non-zero exit, never a traceback.

The files: the weights lock, and a table's saved result set (manifest, cells, provenance). Each
hostile file is consistent with the rest (a saved set's manifest lists its edited file's new
sha256), so it is the JSON's shape, not a mismatch, that the reader must refuse. The saved set
is the repository's committed ``bicubic_classic`` result, copied into a temporary results
folder.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from repro.checksums import sha256_file
from repro.cli import main
from repro.errors import WeightsError
from repro.files import read_json_object
from repro.paths import REPO_ROOT
from repro.weights.lock import lock_path
from repro.workspace import current
from tests.conftest import SHARED

DEEP = "[" * 100_000 + "]" * 100_000  # past the parser's recursion limit
NESTED = '{"a": ' + "[" * 500 + "]" * 500 + "}"  # parses, but past what readers expect
HOSTILE = {
    "deep": DEEP,
    "nested": NESTED,
    "null": "null",
    "list": "[1, 2]",
    "string": '"entries"',
    "number": "12",
    "truncated": '{"entries": {"a": {"sha256": "',
    "empty": "",
    "huge-int": '{"n": ' + "1" * 5000 + "}",
}


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


# ----------------------------------------------------------------------------- the reader


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_reader_refuses_every_shape_but_an_object_in_one_line(tmp_path, text):
    path = tmp_path / "edited.json"
    path.write_text(text)
    with pytest.raises(WeightsError) as info:
        read_json_object(path, WeightsError, "repair or delete it")
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and msg.endswith("; repair or delete it")


def test_the_reader_names_bytes_that_are_not_text_and_a_missing_file(tmp_path):
    path = tmp_path / "edited.json"
    path.write_bytes(b'{"a": "\xff\xfe"}')
    with pytest.raises(WeightsError, match="not UTF-8"):
        read_json_object(path, WeightsError)
    with pytest.raises(WeightsError, match="cannot be read"):
        read_json_object(tmp_path / "absent.json", WeightsError)


def test_the_reader_returns_an_object_as_it_is(tmp_path):
    path = tmp_path / "ok.json"
    doc = {"entries": {"x": {"sha256": "a" * 64}}, "list": [[1, [2, {"b": None}]]]}
    path.write_text(json.dumps(doc))
    assert read_json_object(path, WeightsError) == doc


# ----------------------------------------------------------------------------- the weights lock


GOOD = "49ffcfbb59583b4512ed7f4290b6f480b4bac50afb3d1db1553687bbdeff3076"
LOCKS = {
    **HOSTILE,
    "entries-null": '{"entries": null}',
    "record-null": '{"entries": {"camixersr-s-x4": null}}',
    "sha256-null": '{"entries": {"camixersr-s-x4": {"sha256": null}}}',
    "sha256-not-hex": '{"entries": {"camixersr-s-x4": {"sha256": "yes"}}}',
    "converted-null": json.dumps(
        {"entries": {"camixersr-s-x4": {"sha256": GOOD, "converted_sha256": None}}}
    ),
    "recorded-null": json.dumps({"entries": {"camixersr-s-x4": {"sha256": GOOD, "date": None}}}),
    "source-list": json.dumps({"entries": {"camixersr-s-x4": {"sha256": GOOD, "source": []}}}),
}


@pytest.mark.parametrize("text", LOCKS.values(), ids=LOCKS.keys())
def test_a_hand_edited_weights_lock_is_one_line_through_the_cli(
    tmp_path, monkeypatch, capsys, text
):
    monkeypatch.setenv("REPRO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REPRO_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("REPRO_SHARED", str(SHARED))
    lock_path().parent.mkdir(parents=True)
    lock_path().write_text(text)
    err = one_line_error(capsys, ["pull", "camixersr-s-x4"])
    assert str(lock_path()) in err and "weights lock" in err and "delete it" in err


# ----------------------------------------------------------------------------- saved results


TABLE = "bicubic_classic"


@pytest.fixture
def saved():
    """The committed result files of TABLE in the temporary results folder, with a manifest of
    them alone; ``edit(suffix, text)`` replaces one file and fixes the manifest to match."""
    folder = current().results
    folder.mkdir(parents=True)
    suffixes = (".cells.json", ".provenance.json", ".csv")
    for suffix in suffixes:
        shutil.copyfile(REPO_ROOT / "results" / f"{TABLE}{suffix}", folder / f"{TABLE}{suffix}")
    manifest = folder / f"{TABLE}.manifest.json"

    def write_manifest() -> None:
        files = {f"results:{TABLE}{s}": sha256_file(folder / f"{TABLE}{s}") for s in suffixes}
        meta = json.loads((REPO_ROOT / "results" / f"{TABLE}.manifest.json").read_text())
        manifest.write_text(json.dumps({**meta, "files": files}))

    def edit(suffix: str, text: str) -> None:
        (folder / f"{TABLE}{suffix}").write_text(text)
        if suffix != ".manifest.json":
            write_manifest()

    write_manifest()
    return edit


def test_the_saved_set_as_committed_is_read(saved, capsys):
    from repro.tables.run import recompare
    from repro.tables.spec import load_spec

    result = recompare(load_spec(TABLE))
    assert result.cells and all(c.status != "NOT-RUN" for c in result.cells[:5])


SAVED = {
    **{f"manifest-{k}": (".manifest.json", v) for k, v in HOSTILE.items()},
    **{f"cells-{k}": (".cells.json", v) for k, v in HOSTILE.items()},
    **{f"provenance-{k}": (".provenance.json", v) for k, v in HOSTILE.items()},
    "manifest-files-null": (".manifest.json", '{"files": null}'),
    "cells-list-null": (".cells.json", '{"protocol_version": 1, "cells": null}'),
    "cells-null-cell": (".cells.json", '{"protocol_version": 1, "cells": [null]}'),
    "cells-cell-list": (".cells.json", '{"protocol_version": 1, "cells": [[1]]}'),
    "cells-one-null": (  # one good cell, then null: every cell must be an object
        ".cells.json",
        '{"protocol_version": 1, "cells": [{"row": "bicubic-x2", "dataset": "Set5",'
        ' "metric": "psnr", "variant": null, "reproduced": 1.0, "status": "PASS"}, null]}',
    ),
    "cells-row-list": (
        ".cells.json",
        '{"protocol_version": 1, "cells": [{"row": [], "dataset": "Set5", "metric": "psnr",'
        ' "variant": null, "reproduced": 1.0, "status": "PASS"}]}',
    ),
}


@pytest.mark.parametrize(("suffix", "text"), SAVED.values(), ids=SAVED.keys())
def test_a_hand_edited_saved_set_is_one_line_through_the_cli(saved, capsys, suffix, text):
    saved(suffix, text)
    err = one_line_error(capsys, ["report", TABLE])
    assert f"repro table {TABLE}" in err  # what to do


@pytest.mark.parametrize(("suffix", "text"), SAVED.values(), ids=SAVED.keys())
def test_a_hand_edited_saved_set_is_no_reason_to_keep_it_and_the_index_says_so(saved, suffix, text):
    """A full rerun may replace a saved set that does not parse; the index is still written."""
    from repro.report.writer import write_index
    from repro.tables.run import TableResult
    from repro.tables.saved import loses_saved_cells
    from repro.tables.spec import load_spec

    saved(suffix, text)
    assert loses_saved_cells(TableResult(load_spec(TABLE), pd.DataFrame(), [])) == ""
    index = open(write_index(current()), encoding="utf-8").read()
    assert f"| `{TABLE}` |" in index
