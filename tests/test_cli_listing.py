"""What the plain CLI prints: `ls` as aligned columns under a header (its --json unchanged),
help texts without docstring markup, `score` errors in its own words."""

from __future__ import annotations

import json

import pytest

from repro.cli import main
from repro.cli.commands import LS_COLUMNS
from repro.cli.parser import build_parser
from tests.conftest import DATA


def _run(capsys, *args) -> tuple[int, str, str]:
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("what", ["tables", "datasets", "models", "metrics"])
def test_ls_prints_a_header_and_aligned_columns(what, capsys):
    rc, out, _ = _run(capsys, "ls", what)
    assert rc == 0
    header, *lines = out.splitlines()
    columns = LS_COLUMNS[what]
    assert header.split() == columns
    _, text, _ = _run(capsys, "ls", what, "--json")
    items = json.loads(text)
    assert [line.split()[0] for line in lines] == [i["id"] for i in items]
    # every column starts where its header does, on every line
    starts = [header.index(c) for c in columns]
    for line, item in zip(lines, items, strict=True):
        for start, column in zip(starts[1:], columns[1:], strict=True):
            assert line[start - 2 : start] == "  " and line[start] != " ", (line, column)
        value = item[columns[1]]
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        assert line[starts[1] :].startswith(shown or "-")


def test_ls_json_keeps_its_keys(capsys):
    _, text, _ = _run(capsys, "ls", "models", "--json")
    bicubic = next(m for m in json.loads(text) if m["id"] == "bicubic")
    assert list(bicubic) == ["id", "scales", "settings", "weights", "origin", "description"]
    assert bicubic["weights"] == [] and 4 in bicubic["scales"]


def _helps(parser):
    """Every parser and subparser, with its help text."""
    import argparse

    yield parser.prog, parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _helps(sub)


def test_no_help_shows_docstring_markup():
    helps = dict(_helps(build_parser()))
    assert "repro card new" in helps and "repro eval" in helps
    for prog, text in helps.items():
        assert "``" not in text and ":mod:" not in text and ":func:" not in text, prog


def test_score_says_in_its_own_words_that_sizes_differ(capsys):
    hr = DATA / "Set5" / "HR" / "baby.png"
    lr = DATA / "Set5" / "LR_bicubic" / "X4" / "babyx4.png"
    rc, _, err = _run(capsys, "score", "psnr", "--ref", str(hr), "--dist", str(lr))
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "babyx4.png is 128x128 but" in err and "baby.png is 512x512" in err
    assert "psnr compares images of one size" in err
    assert "model output" not in err and "HR size" not in err
