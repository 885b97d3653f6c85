"""The argument parser of ``repro``: subcommands, options and their examples."""

from __future__ import annotations

import argparse

from repro.cli.compare_images import add_parser as add_compare_images
from repro.cli.examples import EXAMPLES
from repro.cli.explain import add_parser as add_explain
from repro.cli.get import add_parser as add_get
from repro.cli.options import add_reference_option, add_workspace_options

DESCRIPTION = "Reproduce and evaluate published image super-resolution results."


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


def _add_ci_options(s: argparse.ArgumentParser) -> None:
    """--summary-md and --fail-on, for CI jobs (``table``, and ``report <id>``)."""
    s.add_argument(
        "--summary-md",
        metavar="PATH",
        help="append a short markdown summary (counts, FAIL cells, what is missing) to PATH, "
        "creating it if absent: GitHub's $GITHUB_STEP_SUMMARY convention",
    )
    s.add_argument(
        "--fail-on",
        metavar="STATUS[,STATUS...]",
        help="exit 3 (after writing everything) when a cell has one of these statuses: FAIL, "
        "IMPROVED, NOT-RUN, PARTIAL, ... or a NOT-RUN code such as MISSING-WEIGHTS; NO-QUALITY: "
        "the table has quality cells (any metric that is not a cost) and none was measured; "
        "STALE (repro report): saved results produced by other code (errors and usage errors "
        "exit 2)",
    )


def _add_quiet_option(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress, and only the last lines (what was measured, the counts, the files "
        "written); warnings and errors are still said, and the run log keeps everything",
    )


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(
        prog="repro",
        formatter_class=fmt,
        description=DESCRIPTION,
        epilog=EXAMPLES["main"],
    )
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, help_):
        return sub.add_parser(
            name, help=help_, description=help_, formatter_class=fmt, epilog=EXAMPLES[name]
        )

    s = add("ls", "list tables, datasets, models or metrics (shipped and your own)")
    s.add_argument("what", choices=["tables", "datasets", "models", "metrics"])
    s.add_argument("--json", action="store_true", help="print one JSON document")
    add_workspace_options(s)

    s = add("validate", "check a table spec and say which data and weights are missing")
    s.add_argument("table", help="table id, or the path of a spec file (e.g. a new table's)")
    s.add_argument("--data-root", help="local folder holding the datasets")
    s.add_argument("--json", action="store_true")
    add_workspace_options(s)

    s = add("table", "run one paper table, compare with the paper and write a report")
    s.add_argument(
        "table", metavar="ID", help="table id (repro ls tables), or the path of a spec file"
    )
    s.add_argument("--datasets", nargs="+", help="only these datasets")
    s.add_argument(
        "--limit",
        type=_positive,
        help="only the first N images of each dataset (a test run: written to the workspace's "
        "results/partial/)",
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
    s.add_argument(
        "--all",
        action="store_true",
        help="list every cell (default: the measured cells, and the others as groups with the "
        "one thing that would run them)",
    )
    s.add_argument(
        "--save-sr",
        metavar="DIR",
        help="also save every SR image as PNG in this new folder, as DIR/<row id>/<dataset>/ "
        "under the HR file names (every image is then computed: the cache holds scores, not "
        "images)",
    )
    _add_quiet_option(s)
    _add_ci_options(s)
    add_workspace_options(s)
    add_reference_option(s)

    s = add(
        "eval",
        "evaluate a registered model on a dataset or on your own images, outside any table",
    )
    s.add_argument(
        "--model",
        required=True,
        help="model id (repro ls models); your own: module.path:factory (factory(scale, "
        "**settings) -> nn.Module); any checkpoint spandrel recognises: spandrel (with --weights)",
    )
    s.add_argument("--scale", type=_positive, required=True)
    s.add_argument("--dataset", help="a dataset card's name (repro ls datasets)")
    s.add_argument(
        "--hr",
        metavar="DIR",
        help="your own ground-truth images; without --lr the LR is made the papers' way "
        "(MATLAB bicubic of the HR mod-cropped to a multiple of the scale)",
    )
    s.add_argument(
        "--lr",
        metavar="DIR",
        help="your own LR images, matched to --hr by name (baby.png or babyx4.png); alone, "
        "they are upscaled (--out) or scored by no-reference metrics (--metrics niqe)",
    )
    s.add_argument(
        "--save-sr",
        "--out",
        dest="save_sr",
        metavar="DIR",
        help="save the SR images as PNG in this new folder, under the HR file names (an LR "
        "image alone: without its x<scale> suffix), so that repro score --ref HR --dist DIR "
        "pairs them; --out is the same (the per-image cache of --dataset runs is in the "
        "workspace: REPRO_OUT)",
    )
    s.add_argument(
        "--metrics",
        nargs="+",
        metavar="NAME",
        help="metrics to score (default: the dataset task's; psnr ssim for --hr folders)",
    )
    s.add_argument(
        "--tile",
        type=_positive,
        metavar="N",
        help="run the model on N x N LR tiles (overlap N // 16), merged as the official "
        "large-image test, for images too large for memory",
    )
    s.add_argument(
        "--weights",
        help="a checkpoint file (.pth or .safetensors), or hf://owner/repo@<commit>/path",
    )
    s.add_argument("--weights-key", help="state dict inside the checkpoint (default params_ema)")
    s.add_argument(
        "--non-strict",
        action="store_true",
        help="load only the checkpoint's keys that fit the model (the model keeps its own "
        "values for the others); the differences are recorded in the provenance",
    )
    s.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model setting, e.g. ratio=0.5 (repeatable)",
    )
    s.add_argument(
        "--channel", choices=["y", "rgb"], help="default: the dataset card's; y for folders"
    )
    s.add_argument(
        "--crop",
        type=_non_negative,
        help="border crop (default: the dataset card's; the scale for folders)",
    )
    s.add_argument(
        "--gray",
        choices=["rgb3", "gray"],
        help="one-channel images scored as three identical channels (rgb3, BasicSR; the "
        "default) or on their one channel (gray, MATLAB-era code)",
    )
    s.add_argument(
        "--make-lr",
        action="store_true",
        help="--dataset: make the LR here with MATLAB bicubic instead of reading its LR files",
    )
    s.add_argument("--limit", type=_positive, help="only the first N images")
    s.add_argument("--data-root", help="--dataset: local folder holding the datasets")
    s.add_argument(
        "--device",
        default="auto",
        help="auto (default: CUDA when a GPU is visible, else cpu), cpu, or cuda[:N]",
    )
    s.add_argument("--json", action="store_true")
    _add_quiet_option(s)
    add_workspace_options(s, out=False)

    s = add(
        "score",
        "score an image pair or two folders (files matched by name) with one or more metrics",
    )
    s.add_argument("metrics", nargs="+", metavar="METRIC", help="metric names (repro ls metrics)")
    s.add_argument(
        "--ref",
        help="reference image or folder (ground truth; not for no-reference metrics such as niqe)",
    )
    s.add_argument("--dist", required=True, help="distorted image or folder (e.g. SR output)")
    s.add_argument(
        "--channel",
        default="y",
        choices=["y", "rgb", "gray"],
        help="y (default: BT.601 luma, as SR papers), rgb, or gray (MATLAB rgb2gray)",
    )
    s.add_argument(
        "--crop",
        type=_non_negative,
        default=0,
        help="pixels removed from every border (default 0; SR papers crop the scale)",
    )
    s.add_argument(
        "--mod-crop",
        type=_positive,
        metavar="S",
        help="first crop both images at the bottom and right to a multiple of S (an HR image "
        "beside its x S output, as repro eval crops it)",
    )
    s.add_argument(
        "--gray",
        choices=["rgb3", "gray"],
        default="rgb3",
        help="one-channel images scored as three identical channels (rgb3, BasicSR; the "
        "default) or on their one channel (gray, MATLAB-era code)",
    )
    s.add_argument("--json", action="store_true")
    _add_quiet_option(s)

    s = add(
        "report", "re-render a workspace's reports from its saved results (no run), and its index"
    )
    s.add_argument(
        "tables",
        nargs="*",
        help="tables (ids or spec files) to re-compare with their (edited) specs from "
        "results/<id>.cells.json",
    )
    _add_quiet_option(s)
    _add_ci_options(s)
    add_workspace_options(s)
    add_reference_option(s)

    s = add(
        "pull",
        "fetch, verify and store weights: checkpoints as safetensors, metric files as they are",
    )
    s.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help="a weights id, model id or metric name (repro ls models / ls metrics)",
    )
    s.add_argument("--scale", type=_positive, help="scale of the model's default checkpoint")
    s.add_argument(
        "--trust-unverified",
        action="store_true",
        help="accept a file whose sha256 is not published; its sha256 is recorded in "
        "<cache>/weights.lock.json and every later load is checked against it",
    )

    s = add("card", "write a dataset card for a folder of your own images")
    card = s.add_subparsers(dest="card_command", required=True)
    s = card.add_parser(
        "new",
        help="a card (layout, scales, sha256 of every file) for a folder of images",
        description="write a dataset card (layout, image count and sizes, sha256 of every file) "
        "for a flat folder of images or an HR/ + LR_bicubic/X{scale}/ folder",
        formatter_class=fmt,
        epilog=EXAMPLES["card"],
    )
    s.add_argument("folder", help="the folder of images (files that are not images are left out)")
    s.add_argument("--name", help="the card's name (default: the folder's name)")
    s.add_argument(
        "--task",
        default="classic",
        help="classic (default: scored on Y, crop = scale), large, real or 360; the task fixes "
        "the scoring protocol (datasets/README.md)",
    )
    s.add_argument("--scales", nargs="+", type=_positive, help="default: 2 3 4 (LR-only: 4)")
    s.add_argument("--lr-only", action="store_true", help="the images are LR (no ground truth)")
    s.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the card to FILE (<name>.yaml) instead of the workspace's cards/<name>.yaml",
    )
    s.add_argument("--force", action="store_true", help="replace an existing card of that name")
    add_workspace_options(s)

    s = add(
        "fetch",
        "download a dataset from its card's source (Hub, official archive, mirrors), verify it "
        "and lay it out where runs find it",
    )
    s.add_argument("dataset", help="a dataset card's name (repro ls datasets)")
    s.add_argument("--scale", type=_positive, help="scale whose layout is checked (default: first)")
    s.add_argument(
        "--data-root",
        help="put the set in DATA_ROOT/<name> (default: <cache>/fetched/<name>, REPRO_CACHE)",
    )
    s.add_argument(
        "--build",
        action="store_true",
        help="build the set from the raw source in its card's source.build instead (Test8K)",
    )
    s.add_argument("--from-zip", metavar="ZIP", help="--build from a local copy of that zip")
    s.add_argument("--json", action="store_true", help="print one JSON document")
    add_workspace_options(s)

    s = add(
        "verify",
        "verify a dataset's files against the sha256 in its card or the lock repro fetch wrote",
    )
    s.add_argument("dataset")
    s.add_argument("--scale", type=_positive)
    s.add_argument("--data-root")
    s.add_argument("--json", action="store_true")
    add_workspace_options(s)

    add_explain(sub, fmt)
    add_compare_images(sub, fmt)
    add_get(sub, fmt)
    return p
