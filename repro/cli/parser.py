"""The argument parser of ``python -m repro``: subcommands, options and their examples."""

from __future__ import annotations

import argparse

DESCRIPTION = "Reproduce and evaluate published image super-resolution results."

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


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(
        prog=prog or "python -m repro",
        formatter_class=fmt,
        description=DESCRIPTION,
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
    s.add_argument("table", help="table id, or the path of a spec file (e.g. a new table's)")
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
    s.add_argument(
        "--device",
        default="auto",
        help="auto (default: CUDA when a GPU is visible, else cpu), cpu, or cuda[:N]",
    )
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
    s.add_argument(
        "--device",
        default="auto",
        help="auto (default: CUDA when a GPU is visible, else cpu), cpu, or cuda[:N]",
    )
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
