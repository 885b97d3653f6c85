"""The protocol block of a table spec: its keys, what each must be, and shared includes.

A protocol says how a table's numbers are measured; it is passed as is to the metrics (each
reads the keys it knows) and recorded with every result. Shared blocks live in
``specs/_protocols/`` and are included, not copied (as lm-evaluation-harness's ``include:``).
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath

import yaml

from repro.data.dataset import LR_MODES
from repro.data.fields import Check, Fields, is_count, is_text, join, one_of
from repro.data.schema import TASKS as DATASET_TASKS
from repro.eval.scoring import STEREO_VARIANTS
from repro.metrics.fidelity import CHANNELS, GRAY_POLICIES, SSIM_KINDS

README = "repro/tables/README.md"
TASKS = (*DATASET_TASKS, "complexity")


def whole(minimum: int) -> Check:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_size(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(map(is_count, value))


def choices(options) -> tuple:
    """(check, what) for a value that must be one of ``options``."""
    options = tuple(options)
    return one_of(options), "one of " + ", ".join(options)


TEXT = (is_text, "text")
COUNT = (is_count, "a whole number > 0")
SIZE = (is_size, "two whole numbers > 0, e.g. [128, 128]")

# Keys of a protocol block and what each must be (the metrics' own keys among them: a test
# checks that every key a registered metric reads is here). "recorded": says how the paper
# measured, shown in reports and part of the cache key, read by no computation.
PROTOCOL_KEYS: dict[str, tuple] = {
    "task": choices(TASKS),  # recorded
    "channel": choices(CHANNELS),
    "crop": (lambda v: v == "scale" or whole(0)(v), "'scale' or a whole number >= 0"),
    "lr": choices(LR_MODES),
    "rounding": TEXT,  # of LR made here (lr: bicubic); repro validate checks the name
    "gray": choices(GRAY_POLICIES),
    "ssim": choices(SSIM_KINDS),
    "stereo": choices(STEREO_VARIANTS),  # recorded (columns name their stereo variant)
    "tile": (lambda v: isinstance(v, dict), "a mapping {size, overlap}"),
    "flops_output": SIZE,
    "flops_lr_input": SIZE,
    "latency": (lambda v: isinstance(v, dict), "a mapping"),
    "iqa_crop": (whole(0), "a whole number >= 0"),  # LPIPS/NIQE border (repro.metrics.iqa)
    "iqa_device": TEXT,  # where the IQA networks run
    "iqa_seed": (whole(0), "a whole number >= 0"),  # random crops of MANIQA
    "niqe_color": TEXT,  # ycbcr | yiq (NIQE's luminance)
    "seed": (whole(0), "a whole number >= 0"),  # recorded
    "flops_method": TEXT,  # recorded
    "ws_weights": TEXT,  # recorded
    "iqa": TEXT,  # recorded
    "upsampler": TEXT,  # recorded
}
# A latency setting (repro.models.timing.LatencySetting reads it; a test checks that the names
# below are the ones it knows). "input: each_image" (the paper's per-image average over the
# column's dataset) is refused with its own message: a setting gives one input size.
LATENCY_DEVICES = ("cpu", "cuda", "other")  # other: a device this suite cannot drive
LATENCY_DTYPES = ("float32", "float16", "bfloat16")
LATENCY_STATISTICS = ("median", "mean", "min")
FLAG = (lambda v: isinstance(v, bool), "true or false")
LATENCY_KEYS: dict[str, tuple] = {
    "device": choices(LATENCY_DEVICES),
    "name": TEXT,  # the paper's device, for reasons
    "input_lr": SIZE,  # [height, width]
    "output": (is_size, "[width, height] of the output, e.g. [1280, 720]"),
    "input": (lambda v: True, ""),
    "batch": COUNT,
    "dtype": choices(LATENCY_DTYPES),
    "tf32": (lambda v: isinstance(v, bool) or v == "default", "true, false or default"),
    "cudnn_benchmark": FLAG,
    "backend": TEXT,  # an attention backend of the model family (ESC: sdpa, flex, matmul)
    "warmup": (whole(0), "a whole number >= 0"),
    "repeats": COUNT,
    "statistic": choices(LATENCY_STATISTICS),
    "threads": COUNT,
    "clock": choices(("wall", "cpu")),  # cpu: the process's CPU time (cores shared with others)
    "note": TEXT,  # recorded
}


def typed(f: Fields, raw: object, where: str, checks: dict[str, tuple], required=()) -> dict:
    """A mapping whose keys are all in ``checks`` (key -> (check, what)), each value checked."""
    block = f.block(raw, where, tuple(checks), required)
    for key in block:
        f.get(block, where, key, *checks[key])
    return block


def read_yaml(path: Path, f: Fields) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise f.error(f"is not readable UTF-8 YAML ({' '.join(str(exc).split())})") from None


def _block(f: Fields, raw: object, where: str, local: bool) -> dict:
    """Check one protocol block: the spec's own (version, include) or a shared one."""
    checks = PROTOCOL_KEYS
    if local:
        checks = {"version": COUNT, "include": (lambda v: True, ""), **checks}
    block = typed(f, raw, where, checks, ("version",) if local else ())
    if "tile" in block:
        w = join(where, "tile")
        tile = f.block(block["tile"], w, ("size", "overlap"), ("size",))
        f.get(tile, w, "size", *COUNT)
        f.get(tile, w, "overlap", whole(0), "a whole number >= 0")
    latency = block.get("latency") or {}
    w = join(where, "latency")
    # one setting, and/or named settings (mappings) that a column's variant selects
    unnamed = {k: v for k, v in latency.items() if not isinstance(v, dict)}
    if unnamed:
        _latency_setting(f, unnamed, w)
    for name, setting in latency.items():
        if isinstance(setting, dict):
            _latency_setting(f, setting, join(w, name))
    return block


def _latency_setting(f: Fields, raw: dict, where: str) -> None:
    setting = typed(f, raw, where, LATENCY_KEYS, ("device", "name"))
    if "input" in setting:
        raise f.error(
            f"key '{join(where, 'input')}': {setting['input']!r} (a time per image of the "
            "column's dataset) is not implemented; give one size: input_lr: [height, width] "
            "or output: [width, height]"
        )
    if setting.get("clock") == "cpu" and setting["device"] != "cpu":
        raise f.error(f"key '{join(where, 'clock')}': a CPU-time clock needs device: cpu")
    sizes = [k for k in ("input_lr", "output") if k in setting]
    if len(sizes) > 1:
        raise f.error(f"key '{where}': give input_lr or output, not both")
    if not sizes and setting["device"] != "other":
        raise f.error(
            f"key '{where}': a {setting['device']} setting needs an input size: "
            "input_lr: [height, width] or output: [width, height]"
        )


def unjudged(protocol: dict, metric: str, variant: str | None) -> str | None:
    """Why a measured cell gets no verdict though the paper prints a number, or None.

    An absolute time (``latency_ms``) is bound to the hardware it ran on, and no machine here is
    the paper's: such a cell is MEASURED; so is a component's share of the runtime
    (``share_*``), whose device the paper does not name (its claims are judged). Ratios between
    two settings of one model (``latency_ratio``) and peak memory (an allocator count) are
    judged.
    """
    if metric.startswith("share_"):
        return (
            "a share of the runtime on this machine, shown beside the paper's (whose device the "
            "paper does not name); measured, not judged: the table's claims are"
        )
    if metric != "latency_ms":
        return None
    block = protocol.get("latency") or {}
    setting = block[variant] if isinstance(block.get(variant), dict) else block
    where = "this machine's GPU" if setting.get("device") == "cuda" else "this machine"
    return (
        f"an absolute time on {where} (named in the provenance), not comparable with the "
        f"paper's on {setting.get('name', 'its device')}; measured, not judged"
    )


def _include(f: Fields, name: object, key: str, specs_dir: Path) -> dict:
    """A shared protocol block, by its path relative to the specs folder (never outside it)."""
    rel = PurePosixPath(name) if isinstance(name, str) and name else None
    path = (specs_dir / rel).resolve() if rel else None
    inside = bool(rel) and not rel.is_absolute() and ".." not in rel.parts
    if not inside or not path.is_relative_to(specs_dir.resolve()):
        what = f"a .yaml path inside {specs_dir}, e.g. _protocols/classic_sr.yaml"
        raise f.expected(key, what, name)
    if rel.suffix != ".yaml" or not path.is_file():
        raise f.expected(key, f"a .yaml file in {specs_dir}", name)
    shared = Fields(f"protocol include {rel} (of {f.label})", README)
    return _block(shared, read_yaml(path, shared), "", local=False)


def resolve_protocol(f: Fields, raw: object, specs_dir: Path) -> dict:
    """A spec's protocol, checked, its includes (paths relative to ``specs_dir``, never outside
    it) expanded in place of the ``include`` key; a key of the spec overrides an included one."""
    raw = _block(f, raw, "protocol", local=True)
    names = raw.get("include", [])
    names = names if isinstance(names, list) else [names]
    out: dict = {}
    for key, value in raw.items():
        if key != "include":
            out[key] = value
            continue
        origin: dict[str, str] = {}
        for i, name in enumerate(names):
            for k, v in _include(f, name, f"protocol.include[{i}]", specs_dir).items():
                if k in origin:
                    raise f.error(
                        f"protocol key '{k}' is set by both {origin[k]} and {name}; "
                        "set it in one of them, or in the spec itself"
                    )
                origin[k] = name
                out[k] = raw.get(k, v)
    return out
