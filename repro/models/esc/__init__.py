"""ESC: Emulating Self-attention with Convolution (Lee, Yun, Ro; ICCV 2025).

A re-implementation of the official architectures in dslisleedh/ESC @ e7e6938
(``esc/archs/esc_arch.py``: ``ESC``; ``esc_fp_arch.py``: ``ESCFP``; ``esc_real_arch.py``:
``ESCReal``) with the official parameter names, so official checkpoints (``params_ema``) load
strictly. Variants and constructor arguments follow ``options/test/*.yaml``:

| id | class | dim | pdim | blocks | ConvAttns | window | heads | exp. | extra |
|---|---|---|---|---|---|---|---|---|---|
| ``esc-fp`` | ESCFP | 48 | 16 | 5 | 5 | 32 | 3 | 1.25 | decomposed LK, LN before ConvFFNs |
| ``esc-light`` | ESC | 64 | 16 | 3 | 5 | 32 | 4 | 1.25 | |
| ``esc`` | ESC | 64 | 16 | 5 | 5 | 32 | 4 | 1.25 | |
| ``esc-xl`` | ESC | 192 | 48 | 8 | 5 | 48 | 12 | 1.25 | ``use_ln`` (LN before ConvFFNs) |
| ``esc-real`` | ESCReal | 64 | 16 | 10 | 5 | 32 | 4 | 2 | x4 only, RealESRGAN upsampler |

All use a 13x13 large kernel. Forward: ``N x 3 x H x W`` float in [0, 1] ->
``N x 3 x sH x sW``. As in the official code, every window attention reflect-pads its input to a
multiple of the window and crops back, so any size works from ``window // 2 + 1`` pixels up
(smaller inputs raise :class:`repro.errors.ReproError`; the official code fails there too).
Unlike the official evaluation path (batch 1 only), the dynamic 3x3 kernels are applied per
sample, so batches of any size work.

The attention backend is a setting (``backend``: auto, matmul, sdpa, flex, flex-eager; see
:mod:`repro.models.esc.attention`). The golden outputs were made with the official "Naive"
(matmul) path.

Modules: ``variants`` (configurations), ``attention`` (window-attention backends), ``blocks``,
``arch`` (the three networks), ``flops`` (FLOPs, parameters, the table counter), ``weights``.
"""

from __future__ import annotations

import functools

from repro.models.esc.arch import build_esc
from repro.models.esc.flops import complexity
from repro.models.esc.variants import MODEL_IDS, VARIANT_SCALES
from repro.models.esc.weights import DEFAULTS, WEIGHTS
from repro.models.info import ModelInfo

_DESCRIPTIONS = {
    "fp": "ESC-FP (48 ch, 5 blocks, decomposed LK; fewest FLOPs/params)",
    "light": "ESC-light (64 ch, 3 blocks; lowest latency)",
    "base": "ESC (64 ch, 5 blocks)",
    "xl": "ESC-XL (192 ch, 8 blocks, window 48; seed Table 10)",
    "real": "ESC-Real (real-world SR, x4, RealESRGAN upsampler)",
}

MODELS: tuple[ModelInfo, ...] = tuple(
    ModelInfo(
        id=model_id,
        family="esc",
        variant=v,
        scales=VARIANT_SCALES[v],
        build=functools.partial(build_esc, v),
        description=_DESCRIPTIONS[v],
        weights={s: WEIGHTS[DEFAULTS[v].format(s)] for s in VARIANT_SCALES[v]},
        catalogue=WEIGHTS,
        settings=("backend",),
        complexity=complexity,
    )
    for v, model_id in MODEL_IDS.items()
)
