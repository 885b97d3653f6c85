"""The subcommands of ``repro``: each parses nothing and decides nothing itself; it resolves the
run context (:func:`repro.tables.context.prepare`), calls the library and prints. Heavy modules
are imported inside a command, so ``--help`` and ``ls tables`` stay fast."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

from repro.cli.compare_images import cmd_compare_images
from repro.cli.evaluate import cmd_eval, cmd_score
from repro.cli.explain import cmd_explain
from repro.cli.fetch import cmd_fetch, cmd_verify
from repro.cli.get import cmd_get
from repro.cli.options import summary_target
from repro.cli.output import clean, print_columns, print_json
from repro.cli.own_images import cmd_card
from repro.errors import ReproError
from repro.workspace import current


def cmd_ls(args) -> int:
    if args.what == "tables":
        from repro.tables.spec import load_spec, table_ids

        items = [
            {"id": t, "title": load_spec(t).title, "paper": load_spec(t).paper} for t in table_ids()
        ]
    elif args.what == "datasets":
        from repro.data.cards import all_cards

        items = [
            {"id": c.name, "task": c.task, "scales": list(c.scales), "source": c.source_hint()}
            for c in all_cards().values()
        ]
    elif args.what == "models":
        from repro.models.registry import listing

        items = listing()
    else:
        from repro.metrics.registry import listing as metric_listing

        items = metric_listing()
    if args.json:
        print_json(items)
        return 0
    print_columns(items, LS_COLUMNS[args.what])
    return 0


# the text columns of `ls`, long texts last (--json keeps every key, in its own order)
LS_COLUMNS = {
    "tables": ["id", "paper", "title"],
    "datasets": ["id", "task", "scales", "source"],
    "models": ["id", "scales", "settings", "weights", "origin", "description"],
    "metrics": ["id", "kind", "direction", "origin", "description"],
}


def cmd_validate(args) -> int:
    from repro.tables.validate import validate

    report = validate(args.table, data_root=args.data_root)
    if args.json:
        print_json(report)
    else:
        print(
            f"{report['table']}: spec OK (protocol v{report['protocol_version']}, "
            f"{report['rows']} rows x {report['columns']} columns)"
        )
        for line in report["missing"]:  # one line per thing to get, with the rows it holds
            print(f"  missing: {line}")
        if report["missing"]:
            print(f"  get them all: repro get {report['table']} (the plan; --yes fetches it)")
        for line in report["ready"]:
            print(f"  ready:   {line}")
    return 0


def cmd_table(args) -> int:
    from repro.report.summary import error_summary, parse_fail_on, write_summary

    summary_md = summary_target(args.summary_md)  # flags refused before anything runs
    fail_on = parse_fail_on(args.fail_on)
    try:
        return _table(args, summary_md, fail_on)
    except ReproError as exc:  # the CI summary says why the job failed, then the CLI does
        if summary_md:
            write_summary(summary_md, error_summary(args.table, str(exc)))
        raise


def _table(args, summary_md: Path | None, fail_on: frozenset[str]) -> int:
    from repro.cli.table_output import print_cells
    from repro.eval import distributed
    from repro.publish import check_writable
    from repro.report.coverage import coverage
    from repro.report.writer import publish_result
    from repro.tables.context import prepare
    from repro.tables.run import run
    from repro.tables.saved import cells_document, loses_saved_cells

    ctx = prepare(  # spec checked, device resolved, datasets checked: before anything runs
        args.table,
        workspace=current(),
        device=args.device,
        datasets=args.datasets,
        limit=args.limit,
        data_root=args.data_root,
        use_cache=not args.no_cache,
        progress=not (args.json or args.quiet),
        seed=args.seed,
        summary_md=summary_md,
        fail_on=fail_on,
        save_sr=args.save_sr,
    )
    args.log.watch(ctx)  # its settings and warnings go to the run log
    check_writable(ctx.destination)
    result = run(ctx)
    if not distributed.is_main():
        return 0
    kept_back = loses_saved_cells(result)
    if kept_back:
        result.partial = True  # published beside the saved run, never over it
    paths = publish_result(result, extra_sections=gap_sections(ctx, result))
    args.log.files = sorted(paths)
    if args.json:
        cov = asdict(coverage(result.cells))
        print_json(clean({**cells_document(result), "coverage": cov, "files": paths}))
    else:
        print_cells(result, paths, show_all=args.all, quiet=args.quiet)
    _write_summary(ctx.summary_md, result, paths)
    if kept_back:
        print(f"error: {kept_back}", file=sys.stderr)
        args.log.error = kept_back
        return 2
    return _fail_on_status(result, ctx.fail_on)


def gap_sections(ctx, result) -> list[str]:
    """The report's "Explaining the gaps" section: every FAIL/IMPROVED image cell re-scored
    under the protocol variants papers mix up, on the run's own datasets and models (cached SR
    outputs keep it cheap)."""
    from repro.tables.explain_text import gaps_markdown

    gaps = gaps_markdown(ctx, result.cells, level=3)
    return [gaps] if gaps else []


def _write_summary(path: Path | None, result, paths: dict[str, str]) -> None:
    """--summary-md: append the table's CI summary to ``path``."""
    if not path:
        return
    from repro.report.summary import shown_path, summary_markdown, write_summary

    report = next((p for p in paths.values() if p.endswith(f"{result.spec.id}.md")), None)
    text = summary_markdown(
        result.spec,
        result.cells,
        result.claims,
        partial=result.partial,
        report=shown_path(report) if report else None,
    )
    write_summary(path, text)


def _fail_on_status(result, fail_on: frozenset[str]) -> int:
    """--fail-on: FAIL_ON_EXIT (3) when a cell has a listed status or code, the table measured
    no quality cell (NO-QUALITY), or (STALE) the saved results were produced by other code;
    else 0."""
    from repro.report.summary import (
        FAIL_ON_EXIT,
        STALE,
        fail_on_message,
        failing,
        no_quality_failure,
    )

    hits = failing(result.cells, fail_on, result.claims)
    if hits:
        print(f"fail-on: {fail_on_message(result.spec, hits, fail_on)}", file=sys.stderr)
    no_quality = no_quality_failure(result.spec, result.cells, fail_on)
    if no_quality:
        print(f"fail-on: {no_quality}", file=sys.stderr)
    stale = STALE in fail_on and result.other_code
    if stale:
        print(f"fail-on: {result.spec.id}: {STALE}: {_other_code(result)}", file=sys.stderr)
    return FAIL_ON_EXIT if hits or no_quality or stale else 0


def _other_code(result) -> str:
    return (
        f"the saved results of {result.spec.id} were produced by other code than this one; "
        f"rerun: repro table {result.spec.id}"
    )


def cmd_report(args) -> int:
    from repro.report.summary import parse_fail_on
    from repro.report.writer import publish_result, write_index
    from repro.tables.context import prepare
    from repro.tables.run import recompare

    summary_md = summary_target(args.summary_md)  # flags refused before anything is read
    fail_on = parse_fail_on(args.fail_on)
    if (summary_md or fail_on) and not args.tables:
        raise ReproError("--summary-md and --fail-on need table ids: repro report ID")
    ws = current()
    # every table is read and checked before anything is written; the explainer runs on CPU
    contexts = [prepare(t, workspace=ws, device="cpu", progress=False) for t in args.tables]
    results = [recompare(ctx.spec, workspace=ws) for ctx in contexts]
    args.log.settings["tables"] = [c.spec.id for c in contexts]
    say = (lambda text: None) if args.quiet else print
    status = 0
    for ctx, result in zip(contexts, results, strict=True):
        if result.other_code:
            say(f"note: {_other_code(result)}")
        paths = publish_result(result, keep_frame=True, extra_sections=gap_sections(ctx, result))
        args.log.files += list(paths)
        say(f"wrote {next(p for p in paths.values() if p.endswith('.md'))}")
        _write_summary(summary_md, result, paths)
        status = max(status, _fail_on_status(result, fail_on))
    index = write_index(ws)
    args.log.files.append("reports:index.md")
    say(f"wrote {index}")
    return status


def cmd_pull(args) -> int:
    from repro.eval.pulls import pull_entries
    from repro.weights.fetch import pull

    # every name is resolved before anything is fetched: a typo costs no download
    entries = {e.id: e for name in args.names for e in pull_entries(name, args.scale)}
    for entry in entries.values():
        print(f"{entry.id}: {pull(entry, trust=args.trust_unverified)}")
    return 0


COMMANDS = {
    "ls": cmd_ls,
    "validate": cmd_validate,
    "table": cmd_table,
    "eval": cmd_eval,
    "score": cmd_score,
    "report": cmd_report,
    "pull": cmd_pull,
    "fetch": cmd_fetch,
    "verify": cmd_verify,
    "card": cmd_card,
    "explain": cmd_explain,
    "compare-images": cmd_compare_images,
    "get": cmd_get,
}
