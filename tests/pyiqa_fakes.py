"""Random-initialised weight files of the right shapes, under the official pyiqa file names.

Each network is built from pyiqa's (and its CLIP copy's) own architecture code without
pretrained weights, seeded, and its state dict saved where the official file would lie. They
cost what the real weights cost to run, and prove the wiring; their sha256 is not the
official one, so a test registers it on the entry (see :func:`register`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import torch

from repro.metrics import pyiqa_backend as backend
from repro.metrics.pyiqa_hub import offline_hub

# OpenAI CLIP RN50 (openai/CLIP clip/model.py build_model on RN50.pt): embed 1024, 224 px,
# ResNet layers (3, 4, 6, 3) of width 64; text: 77 tokens, 49408 words, width 512, 8 heads,
# 12 layers.
_RN50 = dict(
    embed_dim=1024,
    image_resolution=224,
    vision_layers=(3, 4, 6, 3),
    vision_width=64,
    vision_patch_size=None,
    context_length=77,
    vocab_size=49408,
    transformer_width=512,
    transformer_heads=8,
    transformer_layers=12,
)


def _musiq() -> dict:
    from pyiqa.archs.musiq_arch import MUSIQ

    return MUSIQ(pretrained=False).state_dict()  # KonIQ-10k: one output, as pyiqa builds it


def _maniqa(folder: Path) -> dict:
    from pyiqa.archs.maniqa_arch import MANIQA

    with offline_hub(folder):  # timm's ViT-B/8 without its pretrained weights
        net = MANIQA(pretrained=False, train_dataset="koniq", scale=0.8)
    return net.state_dict()


class _Node(torch.nn.Module):
    """A module that only holds tensors: a TorchScript archive of a given state dict."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _torchscript(state: dict) -> torch.jit.ScriptModule:
    root = _Node()
    for key, value in state.items():
        *path, leaf = key.split(".")
        node = root
        for part in path:
            if part not in node._modules:
                node.add_module(part, _Node())
            node = node._modules[part]
        node.register_buffer(leaf, value)
    return torch.jit.trace(root, torch.zeros(1))  # a trace: much faster than scripting


def _clip_rn50() -> torch.jit.ScriptModule:
    from pyiqa.archs.clip_model import CLIP

    # OpenAI's RN50.pt is a TorchScript archive in half precision, read with torch.jit.load
    return _torchscript(CLIP(**_RN50).half().state_dict())


def _fid_inception() -> dict:
    from unittest import mock

    from pyiqa.archs import inception

    # pyiqa's FID Inception without its weights: the loader is the only step skipped
    with mock.patch.object(inception, "load_pretrained_network", lambda *a, **k: None):
        return inception.fid_inception_v3().state_dict()


def write_fake_weights(root: Path) -> dict[str, str]:
    """Write every pyiqa metric's file into ``root/pyiqa/``; return file name -> sha256."""
    folder = root / "pyiqa"
    folder.mkdir(parents=True, exist_ok=True)
    builders: dict[str, Callable[[], dict | torch.jit.ScriptModule]] = {
        "musiq_koniq_ckpt-e95806b9.pth": _musiq,
        "ckpt_koniq10k.pt": lambda: _maniqa(root / "hub"),
        "RN50.pt": _clip_rn50,
        "pt_inception-2015-12-05-6726825d.pth": _fid_inception,
    }
    digests = {}
    for i, (filename, build) in enumerate(builders.items()):
        torch.manual_seed(i)
        path = folder / filename
        net = build()
        if isinstance(net, torch.jit.ScriptModule):
            torch.jit.save(net, path)
        else:
            torch.save(net, path)
        digests[filename] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def register(monkeypatch, digests: dict[str, str]) -> None:
    """Give the pyiqa entries of these files (name -> sha256) that sha256, as if published."""
    for name, metric in backend.PYIQA_METRICS.items():
        weights = tuple(
            dataclasses.replace(e, sha256=digests[e.filename], sha256_source="test fake")
            if e.filename in digests
            else e
            for e in metric.weights
        )
        monkeypatch.setitem(
            backend.PYIQA_METRICS, name, dataclasses.replace(metric, weights=weights)
        )
