"""``repro compare-images <dataset> <image>...``: the zoomed visual comparison SR papers
print, HR beside bicubic and each model (:mod:`repro.report.compare_images`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from repro.cli.options import add_workspace_options
from repro.cli.output import clean, print_json
from repro.errors import ReproError
from repro.workspace import current

EXAMPLES = """examples:
  repro compare-images Set14 comic --model camixersr-s --scale 4
  repro compare-images Urban100 img_004 --model camixersr-s \\
      --model camixersr-s:ratio=0.25 --scale 4 --size 128
  repro compare-images Set14 comic bridge --model camixersr-s --scale 4 \\
      --box 60,100,64,64 --box 24,87,96,96 --figures figures/"""


def add_parser(sub, formatter_class) -> None:
    """Register ``compare-images`` on the subparsers of ``repro``."""
    help_ = (
        "draw the zoomed comparison papers print: the same crop of HR, bicubic and each "
        "model, with each crop's PSNR/SSIM"
    )
    s = sub.add_parser(
        "compare-images",
        help=help_,
        description=help_,
        formatter_class=formatter_class,
        epilog=EXAMPLES,
    )
    s.add_argument("dataset", help="a dataset card's name, e.g. Set14 (repro ls datasets)")
    s.add_argument("images", nargs="+", metavar="IMAGE", help="image names of the set, e.g. comic")
    s.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="ID[:KEY=VALUE,...]",
        help="a model to compare (repeatable), with settings after ':', e.g. "
        "camixersr-s:ratio=0.25; bicubic is always drawn",
    )
    s.add_argument("--scale", type=int, required=True, help="upscaling factor, e.g. 4")
    s.add_argument(
        "--box",
        action="append",
        default=[],
        metavar="X,Y,W,H",
        help="the region in HR pixels, one per image in order (default: where the outputs "
        "differ most)",
    )
    s.add_argument("--size", type=int, help="side of the picked square box (default: 1/5 image)")
    s.add_argument("--data-root", help="local folder holding the datasets")
    s.add_argument("--device", default="auto", help="auto (default), cpu, or cuda[:N]")
    s.add_argument(
        "--figures",
        metavar="FOLDER",
        help="where the PNGs go (default: the workspace's reports/compare)",
    )
    add_workspace_options(s)
    s.add_argument("--json", action="store_true", help="print one JSON document")


def parse_model(text: str) -> tuple[str, dict]:
    """``camixersr-s:ratio=0.25,mode=deterministic`` -> ('camixersr-s', {...})."""
    import yaml

    model, _, rest = text.partition(":")
    settings = {}
    for pair in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ReproError(f"--model {text}: settings go as KEY=VALUE after ':', got '{pair}'")
        try:
            settings[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ReproError(f"--model {text}: '{value}' is not a value") from None
    if not model.strip():
        raise ReproError(f"--model {text}: give a model id (repro ls models)")
    return model.strip(), settings


def parse_box(text: str):
    from repro.report.compare_images import Box

    parts = text.split(",")
    if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
        raise ReproError(f"--box {text}: expected X,Y,W,H in HR pixels, e.g. 60,100,64,64")
    return Box(*(int(p) for p in parts))


def cmd_compare_images(args: argparse.Namespace) -> int:
    from repro.machine import resolve_device
    from repro.report.compare_images import ModelChoice, compare_image, write_comparison

    models = [ModelChoice(*parse_model(m)) for m in args.model]
    boxes = [parse_box(b) for b in args.box]
    if boxes and len(boxes) != len(args.images):
        raise ReproError(
            f"{len(boxes)} --box for {len(args.images)} images: give one box per image, in "
            "order, or none (the region where the outputs differ most)"
        )
    if args.size is not None and args.size < 16:
        raise ReproError(f"--size {args.size}: give at least 16 pixels")
    if args.scale < 1:
        raise ReproError(f"--scale {args.scale}: give a whole number >= 1, e.g. 4")
    device = resolve_device(args.device)
    args.log.settings["device"] = str(device)  # the run log's resolved settings
    out = Path(args.figures).expanduser() if args.figures else current().reports / "compare"
    # every image is compared before any figure is written: a bad name writes nothing
    comparisons = [
        compare_image(
            args.dataset,
            image,
            models,
            args.scale,
            box=boxes[i] if boxes else None,
            size=args.size,
            data_root=args.data_root,
            device=device,
        )
        for i, image in enumerate(args.images)
    ]
    docs = []
    for c in comparisons:
        path = write_comparison(c, out / f"{c.dataset}_{c.image}_x{c.scale}_compare.png")
        docs.append({**c.to_dict(), "figure": path})
        args.log.files.append(str(path))
        if not args.json:
            b = c.box
            print(f"wrote {path}: box x={b.x} y={b.y} {b.w}x{b.h} ({c.picked})")
            for crop in c.crops[1:]:
                print(
                    f"  {crop.name:<28} crop {crop.psnr:7.3f} dB / {crop.ssim:.4f}   whole "
                    f"{crop.whole['psnr']:7.3f} dB / {crop.whole['ssim']:.4f}"
                )
    if args.json:
        print_json(clean({"comparisons": docs}))
    return 0
