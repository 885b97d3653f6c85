"""``repro eval`` (a model on a dataset or on your own folders) and ``repro score`` (metrics on
image files): each checks its options, calls :mod:`repro.eval.quick` (or
:mod:`repro.eval.folders`, through :mod:`repro.cli.own_images`) and prints the same tidy table:
the protocol the values were scored under, one line per image, the means."""

from __future__ import annotations

from pathlib import Path

from repro.cli.output import clean, print_image_rows, print_json, scoring_line
from repro.cli.own_images import eval_folders, save_sr_option
from repro.errors import ReproError


def parse_settings(pairs: list[str]) -> dict:
    """``--set KEY=VALUE`` pairs, each value read as YAML (a number, true/false, a word)."""
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
        return eval_folders(args, parse_settings(args.set))
    from repro.data.loaders import open_dataset, require_in_data_root
    from repro.eval import distributed
    from repro.eval.quick import chosen_metrics, dataset_job
    from repro.eval.runner import evaluate, finite_mean, means, to_frame
    from repro.eval.sr_files import output_folder
    from repro.machine import resolve_device

    if not args.dataset:
        raise ReproError(
            "name the images: --dataset NAME (repro ls datasets), or your own "
            "folders: --hr DIR and/or --lr DIR"
        )
    settings = parse_settings(args.set)
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
        strict=not args.non_strict,
    )
    out = Path(args.save_sr).expanduser().absolute() if args.save_sr else None
    args.log.settings.update(
        device=str(device), protocol={**job.protocol, "crop": job.crop}, metrics=job.metrics
    )
    with output_folder(out, save_sr_option(args)) as staging:
        rows, prov = evaluate(
            job,
            data,
            device=device,
            progress=not (args.json or args.quiet),
            save_sr=staging,
        )
    if not distributed.is_main():
        return 0
    columns = [f"{m}@{v}" if v else m for m, v in job.metrics]
    if args.json:
        print_json(
            clean(
                {
                    "model": args.model,
                    "dataset": job.dataset,
                    "scale": args.scale,
                    "protocol": {**job.protocol, "crop": job.crop},
                    "rows": rows,
                    "means": means(to_frame(rows)).to_dict(orient="records"),
                    "out": str(out) if out else None,
                    "provenance": prov,
                }
            )
        )
        return 0
    lr = "its LR files" if data.lr_source == "official" else f"LR made here ({data.lr_source})"
    print(f"{args.model} x{args.scale} on {job.dataset}: {len(data)} images, {lr}")
    print(scoring_line(columns, job.protocol, job.crop))
    mean = {c: finite_mean(r.get(c) for r in rows) for c in columns}
    print_image_rows(rows, mean, columns, quiet=args.quiet)
    if out:
        print(f"wrote the SR images (PNG, named as the HR files) to {out}")
    return 0


def cmd_score(args) -> int:
    from repro.eval.quick import score_files
    from repro.metrics import get_metric

    metrics = [get_metric(name) for name in dict.fromkeys(args.metrics)]
    ref = Path(args.ref) if args.ref else None
    protocol = {"channel": args.channel, "gray": args.gray}
    rows, means = score_files(
        metrics, ref, Path(args.dist), protocol=protocol, crop=args.crop, multiple=args.mod_crop
    )
    names = [m.name for m in metrics]
    per_image = [m.name for m in metrics if not m.set_level]
    if args.json:
        doc = {
            "metrics": names,
            "protocol": {**protocol, "crop": args.crop, "mod_crop": args.mod_crop},
            "rows": rows,
            "means": means,
        }
        if len(metrics) == 1:  # the one-metric document of earlier versions, kept for scripts
            name = names[0]
            values = {r["image"]: r[name] for r in rows if name in r}
            doc.update(metric=name, channel=args.channel, crop=args.crop, values=values)
            doc["mean"] = means[name]
        print_json(clean(doc))
        return 0
    print(scoring_line(names, {"ssim": "matlab", **protocol}, args.crop, args.mod_crop))
    if per_image:
        print_image_rows(rows, means, per_image, seconds=False, quiet=args.quiet)
    for m in (m for m in metrics if m.set_level):
        print(f"{m.name} (one value for the two sets of {len(rows)} images): {means[m.name]:.4f}")
    return 0
