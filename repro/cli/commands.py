"""The subcommands of ``python -m repro``: each parses nothing and decides nothing itself; it
calls the library and prints. Heavy modules are imported inside a command, so ``--help`` and
``ls tables`` stay fast."""

from __future__ import annotations

import sys
from pathlib import Path

from repro.cli.explain import cmd_explain
from repro.cli.fetch import cmd_fetch, cmd_verify
from repro.cli.output import clean, print_cells, print_columns, print_json, scoring_line
from repro.cli.own_images import cmd_card, eval_folders
from repro.errors import ReproError


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
        from repro.models import all_models

        items = [
            {
                "id": m.id,
                "scales": list(m.scales),
                "settings": list(m.settings),
                "weights": sorted(w.id for w in m.weights.values()),
                "description": m.description,
            }
            for m in all_models().values()
        ]
    else:
        from repro.metrics import all_metrics

        items = [
            {
                "id": m.name,
                "kind": str(m.kind),
                "direction": "higher" if m.higher_is_better else "lower",
                "description": m.description,
            }
            for m in all_metrics().values()
        ]
    if args.json:
        print_json(items)
        return 0
    print_columns(items, LS_COLUMNS[args.what])
    return 0


# the text columns of `ls`, long texts last (--json keeps every key, in its own order)
LS_COLUMNS = {
    "tables": ["id", "paper", "title"],
    "datasets": ["id", "task", "scales", "source"],
    "models": ["id", "scales", "settings", "weights", "description"],
    "metrics": ["id", "kind", "direction", "description"],
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
        for line in report["missing"]:
            print(f"  missing: {line}")
        for line in report["ready"]:
            print(f"  ready:   {line}")
    return 0


def cmd_table(args) -> int:
    try:
        return _table(args)
    except ReproError as exc:  # the CI summary says why the job failed, then the CLI does
        if args.summary_md:
            from repro.report.summary import error_summary, write_summary

            write_summary(args.summary_md, error_summary(args.table, str(exc)))
        raise


def _table(args) -> int:
    from repro.eval import distributed
    from repro.machine import resolve_device
    from repro.publish import Destination, check_writable
    from repro.report.summary import parse_fail_on
    from repro.report.writer import publish_result
    from repro.tables.run import cells_document, is_partial, loses_saved_cells, run_table
    from repro.tables.spec import load_spec

    fail_on = parse_fail_on(args.fail_on)  # a bad list is refused before anything runs
    spec = load_spec(args.table)
    device = resolve_device(args.device)  # refused before anything runs or is written
    check_writable(Destination(spec.id, is_partial(spec, args.datasets, args.limit)))
    result = run_table(
        spec,
        datasets=args.datasets,
        limit=args.limit,
        data_root=args.data_root,
        device=device,
        use_cache=not args.no_cache,
        progress=not args.json,
        seed=args.seed,
    )
    if not distributed.is_main():
        return 0
    kept_back = loses_saved_cells(result)
    if kept_back:
        result.partial = True  # published beside the saved run, never over it
    paths = publish_result(result, extra_sections=_gap_sections(result, args.data_root, device))
    if args.json:
        print_json(clean({**cells_document(result), "files": paths}))
    else:
        print_cells(result, paths)
    _write_summary(args.summary_md, result, paths)
    if kept_back:
        print(f"error: {kept_back}", file=sys.stderr)
        return 2
    return _fail_on_status(result, fail_on)


def _gap_sections(result, data_root: str | None = None, device="cpu") -> list[str]:
    """The report's "Explaining the gaps" section: every FAIL/IMPROVED image cell re-scored
    under the protocol variants papers mix up (cached SR outputs keep it cheap)."""
    from repro.tables.explain_text import gaps_markdown

    gaps = gaps_markdown(result.spec.id, result.cells, level=3, data_root=data_root, device=device)
    return [gaps] if gaps else []


def _write_summary(path: str | None, result, paths: dict[str, str]) -> None:
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
    """--fail-on: FAIL_ON_EXIT (3) when a cell has a listed status or code, else 0."""
    from repro.report.summary import FAIL_ON_EXIT, fail_on_message, failing

    hits = failing(result.cells, fail_on, result.claims)
    if not hits:
        return 0
    print(f"fail-on: {fail_on_message(result.spec, hits, fail_on)}", file=sys.stderr)
    return FAIL_ON_EXIT


def _parse_settings(pairs: list[str]) -> dict:
    import yaml

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ReproError(f"--set expects KEY=VALUE, got '{pair}'")
        key, value = pair.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ReproError(
                f"--set {pair}: '{value}' is not a value (a number, true/false, a word, or a "
                "[list]); quote it for the shell, e.g. --set 'ratio=0.5'"
            ) from None
    return out


def cmd_eval(args) -> int:
    if args.hr or args.lr:
        return eval_folders(args, _parse_settings(args.set))
    from repro.data.loaders import open_dataset, require_in_data_root
    from repro.eval import distributed
    from repro.eval.quick import chosen_metrics, dataset_job
    from repro.eval.runner import evaluate, means, to_frame
    from repro.machine import resolve_device

    if not args.dataset:
        raise ReproError(
            "name the images: --dataset NAME (python -m repro ls datasets), or your own "
            "folders: --hr DIR and/or --lr DIR"
        )
    if args.out:
        raise ReproError("--out saves the SR images of --hr/--lr folders, not of a --dataset")
    settings = _parse_settings(args.set)
    device = resolve_device(args.device)  # refused before any data is opened
    require_in_data_root(args.data_root, [args.dataset])
    lr_mode = "bicubic" if args.make_lr else "official"
    data = open_dataset(args.dataset, args.scale, data_root=args.data_root, lr_mode=lr_mode)
    data.limit(args.limit)
    job = dataset_job(
        args.model,
        args.scale,
        data,
        channel=args.channel,
        crop=args.crop,
        settings=settings,
        weights_path=args.weights,
        weights_key=args.weights_key,
        metrics=chosen_metrics(args.metrics, data.layout.hr is not None) if args.metrics else None,
        tile=args.tile,
        gray=args.gray,
    )
    rows, prov = evaluate(job, data, device=device, progress=not args.json)
    if not distributed.is_main():
        return 0
    frame = to_frame(rows)
    mean = means(frame)
    if args.json:
        print_json(
            clean(
                {
                    "model": args.model,
                    "dataset": job.dataset,
                    "scale": args.scale,
                    "protocol": {**job.protocol, "crop": job.crop},
                    "rows": rows,
                    "means": mean.to_dict(orient="records"),
                    "provenance": prov,
                }
            )
        )
        return 0
    import pandas as pd

    lr = "its LR files" if data.lr_source == "official" else f"LR made here ({data.lr_source})"
    print(f"{args.model} x{args.scale} on {job.dataset}: {len(data)} images, {lr}")
    columns = [f"{m}@{v}" if v else m for m, v in job.metrics]
    print(scoring_line(columns, job.protocol, job.crop))
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(frame.drop(columns=["row", "settings"], errors="ignore").to_string(index=False))
        print("\nmean:")
        print(mean.drop(columns=["row", "settings"], errors="ignore").to_string(index=False))
    return 0


def cmd_score(args) -> int:
    from repro.eval.quick import score_files
    from repro.metrics import get_metric

    metric = get_metric(args.metric)
    ref = Path(args.ref) if args.ref else None
    values, mean = score_files(metric, ref, Path(args.dist), channel=args.channel, crop=args.crop)
    if args.json:
        print_json(
            clean(
                {
                    "metric": metric.name,
                    "channel": args.channel,
                    "crop": args.crop,
                    "values": values,
                    "mean": mean,
                }
            )
        )
        return 0
    for name, v in values.items():
        print(f"{name:<30} {v:.6f}")
    print(f"{'mean':<30} {mean:.6f}")
    return 0


def cmd_report(args) -> int:
    from repro.report.summary import parse_fail_on
    from repro.report.writer import publish_result, write_index
    from repro.tables.run import recompare
    from repro.tables.spec import load_spec

    fail_on = parse_fail_on(args.fail_on)
    if (args.summary_md or fail_on) and not args.tables:
        raise ReproError("--summary-md and --fail-on need table ids: python -m repro report ID")
    results = [recompare(load_spec(t)) for t in args.tables]  # all checked before any write
    status = 0
    for result in results:
        paths = publish_result(result, keep_frame=True, extra_sections=_gap_sections(result))
        print(f"wrote {next(p for p in paths.values() if p.endswith('.md'))}")
        _write_summary(args.summary_md, result, paths)
        status = max(status, _fail_on_status(result, fail_on))
    print(f"wrote {write_index()}")
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
}
