"""Your own images on the command line: ``repro eval --hr/--lr DIR`` and ``repro card new``.

Each command checks its options, calls :mod:`repro.eval.folders` or :mod:`repro.data.card_new`
and prints; heavy modules are imported inside, as in :mod:`repro.cli.commands`.
"""

from __future__ import annotations

from pathlib import Path

from repro.cli.output import clean, print_image_rows, print_json, scoring_line
from repro.errors import ReproError


def _progress(desc: str):
    def bar(items):
        from repro.progress import progress

        return progress(items, desc, len(items))

    return bar


def save_sr_option(args) -> str:
    """How ``repro eval`` names its SR folder in messages: as the user typed it (``--save-sr``,
    or its older spelling ``--out``)."""
    typed = any(a == "--out" or a.startswith("--out=") for a in getattr(args, "argv", ()))
    return "--out" if typed else "--save-sr"


def eval_folders(args, settings: dict) -> int:
    """``repro eval --hr DIR [--lr DIR] [--out DIR]`` or ``--lr DIR`` alone."""
    from repro.eval.folders import FOLDER_PROTOCOL, LR_SOURCE, evaluate_folders, match_folders
    from repro.eval.quick import chosen_metrics
    from repro.eval.runner import finite_mean
    from repro.eval.sr_files import output_folder
    from repro.machine import resolve_device

    if args.dataset:
        raise ReproError("pass --dataset NAME or your own --hr/--lr folders, not both")
    for flag, given in (("--make-lr", args.make_lr), ("--data-root", args.data_root)):
        if given:
            raise ReproError(f"{flag} applies to --dataset; with --hr alone the LR is made here")
    device = resolve_device(args.device)  # refused before any image is read
    hr = Path(args.hr) if args.hr else None
    lr = Path(args.lr) if args.lr else None
    images = match_folders(hr, lr, args.scale)[: args.limit]
    if args.metrics is not None:
        metrics = chosen_metrics(args.metrics, hr is not None)
    else:
        metrics = [("psnr", None), ("ssim", None)] if hr is not None else []
    if not metrics and not args.save_sr:
        raise ReproError(
            "LR images alone have no ground truth: save their SR images (--save-sr DIR) and/or "
            "score them with no-reference metrics (--metrics niqe)"
        )
    protocol = {
        **FOLDER_PROTOCOL,
        "channel": args.channel or FOLDER_PROTOCOL["channel"],
        "gray": args.gray or FOLDER_PROTOCOL["gray"],
    }
    if args.tile:
        protocol["tile"] = {"size": args.tile}
    crop = args.crop if args.crop is not None else args.scale
    out = Path(args.save_sr).expanduser().absolute() if args.save_sr else None
    args.log.settings.update(
        device=str(device), protocol={**protocol, "crop": crop}, metrics=[m for m, _ in metrics]
    )
    with output_folder(out, save_sr_option(args)) as staging:
        rows, prov = evaluate_folders(
            args.model,
            args.scale,
            images,
            metrics=metrics,
            protocol=protocol,
            crop=crop,
            settings=settings,
            weights_path=args.weights,
            weights_key=args.weights_key,
            strict=not args.non_strict,
            device=device,
            out=staging,
            progress=None if args.json or args.quiet else _progress(f"{args.model} x{args.scale}"),
        )
    columns = [m for m, _ in metrics]
    means = {c: finite_mean(r[c] for r in rows) for c in columns}
    lr_source = "files" if lr is not None else LR_SOURCE
    if args.json:
        doc = {
            "model": args.model,
            "scale": args.scale,
            "hr": str(hr) if hr else None,
            "lr": str(lr) if lr else None,
            "lr_source": lr_source,
            "protocol": {**protocol, "crop": crop},
            "metrics": columns,
            "rows": rows,
            "means": {**means, "images": len(rows)},
            "out": str(out) if out else None,
            "provenance": prov,
        }
        print_json(clean(doc))
        return 0
    if hr is None:
        where = f"of {lr} (LR)"
    elif lr is not None:
        where = f"of {hr} (HR) and {lr} (LR)"
    else:
        where = (
            f"of {hr} (HR); LR made here: MATLAB bicubic of each HR mod-cropped to a multiple "
            f"of {args.scale}, uint8 ({LR_SOURCE})"
        )
    print(f"{args.model} x{args.scale} on {len(rows)} images {where}")
    if columns:
        print(scoring_line(columns, protocol, crop))
    print_image_rows(rows, means, columns, quiet=args.quiet)
    if out:
        print(f"wrote {len(rows)} SR images (PNG, named as the HR files) to {out}")
    return 0


def cmd_card(args) -> int:
    """``repro card new DIR``: write a card for a folder of images into the workspace."""
    from repro.data.card_new import card_path, new_card, write_card
    from repro.workspace import current

    ws = current()
    folder = Path(args.folder).expanduser().resolve()
    path = card_path(args.output, args.name, folder, ws)
    card = new_card(
        folder,
        name=path.stem,
        task=args.task,
        scales=tuple(args.scales) if args.scales else None,
        lr_only=args.lr_only,
    )
    loaded = write_card(card, path, force=args.force, ws=ws)
    layouts = ", ".join(layout.name for layout in loaded.layouts)
    print(
        f"wrote {loaded.path}: {loaded.description}; {len(loaded.sha256)} files with their "
        f"sha256, layout {layouts}, scales {', '.join(map(str, loaded.scales))}"
    )
    for name in loaded.exclude:
        print(f"left out {name}: not an image (as repro eval --hr leaves it out)")
    print(
        f"use it: repro eval --model bicubic --scale {loaded.scales[0]} --dataset "
        f"{loaded.name} --data-root {folder.parent}"
        + ("" if loaded.path.parent == ws.cards.resolve() else f" --cards {loaded.path.parent}")
    )
    return 0
