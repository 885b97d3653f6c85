"""repro/tables/README.md documents exactly the spec keys the code reads (as the cards README)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from repro.tables import claims, protocol, sources, spec

README = Path(spec.__file__).with_name("README.md").read_text(encoding="utf-8")


def _table_keys(heading: str) -> set[str]:
    """The backticked keys of the first column of the first table after ``heading``."""
    section = README.split(f"\n{heading}\n", 1)[1]
    table = section.split("\n| key |", 1)[1].split("\n\n", 1)[0]
    keys: set[str] = set()
    for line in table.splitlines()[2:]:
        first = line.split("|")[1]
        keys |= set(re.findall(r"`([a-z_0-9]+)`", first))
    return keys


def test_the_example_spec_shows_every_key_of_a_spec_row_column_and_source():
    example = yaml.safe_load(README.split("```yaml\n", 1)[1].split("```", 1)[0])
    assert set(example) == set(spec._TOP_KEYS)
    assert set(example["source"]) == set(spec._SOURCE_KEYS)
    assert {k for c in example["columns"] for k in c} == set(spec._COLUMN_KEYS)
    assert {k for r in example["rows"] for k in r} == set(spec._ROW_KEYS)
    assert {k for c in example["claims"] for k in c} <= set(claims.CLAIM_KEYS)
    row_sources = [s for r in example["rows"] for s in (r.get("source") or [])]
    assert {k for s in row_sources for k in s} == set(sources.SOURCE_KEYS)


def test_the_claims_table_lists_exactly_the_claim_keys():
    assert _table_keys("## Claims") == set(claims.CLAIM_KEYS)
    assert set(claims.FORMS) <= _table_keys("## Claims")


def test_the_sources_table_lists_exactly_the_source_keys_and_kinds():
    assert _table_keys("## Sources") == set(sources.SOURCE_KEYS)
    kinds_row = next(line for line in README.splitlines() if line.startswith("| `kind` |"))
    listed = set(re.findall(r"`([a-z-]+)`", kinds_row.split("|")[2]))
    assert listed == set(sources.KINDS)


def test_the_protocol_and_latency_tables_list_exactly_their_keys():
    assert _table_keys("## Protocol") == set(protocol.PROTOCOL_KEYS) | {"version", "include"}
    assert _table_keys("### Latency and memory") == set(protocol.LATENCY_KEYS) - {"input"}
