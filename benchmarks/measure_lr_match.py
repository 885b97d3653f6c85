"""How well ``make_lr`` reproduces the official (MATLAB-made) LR files, per set, scale, rounding.

Usage: python benchmarks/measure_lr_match.py [--sets Set5 Set14 B100 Urban100_subset20]
       > benchmarks/lr_match.md

Prints markdown: the share of LR pixel values (all channels) equal to the official LR, the
largest absolute difference and the number of images, for both roundings ("matlab", "float")
and both boundaries ("symmetric" = MATLAB R2007b+, "replicate" = older MATLAB). A diagnostic
section repeats "matlab"/"symmetric" with the two 1-D passes in the other order (columns
first), to show that MATLAB's order (rows first on equal scales) is the one that made the files.
HR is cropped to LR size * scale (for B100's 321x480 HR this is the top-left crop that
SOURCES.txt describes; for the others it equals modcrop).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time

import numpy as np
import torch

from repro.data.imresize import BOUNDARY_MODES, ROUNDING_MODES, make_lr, modcrop
from repro.imageio import read_image
from repro.paths import shared_root

SCALES = {"Urban100_subset20": (4,)}  # SelfExSR's Urban100 x2 LR is non-standard (SOURCES.txt)


def pairs(dataset: str, scale: int):
    root = shared_root() / "data" / dataset
    for hr_path in sorted((root / "HR").glob("*.png")):
        lr = read_image(root / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png")
        hr = read_image(hr_path)[: lr.shape[0] * scale, : lr.shape[1] * scale]
        yield hr_path.stem, hr, lr


def lr_columns_first(hr: np.ndarray, scale: int) -> np.ndarray:
    """make_lr with the W pass first: transpose, resize (H first), transpose back."""
    t = np.ascontiguousarray(modcrop(hr, scale).transpose(1, 0, 2))
    return np.ascontiguousarray(make_lr(t, scale, rounding="matlab").transpose(1, 0, 2))


def measure(dataset: str, scale: int, makers: dict) -> dict:
    eq = dict.fromkeys(makers, 0)
    mx = dict.fromkeys(makers, 0)
    n_img = n_px = 0
    for name, hr, lr in pairs(dataset, scale):
        n_img += 1
        n_px += lr.size
        for key, fn in makers.items():
            mine = fn(hr, scale)
            if mine.shape != lr.shape:
                raise SystemExit(f"{dataset} x{scale} {name}: shape {mine.shape} != {lr.shape}")
            d = np.abs(mine.astype(np.int16) - lr.astype(np.int16))
            eq[key] += int(np.count_nonzero(d == 0))
            mx[key] = max(mx[key], int(d.max()))
    return {k: (eq[k] / n_px, mx[k], n_img) for k in makers}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["Set5", "Set14", "B100", "Urban100_subset20"])
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # small images: one thread is fastest on a busy 2-core machine
    makers = {
        (b, m): (lambda hr, s, b=b, m=m: make_lr(hr, s, rounding=m, boundary=b))
        for b in BOUNDARY_MODES
        for m in ROUNDING_MODES
    }
    t0 = time.time()
    print("# make_lr vs official LR files\n")
    print(f"- command: `python {' '.join(['benchmarks/measure_lr_match.py', *sys.argv[1:]])}`")
    print(f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}")
    print("- share = LR pixel values (all channels) equal to the official LR; max = largest")
    print("  absolute difference. rounding and boundary as in `repro.data.imresize`: rounding")
    print("  `matlab` rounds to uint8 between the passes, `float` only at the end; boundary")
    print("  `symmetric` is MATLAB R2007b+, `replicate` older MATLAB.\n")
    print("| set | scale | boundary | rounding | share equal | max abs diff | images |")
    print("|---|---|---|---|---|---|---|")
    for ds in args.sets:
        for s in SCALES.get(ds, (2, 3, 4)):
            res = measure(ds, s, makers)
            for (b, m), (share, mx, n) in res.items():
                print(f"| {ds} | x{s} | {b} | {m} | {share:.5f} | {mx} | {n} |", flush=True)
    print("\n## Diagnostic: pass order (rounding matlab, boundary symmetric)\n")
    print("| set | scale | rows first (MATLAB) | columns first |")
    print("|---|---|---|---|")
    diag = {"rows": makers[("symmetric", "matlab")], "cols": lr_columns_first}
    for ds in [d for d in args.sets if d in ("Set5", "Set14")]:
        for s in (2, 3, 4):
            res = measure(ds, s, diag)
            print(f"| {ds} | x{s} | {res['rows'][0]:.5f} | {res['cols'][0]:.5f} |", flush=True)
    print(f"\n(total {time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
