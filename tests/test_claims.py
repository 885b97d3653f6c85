"""The claim language: every form judged on reproduced values (and, beside, on the printed
ones), only on complete and stable cells; bad claims refused when the spec is read."""

from __future__ import annotations

import textwrap

import pytest

from repro.errors import NotRun, NotRunCode, SpecError
from repro.metrics.sampled import Sampled
from repro.tables.claim_verdicts import judge_claims
from repro.tables.compare import compare
from repro.tables.spec import load_spec, parse_spec

PSNR = "Flickr1024/psnr/pair_mean"
BASE = """\
id: probe
title: a probe table
paper: CAMixerSR
protocol: {version: 1, include: _protocols/classic_sr.yaml}
tolerance: {psnr: 0.02, params: "50%"}
columns:
  - {dataset: Set5, metric: psnr}
  - {dataset: Set14, metric: psnr}
  - {metric: params}
rows:
  - {id: a, model: bicubic, scale: 2, reported: [30.0, 28.0, 100]}
  - {id: b, model: bicubic, scale: 2, reported: [29.0, 27.5, 200]}
  - {id: c, model: bicubic, scale: 2, reported: [28.0, 27.9, 300]}
  - {id: other, model: null, scale: 2, reported: [31.0, 29.0, 50]}
claims:
"""
ALL = {("a", "Set5/psnr"): 30.0, ("b", "Set5/psnr"): 29.0, ("c", "Set5/psnr"): 28.0}
ALL |= {("a", "Set14/psnr"): 28.0, ("b", "Set14/psnr"): 27.5, ("c", "Set14/psnr"): 27.0}
ALL |= {("a", "-/params"): 100.0, ("b", "-/params"): 200.0, ("c", "-/params"): 300.0}


def _spec(tmp_path, claims: str):
    path = tmp_path / "probe.yaml"
    path.write_text(BASE + textwrap.indent(textwrap.dedent(claims), "  "), encoding="utf-8")
    return parse_spec(path)


def _judge(spec, measured, not_run=None, images=None):
    cells = compare(spec, measured, not_run or {}, images or {})
    return {c.id: c for c in judge_claims(spec.claims, cells)}


def test_the_nafssr_tlsc_claim_holds_fails_or_is_not_run_with_the_cells_reason():
    spec = load_spec("nafssr_flickr1024")
    pairs = [(f"nafssr-{v}-x{s}", f"nafssr-{v}-x{s}-no-tlsc") for s in (2, 4) for v in "tsbl"]
    measured = {(on, PSNR): 24.07 for on, _ in pairs} | {(off, PSNR): 24.01 for _, off in pairs}
    got = _judge(spec, measured)["tlsc-improves"]
    assert (got.status, got.held, got.needed) == ("HOLDS", 8, 8)
    assert got.paper is None  # the paper prints no TLSC-off numbers
    got = _judge(spec, measured | {("nafssr-b-x4", PSNR): 23.90})["tlsc-improves"]
    assert (got.status, got.held) == ("FAILS", 7)
    missing = NotRun(NotRunCode.MISSING_WEIGHTS, "no NAFSSR-B x4")
    del measured[("nafssr-b-x4", PSNR)]
    got = _judge(spec, measured, {("nafssr-b-x4", PSNR): missing})["tlsc-improves"]
    assert (got.status, got.code) == ("NOT-RUN", NotRunCode.MISSING_WEIGHTS)
    assert got.reason.endswith("no NAFSSR-B x4") and "NAFSSR-B x4" in got.reason


def test_an_order_claim_reads_each_metrics_direction(tmp_path):
    spec = _spec(
        tmp_path,
        """\
        - id: quality
          text: a beats b beats c
          where: here
          order: [a, b, c]
          columns: ["*/psnr"]
        - id: size
          text: a is smaller than b
          where: here
          order: [a, b]
          columns: [-/params]
        """,
    )
    got = _judge(spec, ALL)
    assert got["quality"].status == "HOLDS" and got["size"].status == "HOLDS"
    assert got["quality"].comparisons[1].value == pytest.approx(0.5)  # Set14: 0.5 then 0.5
    assert got["size"].comparisons[0].value == pytest.approx(100.0)  # fewer params is better
    # printed: Set14 27.5 < 27.9 breaks the order on the paper's own numbers
    assert got["quality"].paper == "FAILS" and got["quality"].comparisons[1].paper_holds is False
    got = _judge(spec, ALL | {("b", "Set14/psnr"): 28.5})
    assert (got["quality"].status, got["quality"].held) == ("FAILS", 1)


def test_a_tie_within_the_tolerance_holds_an_order(tmp_path):
    claim = """\
        - id: tie
          text: a not below b
          where: here
          order: [a, b]
          columns: [Set5/psnr]
          tolerance: 0.005
        """
    spec = _spec(tmp_path, claim)
    assert _judge(spec, ALL | {("b", "Set5/psnr"): 30.0})["tie"].status == "HOLDS"
    assert _judge(spec, ALL | {("b", "Set5/psnr"): 30.01})["tie"].status == "FAILS"
    strict = _spec(tmp_path, claim.replace("          tolerance: 0.005\n", ""))
    assert _judge(strict, ALL | {("b", "Set5/psnr"): 30.0})["tie"].status == "FAILS"


@pytest.mark.parametrize(
    "form, bounds, tolerance, value, status",
    [
        ("difference", "[0.9, 1.1]", 0, 1.0, "HOLDS"),  # 30 - 29
        ("difference", "[0.95, 0.95]", 0.05, 1.0, "HOLDS"),  # within the tolerance
        ("difference", "[null, 0.5]", 0, 1.0, "FAILS"),
        ("ratio", "[1.0, null]", 0, 30 / 29, "HOLDS"),
        ("ratio", "[null, 1.03]", 0, 30 / 29, "FAILS"),
        ("change", "[3.4, 3.5]", 0, 100 / 29, "HOLDS"),  # +3.45 %
        ("change", "[-61, -61]", 0.5, 100 / 29, "FAILS"),
    ],
)
def test_numeric_forms_against_a_range(tmp_path, form, bounds, tolerance, value, status):
    spec = _spec(
        tmp_path,
        f"""\
        - id: num
          text: a against b
          where: here
          {form}: [a, b]
          columns: [Set5/psnr]
          range: {bounds}
          tolerance: {tolerance}
        """,
    )
    got = _judge(spec, ALL)["num"]
    assert got.status == status and got.comparisons[0].value == pytest.approx(value)
    assert got.paper == status  # the printed numbers are the same here


def test_a_value_claim_over_columns_of_one_row_and_at_least_k_of_n(tmp_path):
    spec = _spec(
        tmp_path,
        """\
        - id: some
          text: b above 28 somewhere
          where: here
          value: [{column: Set5/psnr}]
          rows: [a, b, c]
          range: [29.5, null]
          at_least: 1
        - id: every
          text: every row above 28 on Set5
          where: here
          value: [{column: Set5/psnr}]
          rows: [a, b, c]
          range: [29.5, null]
        """,
    )
    got = _judge(spec, ALL)
    assert [len(got[k].comparisons) for k in ("some", "every")] == [3, 3]
    assert (got["some"].status, got["some"].held, got["some"].needed) == ("HOLDS", 1, 1)
    assert got["every"].status == "FAILS"


def test_a_claim_over_a_partial_or_missing_cell_is_never_judged(tmp_path):
    spec = _spec(
        tmp_path,
        """\
        - id: q
          text: a beats b
          where: here
          order: [a, b]
          columns: [Set5/psnr, Set14/psnr]
        """,
    )
    partial = _judge(spec, ALL, images={("a", "Set14/psnr"): (2, 14)})["q"]
    assert partial.status == "PARTIAL" and "2 of 14 images" in partial.reason
    assert partial.comparisons[1].value == pytest.approx(0.5)  # shown, not decided
    assert partial.comparisons[1].holds is None
    gone = dict(ALL)
    del gone[("b", "Set14/psnr")]
    why = NotRun(NotRunCode.MISSING_DATA, "no Set14 here")
    got = _judge(spec, gone, {("b", "Set14/psnr"): why}, {("a", "Set5/psnr"): (1, 5)})["q"]
    assert (got.status, got.code) == ("NOT-RUN", NotRunCode.MISSING_DATA)  # before PARTIAL
    assert got.reason.endswith("no Set14 here")


def test_another_methods_row_enters_only_with_printed_others(tmp_path):
    claim = """\
        - id: beats-other
          text: a beats the other method
          where: here
          order: [a, other]
          columns: [Set5/psnr]
        """
    got = _judge(_spec(tmp_path, claim), ALL)["beats-other"]
    assert (got.status, got.code) == ("NOT-RUN", NotRunCode.NOT_IMPLEMENTED)
    printed = _spec(tmp_path, claim.rstrip() + "\n          printed_others: true\n")
    got = _judge(printed, ALL)["beats-other"]
    assert got.status == "FAILS" and got.comparisons[0].value == pytest.approx(-1.0)  # 30 vs 31
    assert _judge(printed, ALL | {("a", "Set5/psnr"): 31.5})["beats-other"].status == "HOLDS"


def _timed(value: float, low: float, high: float) -> Sampled:
    return Sampled(value, 9, (low, high))


def test_a_timing_spread_across_the_bound_decides_nothing(tmp_path):
    spec = _spec(
        tmp_path,
        """\
        - id: gap
          text: a has at least 90 fewer than b
          where: here
          difference: [a, b]
          columns: [-/params]
          range: [null, -90]
        """,
    )
    clear = ALL | {("a", "-/params"): _timed(100.0, 95.0, 105.0)}  # a PASS cell (50 %)
    assert _judge(spec, clear)["gap"].status == "HOLDS"  # -105 .. -95, all below -90
    across = ALL | {("a", "-/params"): _timed(100.0, 80.0, 140.0)}  # still a PASS cell
    got = _judge(spec, across)["gap"]
    assert got.status == "PARTIAL" and "straddles" in got.reason
    assert got.comparisons[0].spread == pytest.approx([-120.0, -60.0])
    unstable = ALL | {("a", "-/params"): _timed(100.0, 40.0, 170.0)}  # wider than the band
    got = _judge(spec, unstable)["gap"]
    assert got.status == "PARTIAL" and "is UNSTABLE" in got.reason


def test_a_claim_with_a_status_is_not_run_with_its_reason(tmp_path):
    spec = _spec(
        tmp_path,
        """\
        - id: trained
          text: regularization helps
          where: poster
          status: TRAINING-ONLY
          reason: needs models trained both ways
        """,
    )
    got = _judge(spec, ALL)["trained"]
    assert (got.status, got.code, got.reason) == (
        "NOT-RUN",
        NotRunCode.TRAINING_ONLY,
        "needs models trained both ways",
    )
    assert got.to_dict()["code"] == "TRAINING-ONLY"


_GOOD = {"id": "bad", "text": "x", "where": "y", "order": "[a, b]", "columns": "[Set5/psnr]"}


@pytest.mark.parametrize(
    "edit, says",
    [
        ({"order": "[a, zz]"}, "unknown row 'zz'"),
        ({"columns": "[Set9/psnr]"}, "unknown column 'Set9/psnr'"),
        ({"columns": "['*/ssim']"}, "no column matches '*/ssim'"),
        ({"ratio": "[a, b]", "range": "[1, 2]"}, "give one form"),
        ({"order": None}, "give one form"),
        ({"status": "TRAINING-ONLY"}, "'status' and 'reason'"),
        ({"status": "TRAINING-ONLY", "reason": "r"}, "a claim with a status is not tested"),
        ({"order": "[a]"}, "at least 2 operand(s) for 'order'"),
        ({"order": None, "ratio": "[a, b, c]", "range": "[1, 2]"}, "2 operand(s) for 'ratio'"),
        (
            {"order": "[{row: a, column: Set5/psnr}, {row: b, column: -/params}]", "columns": None},
            "share a metric",
        ),
        ({"order": "[a, a]"}, "with itself"),
        ({"order": None, "ratio": "[a, b]"}, "key 'claims[bad].range' must be"),
        ({"order": None, "ratio": "[a, b]", "range": "[2, 1]"}, "low <= high"),
        ({"order": None, "ratio": "[a, b]", "range": "[null, null]"}, "not both null"),
        ({"range": "[1, 2]"}, "an 'order' claim has no range"),
        ({"at_least": "2"}, "2 of 1 comparisons cannot hold"),
        ({"order": "[a, {column: Set5/psnr}]"}, "not both"),
        ({"columns": None}, "claims[bad].columns' is missing"),
        (
            {"order": "[{row: a, column: Set5/psnr}, {row: b, column: Set5/psnr}]"},
            "every operand names its own",
        ),
        ({"tolerance": "-1"}, "a number >= 0"),
        ({"order": "[a, 3]"}, "a row id, or a mapping"),
        ({"where": None}, "'claims[bad].where' is missing"),
        ({"better": "a"}, "unknown key 'claims[bad].better'"),
    ],
)
def test_a_bad_claim_is_one_line_naming_the_file_and_key(tmp_path, edit, says):
    fields = {k: v for k, v in ({**_GOOD, **edit}).items() if v is not None}
    claim = "- " + "\n  ".join(f"{k}: {v}" for k, v in fields.items()) + "\n"
    with pytest.raises(SpecError) as info:
        _spec(tmp_path, claim)
    message = str(info.value)
    assert "\n" not in message and message.startswith("table spec ")
    assert "probe.yaml" in message and says in message, message


def test_claim_ids_are_unique(tmp_path):
    claim = "- {id: twice, text: x, where: y, order: [a, b], columns: [Set5/psnr]}\n"
    with pytest.raises(SpecError, match="claim id 'twice' appears twice"):
        _spec(tmp_path, claim * 2)


def test_a_ratio_to_zero_is_not_judged(tmp_path):
    spec = _spec(
        tmp_path,
        """\
        - id: per
          text: a over b
          where: here
          ratio: [a, b]
          columns: [-/params]
          range: [0, 1]
        """,
    )
    got = _judge(spec, ALL | {("b", "-/params"): 0.0})["per"]
    assert (got.status, got.code) == ("NOT-RUN", NotRunCode.NOT_IMPLEMENTED)
    assert "is 0" in got.reason and got.paper == "HOLDS"  # printed 100 / 200
