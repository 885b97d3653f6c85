"""The `repro` command (issue #21): a console script, and one spelling, `repro ...`, in every
help text, example, message, the README and the example workflow."""

from __future__ import annotations

import argparse

from repro.cli.parser import build_parser
from repro.paths import PACKAGE_ROOT, REPO_ROOT

OTHER_SPELLING = "python -m repro"
# the two places that say the old spelling is an alias of the new one
ALIAS_NOTES = {PACKAGE_ROOT / "cli" / "__init__.py", PACKAGE_ROOT / "table.py"}


def _helps(parser: argparse.ArgumentParser):
    yield parser.prog, parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _helps(sub)


def test_the_package_installs_a_repro_command():
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")  # (no tomllib on 3.10)
    assert '[project.scripts]\nrepro = "repro.cli:main"\n' in text


def test_every_help_text_spells_the_command_repro():
    helps = dict(_helps(build_parser()))
    assert {"repro", "repro table", "repro card new", "repro explain"} <= set(helps)
    for prog, text in helps.items():
        assert prog.startswith("repro")
        assert OTHER_SPELLING not in text, prog
        assert "examples:\n  repro " in text or prog in ("repro card",), prog


def test_no_message_of_the_package_uses_the_other_spelling():
    found = [
        f"{path.relative_to(REPO_ROOT)}:{n}"
        for path in sorted(PACKAGE_ROOT.rglob("*.py"))
        if path not in ALIAS_NOTES
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OTHER_SPELLING in line or "-m repro.table" in line
    ]
    assert not found


def test_the_docs_and_the_workflow_use_one_spelling():
    for doc in ("README.md", "datasets/README.md", "repro/tables/README.md",
                ".github/workflows/reproduce.yml"):  # fmt: skip
        text = (REPO_ROOT / doc).read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if OTHER_SPELLING in ln or "-m repro." in ln]
        if doc == "README.md":  # the sentence that names the alias, and nothing else
            assert lines == [
                "The install puts one command on your path, `repro` (`repro --help`; "
                "`python -m repro` is the",
                "same, and `python -m repro.table <id>` is `repro table <id>`).",
            ]
        else:
            assert not lines, doc
