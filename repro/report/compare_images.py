"""The visual comparison SR papers print: one zoomed region of a test image, cut from the HR
image, the bicubic upscaling and each model's output, each with its PSNR/SSIM.

The models super-resolve the dataset's LR image (its official files where it has them) through
the same loaders and predictors as a table run. Each crop is scored against the HR crop under the
dataset's scoring protocol (its channel, SSIM kind and gray-image policy) with no border crop
inside the box; the whole image's scores (the protocol's border crop) are given beside them.
Without a box, the region is the square where the outputs differ most from each other: the
largest sum, over a window, of the per-pixel spread of the outputs' luminance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from repro.data.loaders import open_dataset
from repro.errors import DataError, ReproError
from repro.eval.predictor import load_model, make_predictor
from repro.eval.scoring import score
from repro.imageio import to_rgb3
from repro.metrics.color import rgb_to_y

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 110
MIN_BOX = 16  # pixels: room for SSIM's 11x11 window
BICUBIC = "bicubic"
METRICS = [("psnr", None), ("ssim", None)]
SSIM_NAMES = {"matlab": "MATLAB's Gaussian SSIM", "skimage": "scikit-image's SSIM"}


@dataclass(frozen=True)
class Box:
    """A region of the HR image, in HR pixels."""

    x: int
    y: int
    w: int
    h: int

    def cut(self, img: np.ndarray) -> np.ndarray:
        return img[self.y : self.y + self.h, self.x : self.x + self.w]

    def check(self, height: int, width: int) -> None:
        if min(self.w, self.h) < MIN_BOX:
            raise ReproError(f"box {self}: give a box of at least {MIN_BOX}x{MIN_BOX} pixels")
        if self.x < 0 or self.y < 0 or self.x + self.w > width or self.y + self.h > height:
            raise ReproError(
                f"box x={self.x} y={self.y} {self.w}x{self.h} leaves the {width}x{height} HR "
                "image; give x,y,w,h inside it"
            )


@dataclass(frozen=True)
class ModelChoice:
    """A model to compare, with its settings (e.g. CAMixerSR's ratio)."""

    model: str
    settings: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.settings.items())
        return f"{self.model} {extra}" if extra else self.model


@dataclass
class Crop:
    name: str  # HR, bicubic, or a model's label
    pixels: np.ndarray  # the crop, uint8
    psnr: float | None  # of the crop against the HR crop (None for HR)
    ssim: float | None
    whole: dict[str, float] = field(default_factory=dict)  # psnr/ssim of the whole image


@dataclass
class Comparison:
    dataset: str
    image: str
    scale: int
    box: Box
    picked: str  # "given", or how the box was chosen
    protocol: dict  # channel, gray, ssim; crop: the whole image's border crop
    hr: np.ndarray
    crops: list[Crop]

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "image": self.image,
            "scale": self.scale,
            "box": {"x": self.box.x, "y": self.box.y, "w": self.box.w, "h": self.box.h},
            "picked": self.picked,
            "protocol": self.protocol,
            "crops": [
                {"name": c.name, "psnr": c.psnr, "ssim": c.ssim, "whole": c.whole}
                for c in self.crops
            ],
        }


def luminance(img: np.ndarray) -> np.ndarray:
    """Y (BT.601, 16..235) of an image; a gray one as three equal channels, so that one-channel
    and RGB outputs of one gray image compare."""
    return rgb_to_y(_shown(img))


def pick_box(outputs: list[np.ndarray], size: int, margin: int) -> Box:
    """The size x size square (at least ``margin`` pixels from every edge) where the outputs
    differ most: the largest window sum of the per-pixel standard deviation of their luminance."""
    spread = np.std(np.stack([luminance(o) for o in outputs]), axis=0)
    height, width = spread.shape
    if min(height, width) - 2 * margin < size:
        raise ReproError(f"the image ({width}x{height}) is too small for a {size}px box")
    total = np.pad(spread.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = total[size:, size:] - total[:-size, size:] - total[size:, :-size] + total[:-size, :-size]
    inner = sums[margin : height - size - margin + 1, margin : width - size - margin + 1]
    y, x = np.unravel_index(np.argmax(inner), inner.shape)
    return Box(int(x) + margin, int(y) + margin, size, size)


def compare_image(
    dataset: str,
    image: str,
    models: list[ModelChoice],
    scale: int,
    *,
    box: Box | None = None,
    size: int | None = None,
    data_root: str | None = None,
    device: str = "cpu",
) -> Comparison:
    """Super-resolve one image of a dataset with bicubic and each model and cut the same box
    from every output (``box``, else the region where they differ most, ``size`` pixels)."""
    data = open_dataset(dataset, scale, data_root=data_root)
    if image not in data.names:
        shown = ", ".join(data.names[:12]) + (", ..." if len(data.names) > 12 else "")
        raise DataError(f"{data.card.name} has no image '{image}'; its images: {shown}")
    if len(data.layout.views or ("",)) != 1:
        raise ReproError(f"{data.card.name} holds stereo pairs: compare single images")
    sample = data.load(image)
    if sample.hr is None:
        raise ReproError(f"{data.card.name} has no HR images: nothing to compare the crops with")
    hr = sample.hr
    choices = [ModelChoice(BICUBIC)] + [m for m in models if m != ModelChoice(BICUBIC)]
    outputs = {}
    for choice in choices:
        module, _ = load_model(choice.model, scale, choice.settings, device=device)
        outputs[choice.label] = make_predictor(choice.model, module, device=device)(sample.lr)
    protocol = {
        "channel": data.card.protocol.channel,
        "gray": "rgb3",
        "ssim": "matlab",
        "crop": scale if data.card.protocol.crop == "scale" else int(data.card.protocol.crop),
    }
    if box is None:
        side = size or max(MIN_BOX * 2, min(hr.shape[:2]) // 5)
        box = pick_box(list(outputs.values()), side, protocol["crop"])
        picked = "picked where the outputs differ most"
    else:
        box.check(*hr.shape[:2])
        picked = "given"
    how = {k: v for k, v in protocol.items() if k != "crop"}
    crops = [Crop("HR", box.cut(hr), None, None)]
    for name, sr in outputs.items():
        part = score(box.cut(sr), box.cut(hr), METRICS, how, 0)
        whole = score(sr, hr, METRICS, how, protocol["crop"])
        crops.append(Crop(name, box.cut(sr), part["psnr"], part["ssim"], whole))
    return Comparison(data.card.name, image, scale, box, picked, protocol, hr, crops)


# --------------------------------------------------------------------------- the figure
def _shown(img: np.ndarray) -> np.ndarray:
    return to_rgb3(img) if img.shape[2] == 1 else img


def comparison_figure(c: Comparison) -> Figure:
    """The full HR image with the box on the left, the crops on a grid on the right, each named
    with its PSNR/SSIM (the best of the outputs in bold)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n = len(c.crops)
    cols = n if n <= 4 else (n + 1) // 2
    rows = 1 if n <= 4 else 2
    side, label, gap = 1.7, 0.42, 0.12  # inches: a crop, its label under it, between crops
    height_img, width_img = c.hr.shape[:2]
    grid_h = rows * (side + label) + (rows - 1) * gap
    full_h = grid_h
    full_w = full_h * width_img / height_img
    if full_w > 5.0:  # a wide image: keep it readable, the crops stay square
        full_w, full_h = 5.0, 5.0 * height_img / width_img
    head, foot, left = 0.45, 0.5, 0.15
    width = left + full_w + 0.3 + cols * side + (cols - 1) * gap + 0.15
    height = head + max(grid_h, full_h) + foot
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(
        (
            left / width,
            (foot + max(grid_h, full_h) - full_h) / height,
            full_w / width,
            full_h / height,
        )
    )
    ax.imshow(_shown(c.hr))
    b = c.box
    ax.add_patch(Rectangle((b.x - 0.5, b.y - 0.5), b.w, b.h, fill=False, color="red", lw=1.6))
    ax.set_axis_off()
    ax.set_title(f"{c.dataset} {c.image} (HR)", fontsize=8)
    scored = [k for k in c.crops if k.psnr is not None]
    best_psnr = max(k.psnr for k in scored)
    best_ssim = max(k.ssim for k in scored)
    x0 = left + full_w + 0.3
    for i, crop in enumerate(c.crops):
        r, q = divmod(i, cols)
        top = foot + grid_h - r * (side + label + gap)
        cax = fig.add_axes(
            ((x0 + q * (side + gap)) / width, (top - side) / height, side / width, side / height)
        )
        cax.imshow(_shown(crop.pixels), interpolation="nearest")
        cax.set_xticks([])
        cax.set_yticks([])
        for spine in cax.spines.values():
            spine.set_color("red" if crop.psnr is None else "0.6")
        cax.set_gid(crop.name)
        cax.text(
            0.5, -0.04, crop.name, transform=cax.transAxes, ha="center", va="top", fontsize=7.5
        )
        if crop.psnr is None:
            cax.text(0.5, -0.17, "PSNR / SSIM", **_under(cax))
            continue
        for x, text, best, ha in (
            (0.47, f"{crop.psnr:.2f}", crop.psnr == best_psnr, "right"),
            (0.5, "/", False, "center"),
            (0.53, f"{crop.ssim:.4f}", crop.ssim == best_ssim, "left"),
        ):
            weight = "bold" if best and len(scored) > 1 else "normal"
            cax.text(x, -0.17, text, **{**_under(cax), "ha": ha}, fontweight=weight)
    p = c.protocol
    fig.text(
        left / width,
        1 - 0.1 / height,
        f"{c.dataset} {c.image} x{c.scale}: box x={b.x} y={b.y} {b.w}x{b.h} ({c.picked})",
        ha="left",
        va="top",
        fontsize=9.5,
    )
    whole = "; ".join(f"{k.name} {k.whole['psnr']:.2f} / {k.whole['ssim']:.4f}" for k in scored)
    fig.text(
        left / width,
        0.08 / height,
        f"PSNR (dB) / SSIM of each crop on {p['channel'].upper()} ({SSIM_NAMES[p['ssim']]}), "
        f"the box as it is; bold: the best output. Whole image (border crop {p['crop']}): "
        f"{whole}",
        ha="left",
        va="bottom",
        fontsize=6.5,
        wrap=True,
    )
    return fig


def _under(ax) -> dict:
    """Text under a crop, centred."""
    return {"transform": ax.transAxes, "ha": "center", "va": "top", "fontsize": 7.5}


def write_comparison(c: Comparison, path: Path) -> str:
    """The figure as a PNG at ``path`` (written atomically)."""
    from repro.report.plots import save_png

    path.parent.mkdir(parents=True, exist_ok=True)
    return save_png(comparison_figure(c), path)
