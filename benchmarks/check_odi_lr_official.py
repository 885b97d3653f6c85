"""Check repro.data.odi against the official ``erp_downsample_fisheye`` (run by hand, online).

Downloads ``codes/odisr/utils/erp_downsample.py`` of icandle/CAMixerSR at a pinned commit into a
temporary folder, runs it and :func:`repro.data.odi.odi_fisheye_lr` on the same 1024x2048 ERP
(Set14 baboon tiled over the sphere) and prints the share of equal LR pixels at x2 and x4.

The official file imports torchvision only for ``ToTensor``/``ToPILImage``. Where torchvision is
not importable (the pinned CPU torch has no matching wheel), a stand-in with torchvision's
documented behaviour is used: ``ToTensor`` = uint8 / 255 as float32, ``ToPILImage`` of a float
tensor = ``(255 x).byte()`` (truncation). The result is recorded in ``odi_lr_check.md``.

    python benchmarks/check_odi_lr_official.py [--source URL]   # file:// URLs work offline
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import types
import urllib.request
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from repro.data.odi import odi_fisheye_lr
from repro.imageio import read_image
from repro.paths import shared_root

COMMIT = "d4b0db7e2686e9c5c73e1b96bf9e74d1c4127d50"
URL = (
    f"https://raw.githubusercontent.com/icandle/CAMixerSR/{COMMIT}/"
    "codes/odisr/utils/erp_downsample.py"
)


def _torchvision_stand_in() -> None:
    class ToTensor:
        def __call__(self, pic):
            a = np.array(pic, copy=True)
            return torch.from_numpy(a).permute(2, 0, 1).contiguous().float().div(255)

    class ToPILImage:
        def __call__(self, pic):
            if pic.is_floating_point():
                pic = pic.mul(255).byte()
            return Image.fromarray(pic.permute(1, 2, 0).numpy())

    transforms = types.ModuleType("torchvision.transforms")
    transforms.ToTensor, transforms.ToPILImage = ToTensor, ToPILImage
    package = types.ModuleType("torchvision")
    package.transforms = transforms
    sys.modules.update({"torchvision": package, "torchvision.transforms": transforms})


def _test_erp() -> np.ndarray:
    tile = read_image(shared_root() / "data" / "Set14" / "HR" / "baboon.png")
    reps = (1024 // tile.shape[0] + 1, 2048 // tile.shape[1] + 1, 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:1024, :2048])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=URL, help="where to read the official file from")
    source = parser.parse_args().source
    try:
        import torchvision  # noqa: F401

        kind = "torchvision"
    except ImportError:
        _torchvision_stand_in()
        kind = "torchvision stand-in"
    folder = Path(tempfile.mkdtemp())
    (folder / "official_erp_downsample.py").write_bytes(urllib.request.urlopen(source).read())
    sys.path.insert(0, str(folder))
    official = importlib.import_module("official_erp_downsample")
    from torchvision import transforms

    img = _test_erp()
    print(f"official code: {source} ({kind}); torch {torch.__version__}")
    for scale in (2, 4):
        hr = transforms.ToTensor()(Image.fromarray(img))
        ref = np.asarray(transforms.ToPILImage()(official.erp_downsample_fisheye(hr, scale)))
        mine = odi_fisheye_lr(img, scale)
        diff = np.abs(ref.astype(int) - mine.astype(int))
        print(
            f"x{scale}: LR {mine.shape[1]}x{mine.shape[0]}, equal pixels "
            f"{100 * (diff == 0).mean():.4f} %, max |diff| {diff.max()}"
        )


if __name__ == "__main__":
    main()
