"""Command line: ``python -m repro {ls, validate, table, eval, score, report, pull, verify}``.

Errors print one line on stderr and exit non-zero, without a traceback. With ``--json`` a command
prints exactly one JSON document on stdout (progress bars go to stderr).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from repro.errors import ReproError

EXAMPLES = {
    "main": """examples:
  python -m repro ls tables
  python -m repro validate bicubic_classic
  python -m repro.table bicubic_classic
  python -m repro eval --model bicubic --scale 4 --dataset Set5 --json
  python -m repro score psnr --ref HR/ --dist SR/ --channel y --crop 4
  python -m repro report""",
    "ls": """examples:
  python -m repro ls tables
  python -m repro ls datasets
  python -m repro ls models --json""",
    "validate": """examples:
  python -m repro validate bicubic_classic
  python -m repro validate camixer_tab2 --data-root /data/sr""",
    "table": """examples:
  python -m repro.table bicubic_classic
  python -m repro.table bicubic_classic --datasets Set5 Set14 --json
  python -m repro.table camixer_tab3 --data-root /data/sr --limit 5
  torchrun --nproc-per-node 2 -m repro.table bicubic_classic   # images sharded over 2 processes""",
    "eval": """examples:
  python -m repro eval --model bicubic --scale 2 --dataset Set14
  python -m repro eval --model camixersr-s --scale 4 --dataset Set5 --set ratio=0.5 --json
  python -m repro eval --model esc-light --scale 4 --dataset B100 --weights ESC_light_X4.pth""",
    "score": """examples:
  python -m repro score psnr --ref hr.png --dist sr.png --channel y --crop 4
  python -m repro score ssim --ref HR/ --dist SR/ --channel rgb --json
  python -m repro score niqe --dist SR/""",
    "report": """examples:
  python -m repro report                    # the index over every table
  python -m repro report camixer_tab3       # re-compare saved results with the spec, re-render""",
    "pull": """examples:
  python -m repro pull camixersr-s --scale 4
  python -m repro pull esc-x4-dflip
  python -m repro pull esc-light --scale 4 --trust-unverified   # no published sha256""",
    "verify": """examples:
  python -m repro verify Set5
  python -m repro verify B100 --scale 3 --data-root /data/sr""",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what was wrong, where to look) and exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def _at_least(minimum: int):
    """An argparse type: a whole number of at least ``minimum`` (counts, scales, crops)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if value < minimum:
            floor = "0 or more" if minimum == 0 else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {floor}, got {value}")
        return value

    return parse


_positive, _non_negative = _at_least(1), _at_least(0)


def _parser(prog: str | None = None) -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(
        prog=prog or "python -m repro",
        formatter_class=fmt,
        description=__doc__.split("\n")[0],
        epilog=EXAMPLES["main"],
    )
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, help_):
        return sub.add_parser(
            name, help=help_, description=help_, formatter_class=fmt, epilog=EXAMPLES[name]
        )

    s = add("ls", "list tables, datasets, models or metrics")
    s.add_argument("what", choices=["tables", "datasets", "models", "metrics"])
    s.add_argument("--json", action="store_true", help="print one JSON document")

    s = add("validate", "check a table spec and say which data and weights are missing")
    s.add_argument("table")
    s.add_argument("--data-root", help="local folder holding the datasets")
    s.add_argument("--json", action="store_true")

    s = add("table", "run one paper table, compare with the paper and write a report")
    s.add_argument("table", help="table id (python -m repro ls tables)")
    s.add_argument("--datasets", nargs="+", help="only these datasets")
    s.add_argument(
        "--limit",
        type=_positive,
        help="only the first N images of each dataset (a test run: written to results/partial/)",
    )
    s.add_argument(
        "--data-root",
        help="local folder holding the datasets (else REPRO_DATA, "
        "then ../shared/data, then the Hugging Face Hub)",
    )
    s.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    s.add_argument("--no-cache", action="store_true", help="recompute every image")
    s.add_argument("--seed", type=int, default=0, help="seed set before each image (default 0)")
    s.add_argument("--json", action="store_true", help="print the compared cells as JSON")

    s = add("eval", "evaluate a registered model on a dataset, outside any table")
    s.add_argument("--model", required=True, help="model id (python -m repro ls models)")
    s.add_argument("--scale", type=_positive, required=True)
    s.add_argument("--dataset", required=True)
    s.add_argument("--weights", help="a checkpoint file (.pth or .safetensors)")
    s.add_argument("--weights-key", help="state dict inside the checkpoint (default params_ema)")
    s.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model setting, e.g. ratio=0.5 (repeatable)",
    )
    s.add_argument("--channel", choices=["y", "rgb"], help="default: the dataset card's")
    s.add_argument("--crop", type=_non_negative, help="border crop (default: the dataset card's)")
    s.add_argument(
        "--lr",
        choices=["official", "bicubic"],
        default="official",
        help="use the dataset's LR files or make LR here with MATLAB bicubic",
    )
    s.add_argument("--limit", type=_positive, help="only the first N images")
    s.add_argument("--data-root")
    s.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    s.add_argument("--json", action="store_true")

    s = add("score", "score an image pair or two folders (files matched by name)")
    s.add_argument("metric", help="metric name (python -m repro ls metrics)")
    s.add_argument(
        "--ref",
        help="reference image or folder (ground truth; not for no-reference metrics such as niqe)",
    )
    s.add_argument("--dist", required=True, help="distorted image or folder (e.g. SR output)")
    s.add_argument("--channel", default="y", choices=["y", "rgb", "gray"])
    s.add_argument("--crop", type=_non_negative, default=0, help="pixels removed from every border")
    s.add_argument("--json", action="store_true")

    s = add("report", "re-render reports from saved results (no run) and reports/index.md")
    s.add_argument(
        "tables",
        nargs="*",
        help="tables to re-compare with their (edited) specs from results/<id>.cells.json",
    )

    s = add("pull", "download, verify and convert a checkpoint to safetensors")
    s.add_argument("model", help="model id or weights id")
    s.add_argument("--scale", type=_positive, help="scale of the model's default checkpoint")
    s.add_argument(
        "--trust-unverified",
        action="store_true",
        help="accept a download whose sha256 is not published; its sha256 is recorded in "
        "<cache>/weights.lock.json and every later load is checked against it",
    )

    s = add("verify", "verify a dataset's files against the sha256 in its card")
    s.add_argument("dataset")
    s.add_argument("--scale", type=_positive)
    s.add_argument("--data-root")
    s.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = _parser(prog).parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ReproError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # full disk, read-only folder, permissions: nothing was published
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"error: cannot read or write a file{where}: {exc.strerror or exc}; free space or "
            "fix the folder's permissions (REPRO_RESULTS, REPRO_REPORTS, REPRO_CACHE move them)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume from the cache", file=sys.stderr)
        return 130


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=1, default=_json_default, allow_nan=False))


def _json_default(value):
    return str(value)


def _clean(value):
    """JSON has no NaN/inf: NaN -> null, inf -> the string "inf"."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# -- commands ---------------------------------------------------------------------------------
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
        _print_json(items)
        return 0
    for item in items:
        rest = "  ".join(f"{v}" for k, v in item.items() if k != "id" and v not in ("", []))
        print(f"{item['id']:<22} {rest}")
    return 0


def cmd_validate(args) -> int:
    from repro.tables.validate import validate

    report = validate(args.table, data_root=args.data_root)
    if args.json:
        _print_json(report)
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
    from repro.machine import check_device
    from repro.publish import Destination, check_writable
    from repro.report.writer import publish_result
    from repro.tables.run import cells_document, is_partial, loses_saved_cells, run_table
    from repro.tables.spec import load_spec

    spec = load_spec(args.table)
    device = check_device(args.device)
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
        _print_json(_clean({**cells_document(result), "files": paths}))
    else:
        _print_cells(result, paths)
    if kept_back:
        print(f"error: {kept_back}", file=sys.stderr)
        return 2
    return 0


def _print_cells(result, paths: dict[str, str]) -> None:
    from repro.report.markdown import fmt, fmt_delta
    from repro.tables.compare import status_counts, status_label

    spec = result.spec
    title = f"{spec.id}: {spec.title}"
    print(title + ("  [PARTIAL RUN: not for reporting]" if result.partial else ""))
    print(
        f"{'row':<24} {'dataset':<10} {'metric':<22} {'reported':>10} {'reproduced':>11} "
        f"{'delta':>8}  status"
    )
    for c in result.cells:
        status = status_label(c.status, c.code, (c.images, c.images_total))
        metric = c.metric + (f"@{c.variant}" if c.variant else "")
        print(
            f"{c.label[:24]:<24} {(c.dataset or '-')[:10]:<10} {metric[:22]:<22} "
            f"{fmt(c.reported, c.metric):>10} {fmt(c.reproduced, c.metric):>11} "
            f"{fmt_delta(c.delta, c.metric):>8}  {status}"
        )
    print("status: " + ", ".join(f"{k} {v}" for k, v in status_counts(result.cells).items()))
    for claim in result.claims:
        margin = f" (margin {claim.margin:+.4f})" if claim.margin is not None else ""
        print(f"claim {claim.id}: {status_label(claim.status, claim.code)}{margin}")
    prov = result.provenance
    print(
        f"images: {prov.get('images_computed', 0)} computed, "
        f"{prov.get('images_from_cache', 0)} reused from the cache (same code and files)"
    )
    report = next((p for p in paths.values() if p.endswith(f"{spec.id}.md")), "")
    print(f"wrote {paths.get(f'results:{spec.id}.csv', '')}, {report}")


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
    from repro.machine import check_device

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
    rows, prov = evaluate(job, data, device=check_device(args.device), progress=not args.json)
    if not distributed.is_main():
        return 0
    frame = to_frame(rows)
    mean = means(frame)
    if args.json:
        _print_json(
            _clean(
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
        _print_json(
            _clean(
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
    from repro.models.weights import pull

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
    scale = args.scale if args.scale is not None else (card.scales[0] if card.scales else 1)
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
        _print_json(out)
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
