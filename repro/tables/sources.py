"""Where a spec's numbers come from, when not from the spec's own source table.

A column's ``source`` covers its every row; a row's ``source`` (one entry or a list) covers its
every column, or the ``columns`` an entry names. The most specific entry wins: a row entry
naming the column, then the column's, then the row's general one; a cell none covers comes
from the spec's ``source`` (the seed table, figure or citation). Reports list them beside the
table.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.data.fields import Fields, is_text, join

KINDS = {
    "seed": "the seed's text",
    "paper": "a paper's table",
    "figure": "a table published as an image, read by eye",
    "docs": "a repository's documentation at a commit",
    "third-party": "someone else's transcription, not checked against the paper",
    "derived": "computed from the paper's printed numbers",
    "computed": "computed here from the official code; the paper prints a rounded number",
}
SOURCE_KEYS = ("kind", "ref", "columns", "caveat")


@dataclass(frozen=True)
class NumberSource:
    kind: str  # one of KINDS
    ref: str  # what and where: repository, file and commit; paper and table; figure file
    columns: tuple[str, ...] = ()  # a row's entry: the column keys it covers (all when empty)
    caveat: str | None = None  # what a reader must know (e.g. 'not in the official docs')

    @property
    def text(self) -> str:
        """As a report prints it: 'docs: NAFNet docs/StereoSR.md @ 2b4af71'."""
        return f"{self.kind}: {self.ref}" + (f" ({self.caveat})" if self.caveat else "")


def parse_source(
    f: Fields, raw: object, where: str, column_keys: list[str] | None
) -> tuple[NumberSource, ...]:
    """A ``source`` value: one mapping or (rows only: ``column_keys`` given) a list of them."""
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) and column_keys is not None else [raw]
    out = []
    for i, item in enumerate(items):
        w = join(where, i) if items is raw else where
        keys = SOURCE_KEYS if column_keys is not None else SOURCE_KEYS[:2] + SOURCE_KEYS[3:]
        block = f.block(item, w, keys, ("kind", "ref"))
        kind = f.get(block, w, "kind", lambda v: v in KINDS, "one of " + ", ".join(KINDS))
        columns = f.items(block, w, "columns", is_text, "a column key")
        for key in columns:
            if key not in column_keys:
                raise f.error(f"key '{join(w, 'columns')}': unknown column '{key}'")
        out.append(
            NumberSource(
                kind,
                f.get(block, w, "ref", is_text, "text"),
                columns,
                f.get(block, w, "caveat", is_text, "text"),
            )
        )
    if sum(not s.columns for s in out) > 1:
        raise f.error(f"key '{where}': more than one entry covers every column")
    return tuple(out)


def cell_source(
    row: tuple[NumberSource, ...], column: tuple[NumberSource, ...], key: str
) -> NumberSource | None:
    """The source of one cell: the row's entry naming the column, the column's, the row's."""
    named = next((s for s in row if key in s.columns), None)
    general = next((s for s in row if not s.columns), None)
    return named or (column[0] if column else None) or general
