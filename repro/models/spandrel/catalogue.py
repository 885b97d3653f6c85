"""The public checkpoints of other methods that spandrel runs: the comparison rows' catalogue.

A table row of another method (``model: spandrel-swinir``, ``weights: swinir-light-x4``) names
one :class:`Checkpoint`: the official download (a GitHub release asset, a file at a pinned
commit, or a Google Drive file of the authors' folder), its sha256 where a public source states
it (else trusted on first use: ``repro pull`` asks, ``repro get --yes`` accepts and records it
in the weights lock), the publisher's licence for the weights, and the network's hyper-
parameters as the official test configuration gives them. The hyper-parameters build the
network without its file, with random values (:func:`blank_state`), for the columns that need
no checkpoint (params, latency); ``tests/test_comparison_catalogue.py`` checks that spandrel
detects that state as the same architecture, scale and parameter count as the paper states.

Only the released checkpoint of the model the paper compares with is listed: a row whose
numbers come from another training (ESC's DFLIP rows, OSRT's ODI-SR rows, ClassSR/ARM's
retrained SRResNet/RCAN) says so in its spec (``other_method``) and stays REPORTED-ONLY.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from repro.weights.entry import WeightsEntry

APACHE, BSD3 = "Apache-2.0", "BSD-3-Clause"
NONE_STATED = "none stated by the publisher"


@dataclass(frozen=True)
class Checkpoint:
    """One public checkpoint a comparison row runs, and the network it is for."""

    weights: WeightsEntry
    architecture: str  # spandrel's architecture id, e.g. "SwinIR"
    network: str  # the class in spandrel.architectures.<architecture> that builds it
    scale: int
    config: Mapping[str, Any] = field(repr=False)  # the official hyper-parameters
    licence: str  # the weights' terms as their publisher states them
    page: str  # where the publisher lists the file

    @property
    def id(self) -> str:
        return self.weights.id


def _entry(id_: str, filename: str, key: str | None, source: str, **more: Any) -> WeightsEntry:
    return WeightsEntry(id=id_, filename=filename, key=key, source=source, **more)


# --------------------------------------------------------------------------- SwinIR
_SWINIR = "https://github.com/JingyunLiang/SwinIR/releases/download/v0.0/"
_SWINIR_PAGE = "https://github.com/JingyunLiang/SwinIR/releases/tag/v0.0"
# main_test_swinir.py (JingyunLiang/SwinIR@6545850): the constructor of each task
_SWINIR_BASE = {"in_chans": 3, "img_size": 64, "window_size": 8, "img_range": 1.0, "mlp_ratio": 2}
_SWINIR_TASKS = {
    "light": (
        "002_lightweightSR_DIV2K_s64w8_SwinIR-S_x{s}.pth",
        "params",
        {
            "depths": [6] * 4,
            "embed_dim": 60,
            "num_heads": [6] * 4,
            "upsampler": "pixelshuffledirect",
            "resi_connection": "1conv",
        },
        "lightweight SR, DIV2K",
    ),
    "classic": (
        "001_classicalSR_DF2K_s64w8_SwinIR-M_x{s}.pth",
        "params",
        {
            "depths": [6] * 6,
            "embed_dim": 180,
            "num_heads": [6] * 6,
            "upsampler": "pixelshuffle",
            "resi_connection": "1conv",
        },
        "classical SR, DF2K, 64x64 patches (the SwinIR paper's DF2K rows)",
    ),
    "real": (
        "003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x{s}_GAN.pth",
        "params_ema",
        {
            "depths": [6] * 6,
            "embed_dim": 180,
            "num_heads": [6] * 6,
            "upsampler": "nearest+conv",
            "resi_connection": "1conv",
        },
        "real-world SR, SwinIR-M GAN, BSRGAN degradations on DIV2K+Flickr2K+OST (the data "
        "ESC-Real trains on); SwinIR-L is the other real-world release",
    ),
}


def _swinir(id_: str, task: str, scale: int) -> Checkpoint:
    name, key, config, what = _SWINIR_TASKS[task]
    filename = name.format(s=scale)
    return Checkpoint(
        weights=_entry(
            id_,
            filename,
            key,
            f"JingyunLiang/SwinIR GitHub release v0.0, {filename} ({what})",
            urls=(_SWINIR + filename,),
        ),
        architecture="SwinIR",
        network="SwinIR",
        scale=scale,
        config={**_SWINIR_BASE, **config, "upscale": scale},
        licence=f"{APACHE} (the repository's LICENSE)",
        page=_SWINIR_PAGE,
    )


# --------------------------------------------------------------------------- Real-ESRGAN
_REALESRGAN = Checkpoint(
    weights=_entry(
        "realesrgan-x4plus",
        "RealESRGAN_x4plus.pth",
        "params_ema",
        "xinntao/Real-ESRGAN GitHub release v0.1.0, RealESRGAN_x4plus.pth (RRDBNet, 23 blocks)",
        urls=(
            "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
        ),
        sha256="4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
        sha256_source="Sygil-Dev/sygil-webui@08c23c0 entrypoint.sh (the release asset's sha256)",
    ),
    architecture="ESRGAN",
    network="ESRGAN",
    scale=4,
    # inference_realesrgan.py: RRDBNet(num_feat=64, num_block=23, num_grow_ch=32, scale=4)
    config={"in_nc": 3, "out_nc": 3, "num_filters": 64, "num_blocks": 23, "scale": 4},
    licence=f"{BSD3} (the repository's LICENSE)",
    page="https://github.com/xinntao/Real-ESRGAN/blob/master/docs/model_zoo.md",
)


# --------------------------------------------------------------------------- ATD
# The authors' Google Drive folder (LabShuHangGU/Adaptive-Token-Dictionary README, "Pretrained
# Models"); the file links as chaiNNer-org/spandrel@b0c3eb2 tests/test_ATD.py names them.
_ATD_FILES = {
    2: ("101_ATD_light_SRx2_scratch.pth", "1ZxK7gMJXgeyHgeOaKbzpXtoElDmRWKkU"),
    3: ("102_ATD_light_SRx3_finetune.pth", "1mPcWMyDO9lOUD6DrrmNxFR67sGqnOJxp"),
    4: ("103_ATD_light_SRx4_finetune.pth", "1CxzxLWMIHDHip2nDF6A2sLBTkpypI8GU"),
}
# options/test/10{1,2,3}_ATD_light_SRx*.yml (network_g)
_ATD_LIGHT = {
    "in_chans": 3,
    "img_size": 64,
    "embed_dim": 48,
    "depths": [6] * 4,
    "num_heads": [4] * 4,
    "window_size": 16,
    "category_size": 128,
    "num_tokens": 64,
    "reducted_dim": 8,
    "convffn_kernel_size": 7,
    "img_range": 1.0,
    "mlp_ratio": 1,
    "upsampler": "pixelshuffledirect",
    "resi_connection": "1conv",
}


def _atd(scale: int) -> Checkpoint:
    filename, drive = _ATD_FILES[scale]
    return Checkpoint(
        weights=_entry(
            f"atd-light-x{scale}",
            filename,
            "params_ema",
            f"LabShuHangGU/Adaptive-Token-Dictionary, the authors' Google Drive folder, {filename} "
            "(ATD-light, DIV2K)",
            urls=(f"https://drive.google.com/file/d/{drive}/view",),
        ),
        architecture="ATD",
        network="ATD",
        scale=scale,
        config={**_ATD_LIGHT, "upscale": scale},
        licence=f"{APACHE} (the repository's LICENSE.txt)",
        page="https://drive.google.com/drive/folders/1D3BvTS1xBcaU1mp50k3pBzUWb7qjRvmB",
    )


# --------------------------------------------------------------------------- OmniSR
# Francis0625/Omni-SR@cd9901e README: one zip per model on Google Drive (and Baidu); the
# checkpoint inside is <model>/checkpoints/epoch<N>_OmniSR.pth (N = 896 for X2_DIV2K and 919 for
# X3_DIV2K, as chaiNNer-org/spandrel@e2015e0 tests/test_OmniSR.py reads them).
_OMNISR_DRIVE = {
    2: "18lSvJq9CGCwDomkas2gh8K6UOq8qRLIw",
    3: "1Rwg6o-RGC-TEiyVSVT9FS1iHjx5n948h",
    4: "1VoPUw0SRnCPAU8_R5Ue15bn2gwSBr97g",
}


def _omnisr(scale: int) -> Checkpoint:
    archive = f"OmniSR_X{scale}_DIV2K.zip"
    return Checkpoint(
        weights=_entry(
            f"omnisr-x{scale}",
            archive,
            None,
            f"Francis0625/Omni-SR, the authors' Google Drive, {archive} (OmniSR, DIV2K)",
            urls=(f"https://drive.google.com/file/d/{_OMNISR_DRIVE[scale]}/view",),
            member=f"OmniSR_X{scale}_DIV2K/checkpoints/epoch*_OmniSR.pth",
        ),
        architecture="OmniSR",
        network="OmniSR",
        scale=scale,
        # train_yamls/train_OmniSR_X*_DIV2K.yaml: feature_num 64, res_num 5, block_num 1, ...
        config={
            "num_in_ch": 3,
            "num_out_ch": 3,
            "num_feat": 64,
            "block_num": 1,
            "pe": True,
            "window_size": 8,
            "res_num": 5,
            "up_scale": scale,
            "bias": True,
        },
        licence=f"{APACHE} (the repository's README)",
        page="https://github.com/Francis0625/Omni-SR#preparation",
    )


# --------------------------------------------------------------------------- RCAN
def _rcan(scale: int) -> Checkpoint:
    return Checkpoint(
        weights=_entry(
            f"rcan-x{scale}",
            "models_ECCV2018RCAN.zip",
            None,
            f"yulunzhang/RCAN, the authors' models_ECCV2018RCAN.zip (Google Drive; also Dropbox, "
            f"BaiduYun), RCAN_BIX{scale}.pt (bicubic degradation, DIV2K)",
            urls=("https://drive.google.com/file/d/1U0RmWkkacyw0HNC7CBts2LcX1ewAulCn/view",),
            member=f"*RCAN_BIX{scale}.pt",
        ),
        architecture="RCAN",
        network="RCAN",
        scale=scale,
        # README: --n_resgroups 10 --n_resblocks 20 --n_feats 64 (reduction 16, rgb_range 255)
        config={"scale": scale, "n_resgroups": 10, "n_resblocks": 20, "n_feats": 64},
        licence=NONE_STATED,
        page="https://github.com/yulunzhang/RCAN#test",
    )


CHECKPOINTS: dict[str, Checkpoint] = {
    c.id: c
    for c in (
        *(_swinir(f"swinir-light-x{s}", "light", s) for s in (2, 3, 4)),
        *(_swinir(f"swinir-x{s}", "classic", s) for s in (2, 3, 4)),
        _swinir("swinir-real-x4", "real", 4),
        _REALESRGAN,
        *(_atd(s) for s in (2, 3, 4)),
        *(_omnisr(s) for s in (2, 3, 4)),
        *(_rcan(s) for s in (2, 3, 4)),
    )
}


def catalogue(architecture: str | None = None) -> dict[str, WeightsEntry]:
    """The weights entries of one architecture (a spandrel id in lowercase), or of all."""
    return {
        c.id: c.weights
        for c in CHECKPOINTS.values()
        if architecture is None or c.architecture.lower() == architecture
    }


def blank_state(checkpoint: Checkpoint) -> dict:
    """A state dict of the checkpoint's network with random values: spandrel's own class built
    with the official hyper-parameters (needs spandrel)."""
    from spandrel.architectures import ATD, ESRGAN, RCAN, OmniSR, SwinIR

    modules = {"ATD": ATD, "ESRGAN": ESRGAN, "OmniSR": OmniSR, "RCAN": RCAN, "SwinIR": SwinIR}
    network = getattr(modules[checkpoint.architecture], checkpoint.network)
    return network(**checkpoint.config).state_dict()
