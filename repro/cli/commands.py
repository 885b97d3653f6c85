"""The subcommands of ``python -m repro``: each parses nothing and decides nothing itself; it
calls the library and prints. Heavy modules are imported inside a command, so ``--help`` and
``ls tables`` stay fast."""

from __future__ import annotations

import sys
from pathlib import Path

from repro.cli.output import clean, print_cells, print_json
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
    for item in items:
        rest = "  ".join(f"{v}" for k, v in item.items() if k != "id" and v not in ("", []))
        print(f"{item['id']:<22} {rest}")
    return 0


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
    from repro.eval import distributed
    from repro.machine import resolve_device
    from repro.publish import Destination, check_writable
    from repro.report.writer import publish_result
    from repro.tables.run import cells_document, is_partial, loses_saved_cells, run_table
    from repro.tables.spec import load_spec

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
    paths = publish_result(result)
    if args.json:
        print_json(clean({**cells_document(result), "files": paths}))
    else:
        print_cells(result, paths)
    if kept_back:
        print(f"error: {kept_back}", file=sys.stderr)
        return 2
    return 0


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
    from repro.data.loaders import open_dataset, require_in_data_root
    from repro.eval import distributed
    from repro.eval.quick import dataset_job
    from repro.eval.runner import evaluate, means, to_frame
    from repro.machine import resolve_device

    device = resolve_device(args.device)  # refused before any data is opened
    require_in_data_root(args.data_root, [args.dataset])
    data = open_dataset(args.dataset, args.scale, data_root=args.data_root, lr_mode=args.lr)
    data.limit(args.limit)
    job = dataset_job(
        args.model,
        args.scale,
        data,
        channel=args.channel,
        crop=args.crop,
        settings=_parse_settings(args.set),
        weights_path=args.weights,
        weights_key=args.weights_key,
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
    from repro.report.writer import publish_result, write_index
    from repro.tables.run import recompare
    from repro.tables.spec import load_spec

    results = [recompare(load_spec(t)) for t in args.tables]  # all checked before any write
    for result in results:
        paths = publish_result(result, keep_frame=True)
        print(f"wrote {next(p for p in paths.values() if p.endswith('.md'))}")
    print(f"wrote {write_index()}")
    return 0


def cmd_pull(args) -> int:
    from repro.eval.predictor import find_weights_entry, weights_table
    from repro.models import get
    from repro.weights.fetch import pull

    entry = None
    if args.model in weights_table():
        entry = weights_table()[args.model]
    else:
        info = get(args.model)
        scales = [args.scale] if args.scale else sorted(info.weights)
        if not scales:
            raise ReproError(f"{info.id} has no released checkpoints")
        for scale in scales:
            entry = find_weights_entry(info, scale, None)
            if entry is None:
                raise ReproError(f"{info.id} has no released checkpoint at x{scale}")
            print(f"{entry.id}: {pull(entry, trust=args.trust_unverified)}")
        return 0
    print(f"{entry.id}: {pull(entry, trust=args.trust_unverified)}")
    return 0


def cmd_verify(args) -> int:
    from repro.data.cards import get_card
    from repro.data.loaders import open_dataset, require_in_data_root

    card = get_card(args.dataset)
    scale = args.scale if args.scale is not None else card.scales[0]
    require_in_data_root(args.data_root, [card.name])
    data = open_dataset(card.name, scale, data_root=args.data_root)
    for name in data.names:
        data.verify(name)
    verified = len(data.file_sha256) - data.unverified
    out = {
        **data.describe(),
        "files": len(data.file_sha256),
        "verified": verified,
        "unverified": data.unverified,
    }
    if args.json:
        print_json(out)
    else:
        print(
            f"{card.name} x{scale} in {data.root}: {out['files']} files, {verified} verified "
            f"against the card, {data.unverified} without a recorded sha256; all good"
        )
    return 0


COMMANDS = {
    "ls": cmd_ls,
    "validate": cmd_validate,
    "table": cmd_table,
    "eval": cmd_eval,
    "score": cmd_score,
    "report": cmd_report,
    "pull": cmd_pull,
    "verify": cmd_verify,
}
