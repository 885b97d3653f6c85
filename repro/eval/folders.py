"""Your own images, without a dataset card: ``repro eval --hr DIR [--lr DIR] [--out DIR]``.

A folder of HR images (the LR made the papers' way: mod-crop, MATLAB bicubic, uint8 rounding),
an HR/LR folder pair (files matched by name), or LR images alone (upscaled and saved, or scored
with no-reference metrics) go through a registered model. The SR images go, on request, to a
new folder that appears only once every image is written (:mod:`repro.eval.sr_files`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from repro.data.imresize import make_lr
from repro.errors import DataError, NonFiniteOutputError
from repro.eval.loaded import load
from repro.eval.predictor import make_predictor, refuse_non_finite
from repro.eval.runner import warm_up
from repro.eval.scoring import score
from repro.eval.sr_files import sr_name
from repro.imageio import IMAGE_SUFFIXES, is_image_file, read_image, write_image
from repro.machine import device_provenance
from repro.models import registry

# Classic SR scoring, as most SR papers report PSNR/SSIM: Y of BT.601, `scale` border pixels
# cropped, gray images as three identical channels (BasicSR), MATLAB's Gaussian SSIM.
FOLDER_PROTOCOL = {"channel": "y", "crop": "scale", "gray": "rgb3", "ssim": "matlab"}
# How an absent LR is made: as the classic benchmarks' LR files were (EDSR/SwinIR Set5, Set14)
LR_ROUNDING, LR_BOUNDARY = "matlab", "symmetric"
LR_SOURCE = f"bicubic-{LR_ROUNDING}-{LR_BOUNDARY}"  # named as Dataset.lr_source names it


@dataclass(frozen=True)
class Image:
    """One image of the folders: its name (the HR file's, else the LR's) and its files."""

    name: str
    hr: Path | None
    lr: Path | None


def _listed(folder: Path, option: str) -> dict[str, Path]:
    """The image files of a folder by stem (one file per stem); an error when there are none."""
    if not folder.is_dir():
        raise DataError(f"{option} {folder} is not a folder; pass a folder of images")
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    images: dict[str, Path] = {}
    for path in filter(is_image_file, files):
        if path.stem in images:
            raise DataError(
                f"{option} {folder} holds {images[path.stem].name} and {path.name}: one image "
                "per name, so that LR, HR and SR files pair up; move one away"
            )
        images[path.stem] = path
    if not images:
        kinds = ", ".join(sorted(IMAGE_SUFFIXES))
        raise DataError(f"{option} {folder} holds no images ({kinds}); check the folder")
    return images


def match_folders(hr_dir: Path | None, lr_dir: Path | None, scale: int) -> list[Image]:
    """The images of an HR folder, an LR folder, or both matched by name.

    An LR file pairs with the HR file of the same stem, or of the stem with the EDSR benchmark
    suffix (``baby.png`` <- ``babyx4.png`` at x4). Every HR image needs its LR and vice versa:
    scoring the files that happen to pair would hide the ones that do not.
    """
    hr = _listed(hr_dir, "--hr") if hr_dir is not None else {}
    lr = _listed(lr_dir, "--lr") if lr_dir is not None else {}
    if not lr:
        return [Image(p.name, p, None) for p in hr.values()]
    if not hr:
        return [Image(p.name, None, p) for p in lr.values()]
    unpaired = dict(lr)
    images = []
    for stem, path in hr.items():
        low = unpaired.pop(stem, None) or unpaired.pop(f"{stem}x{scale}", None)
        if low is None:
            raise DataError(
                f"no LR image for {path.name} in {lr_dir} (looked for {stem}.* and "
                f"{stem}x{scale}.*); every HR image needs its LR"
            )
        images.append(Image(path.name, path, low))
    if unpaired:
        extra = next(iter(unpaired.values())).name
        raise DataError(
            f"{extra} in {lr_dir} has no HR image of the same name in {hr_dir}; every LR "
            "image needs its HR (or leave out --hr to only upscale)"
        )
    return images


def load_image(image: Image, scale: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(LR, HR or None): the LR read or made from the HR; the HR mod-cropped to scale x LR."""
    hr = read_image(image.hr) if image.hr is not None else None
    if image.lr is None:
        try:
            lr = make_lr(hr, scale, rounding=LR_ROUNDING, boundary=LR_BOUNDARY)
        except DataError as exc:
            raise DataError(f"{image.hr}: {exc}") from None
        return lr, hr[: lr.shape[0] * scale, : lr.shape[1] * scale]
    lr = read_image(image.lr)
    if hr is None:
        return lr, None
    h, w = lr.shape[0] * scale, lr.shape[1] * scale
    if not (0 <= hr.shape[0] - h < scale and 0 <= hr.shape[1] - w < scale):
        raise DataError(
            f"{image.hr.name}: HR {hr.shape[1]}x{hr.shape[0]} is not x{scale} the LR "
            f"{image.lr.name} {lr.shape[1]}x{lr.shape[0]} (expected {w}x{h}, plus fewer than "
            f"{scale} pixels the mod-crop removes); is the LR of another scale?"
        )
    if hr.shape[2] != lr.shape[2]:
        raise DataError(
            f"{image.hr.name}: HR has {hr.shape[2]} channel(s), LR {image.lr.name} "
            f"{lr.shape[2]}; make the LR from this HR (leave out --lr)"
        )
    return lr, hr[:h, :w]


def evaluate_folders(
    model: str,
    scale: int,
    images: list[Image],
    *,
    metrics: list[tuple[str, None]],
    protocol: dict,
    crop: int,
    settings: dict | None = None,
    weights_path: str | None = None,
    weights_key: str | None = None,
    strict: bool = True,
    device: torch.device | str = "cpu",
    out: Path | None = None,
    seed: int = 0,
    progress: Callable[[list[Image]], Iterator[Image]] | None = None,
) -> tuple[list[dict], dict]:
    """One row per image (its metrics and the forward's seconds), and the run's provenance.

    With ``out`` each SR output is saved there as PNG under its HR file's name (an LR image
    alone: its name without the ``x{scale}`` suffix, :func:`repro.eval.sr_files.sr_name`), so
    that ``repro score --ref HR --dist OUT`` pairs them. ``seconds`` is the forward pass alone,
    after one untimed warm-up forward (:func:`repro.eval.runner.warm_up`).
    """
    info = registry.get(model)
    if info.stereo and not info.any_views:
        raise DataError(f"{info.id} takes left/right stereo pairs; folders hold single images")
    loaded = load(
        info.id,
        scale,
        settings,
        weights_path=weights_path,
        weights_key=weights_key,
        device=torch.device(device),
        strict=strict,
    )
    module, model_prov, ran_on = loaded.module, loaded.provenance, loaded.device
    predict = make_predictor(info.id, module, device=ran_on, tile=protocol.get("tile"))
    rows = []
    guard = module.register_forward_hook(refuse_non_finite)
    try:
        for i, image in enumerate(progress(images) if progress else images):
            lr, hr = load_image(image, scale)
            if i == 0:
                warm_up(predict, lr, seed, image.name)
            torch.manual_seed(seed)  # models that sample (CAMixerSR official mode) are seeded
            start = time.perf_counter()
            try:
                sr = predict(lr)
            except NonFiniteOutputError as exc:
                raise NonFiniteOutputError(f"{image.name}: {exc}") from None
            seconds = time.perf_counter() - start
            if out is not None:  # under the HR's name (an LR alone: without its x4 suffix)
                name = Path(image.name).stem + ".png" if image.hr else sr_name(image.name, scale)
                write_image(out / name, sr)
            values = score(sr, hr, metrics, protocol, crop) if metrics else {}
            rows.append({"image": image.name, **values, "seconds": seconds})
    finally:
        guard.remove()
    return rows, {"model": model_prov, "device": device_provenance(ran_on), "seed": seed}
