"""CAMixerSR (CVPR 2024, "Only Details Need More Attention") and the 360-degree CAMixerOSR.

Written from the structure of the official code (icandle/CAMixerSR @ d690b12,
``codes/basicsr/archs/CAMixerSR_arch.py`` and ``codes/odisr/archs/CAMixerOSR_arch.py``): the module
tree and the parameter names are the official ones, so the released checkpoints load strictly.
This is an inference implementation (the training path with differentiable masks is not here).

Modules: ``routing`` (gamma, mode, seed), ``blocks`` (layer norm, feed-forward, predictor, window
helpers), ``mixer`` (CAMixer), ``network`` (what both networks share), ``arch`` (CAMixerSR),
``osr`` (CAMixerOSR with its DCNv2), ``flops`` (FLOPs and the table counter), ``weights``.

Attention ratio gamma (``ratio``)
---------------------------------
gamma is the share of 16x16 windows that get (deformable) window self-attention; the rest get
``v * sa`` (value times the predictor's spatial attention). It is set at construction and can be
changed at any time with :meth:`CAMixerSR.set_ratio` (or the ``ratio`` property). The windows are
ranked by the predictor's score ``pred_score[..., 0]`` (descending, ``torch.argsort`` as the
official code); what differs between the two modes is how many windows are kept:

``mode="official"``
    As the official eval path, per block and per call: ``F.gumbel_softmax(pred_score, hard=True)``
    is drawn (the softmax output is used as logits), ``r`` = share of windows whose sample picked
    class 0 (mean over batch and windows, float32) and ``num_keep = min(int(N * r * 2 * gamma), N)``
    (``N`` when gamma == 1, where the draw is still made so the random stream advances as in the
    official code). CAMixerOSR's official eval path ignores gamma: ``num_keep = int(N * r)``.
    The draw comes from the global torch RNG when ``seed`` is None; with an integer ``seed`` from a
    private generator reset to ``seed`` at the start of every call (the same numbers as
    ``torch.manual_seed(seed)`` right before the official forward, on CPU), so every call is
    repeatable. :meth:`CAMixerSR.rng_session` keeps one stream across several calls (used by the
    tiled inference, which seeds once per image as the official test seeds once per run).
``mode="deterministic"``
    No sampling: every block keeps the top ``floor(N * gamma + 0.5)`` windows (round half up,
    clamped to 0..N). The same input always gives the same output; no RNG is consumed.

Sparse compute: with ``num_keep < N`` only the kept windows are gathered (queries, keys, the
deformable warp of the keys, the values), attended and scattered back into ``v * sa``; with
``num_keep == N`` all windows are attended in place, without gather or sort, and without the
spatial-attention / score heads that cannot change the output then (deterministic mode).

Capturable forward (CUDA graphs, ``torch.compile``)
---------------------------------------------------
The constant tables (window grid, latitude map, mean) are built once per shape on the model's
device (:mod:`repro.models.device_tables`); a forward copies nothing from the host and makes no
generator (the private one is made with the model and remade where it moves). The official
mode's random numbers are drawn before the blocks run (:meth:`CAMixerSR.draw`, the same numbers
in the same order as drawing inside each block); ``forward(x, draws=...)`` takes them from
outside, which a traced or captured forward needs (dynamo cannot trace a private generator).
Deterministic mode's window count follows from the input size and gamma alone. The official
count is drawn: eager, it is read back to gather only the kept windows; traced or captured, the
largest count the draw allows is gathered and the drawn one applied by a mask (same output).

Inputs are N x 3 x H x W floats in [0, 1]; the model reflect-pads bottom/right to a multiple of
16 (as the official ``check_image_size``) and crops the output to ``scale*H x scale*W``.
"""

from __future__ import annotations

import functools

from repro.models.camixersr.arch import build_camixersr
from repro.models.camixersr.flops import complexity
from repro.models.camixersr.osr import build_camixerosr
from repro.models.camixersr.weights import DEFAULTS, WEIGHTS
from repro.models.info import ModelInfo

_SETTINGS = ("ratio", "mode", "seed")
_SETTINGS_HELP = (
    "; settings ratio (gamma), mode (official|deterministic), seed (int, or none = global RNG)"
)
_DESCRIPTIONS = {
    "s": "CAMixerSR-S (n_feats 36), large-image SR",
    "m": "CAMixerSR-M (n_feats 48), large-image SR",
    "b": "CAMixerSR-B (n_feats 60), lightweight and large-image SR",
}


def _defaults(variant: str) -> dict:
    return {s: WEIGHTS[i] for s, i in DEFAULTS[variant].items()}


MODELS: tuple[ModelInfo, ...] = (
    *(
        ModelInfo(
            id=f"camixersr-{v}",
            family="camixersr",
            variant=v,
            scales=(2, 3, 4),
            build=functools.partial(build_camixersr, v),
            description=_DESCRIPTIONS[v] + _SETTINGS_HELP,
            weights=_defaults(v),
            catalogue=WEIGHTS,
            settings=_SETTINGS,
            complexity=complexity,
        )
        for v in ("s", "m", "b")
    ),
    ModelInfo(
        id="camixersr-osr",
        family="camixersr",
        variant="osr",
        scales=(2, 4),
        build=build_camixerosr,
        description="CAMixerOSR (360-degree SR, n_block [6,6,6,6], n_feats 60); forward(x, "
        "condition=None) with a cos-latitude condition built from the LR size",
        weights=_defaults("osr"),
        catalogue=WEIGHTS,
        settings=_SETTINGS,
        complexity=complexity,
    ),
)
