"""The claims the shipped specs state: quoted word for word from their seed, placed, and marked
'contradicted' exactly where the paper's own printed numbers fail their test."""

from __future__ import annotations

import re

import pytest

from repro.paths import shared_root
from repro.tables.claim_verdicts import judge_claims
from repro.tables.compare import compare
from repro.tables.spec import load_spec, table_ids

SEEDS = {"000": "000_0ee2b69ddce39b06.txt", "001": "001_1de6642b683894fd.txt"}
SEEDS["002"] = "002_7114223b98fca627.txt"
CLAIMS = [(t, c) for t in table_ids() for c in load_spec(t).claims]
# the seed text's LaTeX (OCR) spellings of what the quotes write as characters
_LATEX = {r"\gamma": "γ", r"\times": "×", r"\ell": "ℓ", r"\_": "_", r"^{\circ}": "°"}


def _plain(text: str) -> str:
    """Letters and digits only, lower case, LaTeX symbols as characters: a quote matches the
    seed across its line breaks, hyphenations and markup."""
    for latex, char in _LATEX.items():
        text = text.replace(latex, char)
    return re.sub(r"[^0-9a-zγ×ℓ°%]", "", text.lower())


@pytest.fixture(scope="module")
def seeds() -> dict[str, str]:
    folder = shared_root() / "seeds"
    if not folder.is_dir():
        pytest.skip(f"no seeds at {folder}")
    return {k: _plain((folder / name).read_text(encoding="utf-8")) for k, name in SEEDS.items()}


def test_the_seeds_are_stated_by_tested_and_untestable_claims():
    assert len(CLAIMS) >= 50
    tested = [c for _, c in CLAIMS if c.form]
    assert len(tested) >= 30 and len(CLAIMS) - len(tested) >= 15
    assert {c.form for c in tested} == {"order", "difference", "ratio", "change", "value"}


@pytest.mark.parametrize("table, claim", CLAIMS, ids=[f"{t}:{c.id}" for t, c in CLAIMS])
def test_each_claim_quotes_its_seed_word_for_word(seeds, table, claim):
    where = re.match(r"seed (\d{3})", claim.where)
    assert where, f"{table}:{claim.id}: 'where' must name its seed, got {claim.where!r}"
    for fragment in claim.text.split("..."):  # '...' joins the parts a figure caption cuts
        assert _plain(fragment) in seeds[where.group(1)], (table, claim.id, fragment)


@pytest.mark.parametrize("table", table_ids())
def test_contradicted_marks_exactly_the_claims_the_papers_numbers_fail(table):
    spec = load_spec(table)
    cells = compare(spec, {}, {}, {})  # nothing reproduced: the paper's side alone
    for claim, got in zip(spec.claims, judge_claims(spec.claims, cells), strict=True):
        if claim.form is None:
            assert got.paper is None  # an untestable claim is checked by hand
            continue
        assert (got.paper == "FAILS") == bool(claim.contradicted), (claim.id, got.paper)
