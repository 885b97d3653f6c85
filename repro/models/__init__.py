"""Model registry and builders: ``repro.models.build("camixersr", "s", scale=4, ratio=0.5)``.

One package per model family (``camixersr/``, ``esc/``, ``nafssr/``; ``bicubic`` is one small
module): architecture modules that mirror the official classes, ``flops``, ``weights`` (the
family's catalogue) and an ``__init__`` declaring the family's variants as ``MODELS``, which
:mod:`repro.models.registry` lists. Models from outside the package (a ``module.path:factory``,
entry-point families, any spandrel checkpoint) enter through the same registry: README.md here.

Code kept more than once on purpose (the one list of such mirrors; ``duplicates`` shows no
other pair under ``repro/models``): ``LayerNorm2d``, a channels-first layer norm, in

- ``camixersr/blocks.py``: CAMixerSR's official ``LayerNorm`` line for line (mean, biased
  variance, ``torch.sqrt``);
- ``esc/blocks.py``: ESC's, ``F.layer_norm`` on a channels-last view (its results differ from
  the other two by float rounding, ~1e-6);
- ``nafssr/arch.py``: NAFNet's ``LayerNorm2d`` forward (``(var + eps).sqrt()``).

Each family thus reads as its official code and its golden test checks that code alone.
"""

from repro.models.info import ModelInfo
from repro.models.registry import all_models, build, get

__all__ = ["ModelInfo", "all_models", "build", "get"]
