"""``repro get <table>``: the plan of what a table needs that is not here; ``--yes`` gets it.

Without ``--yes`` (or with ``--dry-run``) nothing is fetched: the plan is printed, each missing
dataset and checkpoint with its source, its size where known and how it will be checked (a
published sha256, the record of an earlier fetch, or trust on first use). ``--yes`` accepts the
plan, its trust-on-first-use items included, and gets every item through ``repro fetch`` and
``repro pull`` (:mod:`repro.tables.needs`).
"""

from __future__ import annotations

from repro.cli.options import add_workspace_options
from repro.cli.output import print_json
from repro.errors import ReproError

EXAMPLES = """examples:
  repro get esc_main                  # the plan: what is missing, from where, how checked
  repro get esc_main --yes            # get it all (datasets, checkpoints, metric files)
  repro get camixer_light --yes --data-root /data/sr   # datasets into /data/sr/<name>
  repro get esc_tab8 --json           # the plan as one JSON document"""

_MARK = {True: "here", False: "get"}


def add_parser(sub, formatter_class) -> None:
    """Register ``get`` on the subparsers of ``repro``."""
    help_ = (
        "list what a table needs that is not here (datasets, checkpoints) with sources and "
        "checks; --yes fetches it all"
    )
    s = sub.add_parser(
        "get", help=help_, description=help_, formatter_class=formatter_class, epilog=EXAMPLES
    )
    s.add_argument("table", help="table id (repro ls tables), or the path of a spec file")
    s.add_argument(
        "--yes",
        action="store_true",
        help="accept the plan (trust-on-first-use items included) and fetch everything missing",
    )
    s.add_argument(
        "--dry-run", action="store_true", help="print the plan only (the default without --yes)"
    )
    s.add_argument(
        "--data-root",
        help="look for datasets there first, and put fetched archive sets in DATA_ROOT/<name>",
    )
    s.add_argument("--json", action="store_true", help="print the plan as one JSON document")
    add_workspace_options(s)


def _size(n: int | None) -> str:
    return f"{n / 1e6:.1f} MB" if n is not None else "size unknown"


def _describe(item) -> dict:
    return {
        "kind": item.kind,
        "name": item.name,
        "state": item.state,
        "source": item.source,
        "bytes": item.size,
        "check": item.check,
        "fetchable": item.fetchable,
        "rows": list(item.rows),
    }


def print_plan(table: str, items: list) -> None:
    todo = [i for i in items if i.todo and i.fetchable]
    by_hand = [i for i in items if i.todo and not i.fetchable]
    known = sum(i.size for i in todo if i.size is not None)
    sizes = f", {known / 1e6:.1f} MB known" if known else ""
    print(
        f"{table}: {len(items)} needed, {len(items) - len(todo) - len(by_hand)} here, "
        f"{len(todo)} to get{sizes}, {len(by_hand)} by hand"
    )
    for item in items:
        mark = _MARK[item.here] if item.fetchable or item.here else "by hand"
        print(f"  [{mark}] {item.kind} {item.name}: {item.state}")
        if not item.here:
            print(f"      from: {item.source}")
            if item.fetchable:
                print(f"      {_size(item.size)}; checked by: {item.check}")
        more = f" (+{len(item.rows) - 3})" if len(item.rows) > 3 else ""
        print(f"      for: {', '.join(item.rows[:3])}{more}")


def cmd_get(args) -> int:
    from repro.tables.needs import get, left_by_hand, plan
    from repro.tables.spec import load_spec
    from repro.tables.validate import check_spec

    if args.yes and args.dry_run:
        raise ReproError("--yes fetches and --dry-run only prints: give one of them")
    spec = load_spec(args.table)
    check_spec(spec)
    items = plan(spec, data_root=args.data_root)
    if args.json and not args.yes:
        print_json({"table": spec.id, "items": [_describe(i) for i in items]})
        return 0
    if not args.json:
        print_plan(spec.id, items)
    todo = [i for i in items if i.todo and i.fetchable]
    if not args.yes:
        if todo:
            print(f"nothing fetched: repro get {spec.id} --yes gets the {len(todo)} above")
        return 0
    done = get(items)
    if args.json:
        print_json({"table": spec.id, "got": done, "items": [_describe(i) for i in items]})
        return 0
    for line in done:
        print(f"got {line}")
    rest = left_by_hand(items)
    if rest:
        print(f"{spec.id}: {len(rest)} item(s) no command gets: " + "; ".join(i.name for i in rest))
    elif not done:
        print(f"{spec.id}: everything is here")
    return 0
