"""NAFSSR: stereo image super-resolution with NAFNet blocks and stereo cross-attention.

Chu, Chen, Yu, "NAFSSR: Stereo Image Super-Resolution Using NAFNet", CVPRW 2022. Official code:
megvii-research/NAFNet @ 2b4af71 (``basicsr/models/archs/NAFSSR_arch.py``, ``NAFNet_arch.py``,
``local_arch.py``, ``arch_util.py``). This is an independent implementation with the official
parameter names, so official checkpoints (``params``) load strictly.

Structure (every variant): both views share one network. ``intro`` (3x3 conv, 3 -> width), then
``num_blocks`` blocks ``body.{i}.module``, each a NAFBlock applied to each view (``blk``) followed
by a stereo cross-attention module (``fusion``, SCAM), then ``up`` (3x3 conv to 3*s^2 channels,
pixel shuffle) per view, plus the bilinear upsampling of the LR input (global residual).

TLSC (test-time local statistics converter, Chu et al. 2021, arXiv:2112.04491): the official test
builds NAFSSR with the channel attention's global average pooling replaced by a local average
pooling whose kernel is 1.5x the training patch (LR 30x90 -> kernel 45x135, in LR feature space:
NAFSSR never downsamples). Where the feature map is at most the kernel in *both* dimensions, it
falls back to global pooling; otherwise each dimension uses ``min(kernel, size)`` (a dimension
no larger than the kernel is averaged over its full extent), computed with a summed-area table
(cumulative sums, zero-padded top/left) in float32, and the valid box-filter result is padded back
to the input size with replicate padding (``floor(d/2)`` before, ``ceil(d/2)`` after). The
official ``fast_imp`` (strided, non-equivalent) variant is off in every official config and is
not implemented. ``tlsc=False`` gives the plain global pooling of NAFNet (as in training).

Input: ``N x 6 x H x W`` in [0, 1], left RGB then right RGB; output ``N x 6 x sH x sW``.

Modules: ``tlsc`` (the local pooling), ``arch`` (the network and its builder), ``weights``. The
family has no FLOPs counter: its tables report parameters and latency only.
"""

from __future__ import annotations

import functools

from repro.models.info import ModelInfo
from repro.models.nafssr.arch import SCALES, VARIANTS, build_nafssr
from repro.models.nafssr.weights import WEIGHTS

MODELS: tuple[ModelInfo, ...] = tuple(
    ModelInfo(
        id=f"nafssr-{v}",
        family="nafssr",
        variant=v,
        scales=SCALES,
        build=functools.partial(build_nafssr, v),
        description=(
            f"NAFSSR-{v.upper()} stereo SR (width {width}, {blocks} NAFBlocks + SCAM), "
            "TLSC local pooling 45x135 as the official test"
        ),
        weights={s: WEIGHTS[f"nafssr-{v}-x{s}"] for s in SCALES},
        catalogue=WEIGHTS,
        stereo=True,
        settings=("tlsc", "train_size", "drop_path_rate", "drop_out_rate"),
    )
    for v, (width, blocks) in VARIANTS.items()
)
