"""``repro explain <table> <row> <dataset> <metric>``: why a cell differs from the paper
(:mod:`repro.tables.explain`); for a cost cell (params, FLOPs, time: dataset ``-``), what decides
it (:mod:`repro.tables.explain_cost`)."""

from __future__ import annotations

import argparse

from repro.cli.options import add_workspace_options
from repro.cli.output import clean, print_json
from repro.errors import ReproError

EXAMPLES = """examples:
  repro explain bicubic_classic bicubic-x2 Set14 psnr
  repro explain bicubic_classic "Bicubic x4" Set14 psnr --protocol gray=rgb3
  repro explain bicubic_classic bicubic-x3 Set5 ssim --json
  repro explain camixer_light CAMixerSR - madds
  repro explain camixer_tab2 camixersr-s-r0.5 F2K psnr --data-root /data/sr"""


def add_parser(sub, formatter_class) -> None:
    """Register ``explain`` on the subparsers of ``repro``."""
    help_ = "re-score one table cell under the protocol variants papers mix up: why it differs"
    s = sub.add_parser(
        "explain",
        help=help_,
        description=help_,
        formatter_class=formatter_class,
        epilog=EXAMPLES,
    )
    s.add_argument("table", help="table id (repro ls tables), or the path of a spec file")
    s.add_argument("row", help="row id or label, e.g. bicubic-x2 or 'Bicubic x2'")
    s.add_argument(
        "dataset", help="a dataset column of the table, e.g. Set14; - for params, FLOPs..."
    )
    s.add_argument("metric", help="the column's metric, e.g. psnr (stereo: psnr@pair_mean)")
    s.add_argument(
        "--protocol",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change the base first (repeatable): channel, crop, gray, ssim, lr, rounding, "
        "boundary, weights_key; e.g. gray=rgb3 scores gray images BasicSR's way",
    )
    s.add_argument(
        "--vary",
        help="only these changes, comma-separated: channel, crop, gray, ssim (re-scored, no "
        "forward pass), lr, rounding, boundary, weights (a new forward pass each)",
    )
    s.add_argument("--images", type=int, default=5, help="images listed per variant (default 5)")
    s.add_argument("--data-root", help="local folder holding the datasets")
    s.add_argument("--device", default="auto", help="auto (default), cpu, or cuda[:N]")
    s.add_argument("--no-cache", action="store_true", help="recompute every SR output")
    s.add_argument("--seed", type=int, default=0, help="seed set before each image (default 0)")
    s.add_argument("--json", action="store_true", help="print one JSON document")
    add_workspace_options(s)


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ReproError(f"--protocol expects KEY=VALUE, got '{item}'")
        out[key.strip()] = value.strip()
    return out


def cmd_explain(args: argparse.Namespace) -> int:
    from repro.tables.context import prepare
    from repro.tables.explain import explain_cell, find_cell
    from repro.tables.explain_cost import explain_cost, format_cost_text
    from repro.tables.explain_text import format_text
    from repro.tables.run import is_cost

    ctx = prepare(  # spec checked, device resolved: as a table run's
        args.table,
        device=args.device,
        data_root=args.data_root,
        use_cache=not args.no_cache,
        progress=not args.json,
        seed=args.seed,
    )
    _, col, _ = find_cell(ctx.spec, args.row, args.dataset, args.metric)
    if is_cost(col.metric):  # a property of the model: no images to re-score
        if args.protocol or args.vary:
            raise ReproError(
                f"{col.frame_metric} is a cost of the model: --protocol and --vary change how "
                "images are scored; leave them out"
            )
        cost = explain_cost(ctx, args.row, args.dataset, args.metric)
        if args.json:
            print_json(clean(cost.to_dict()))
        else:
            print(format_cost_text(cost))
        return 0
    result = explain_cell(
        ctx,
        args.row,
        args.dataset,
        args.metric,
        protocol=_pairs(args.protocol),
        vary=tuple(a.strip() for a in args.vary.split(",")) if args.vary else None,
    )
    if args.json:
        print_json(clean(result.to_dict()))
    else:
        print(format_text(result, images=max(args.images, 0)))
    return 0
