"""Devices on this CPU machine: the auto choice, refusals, what provenance records, the
process-group backend, and the runner's read-ahead (same rows, errors at their image).

CUDA is faked by monkeypatching ``torch.cuda`` where only the logic is tested: no model ever
runs on a faked GPU.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest
import torch

import repro.eval.runner as runner
from repro import machine
from repro.data.loaders import open_dataset
from repro.errors import DataError, ReproError
from repro.eval import distributed
from repro.eval.prefetch import ReadAhead
from repro.eval.runner import Job, evaluate
from repro.machine import device_provenance, resolve_device
from repro.paths import shared_root
from tests.test_cli_errors import _assert_clean_error, _run
from tests.test_runner import JOB

needs_no_gpu = pytest.mark.skipif(
    torch.cuda.is_available(), reason="this machine has a GPU: these check the CPU-only case"
)


@pytest.fixture
def fake_gpus(monkeypatch):
    """Pretend this torch sees ``n`` GPUs (logic only: nothing may run on them)."""

    def fake(n: int, name: str = "NVIDIA Fake GPU") -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
        monkeypatch.setattr(torch.version, "cuda", "12.8")
        monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 91000)
        monkeypatch.setattr(machine, "gpu_driver_version", lambda: "570.1")

    return fake


@pytest.fixture
def torchrun(monkeypatch):
    def env(world: int, local_rank: int) -> None:
        monkeypatch.setenv("WORLD_SIZE", str(world))
        monkeypatch.setenv("LOCAL_RANK", str(local_rank))

    return env


# -- the device a run uses ---------------------------------------------------------------------


@needs_no_gpu
def test_auto_is_the_cpu_here_and_the_cli_default():
    from repro.cli.parser import build_parser

    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    parser = build_parser()
    assert parser.parse_args(["table", "bicubic_classic"]).device == "auto"
    args = ["eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5"]
    assert parser.parse_args(args).device == "auto"


def test_auto_picks_the_first_gpu_when_cuda_is_visible(fake_gpus):
    fake_gpus(2)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device(resolve_device("cuda:1")) == torch.device("cuda", 1)  # idempotent


def test_under_torchrun_each_rank_takes_its_own_gpu(fake_gpus, torchrun):
    fake_gpus(2)
    torchrun(2, 1)
    assert resolve_device("auto") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda", 1)
    with pytest.raises(ReproError, match="LOCAL_RANK 1.*--device cuda"):
        resolve_device("cuda:0")
    torchrun(4, 3)  # more ranks on this node than GPUs
    with pytest.raises(ReproError, match="only 2 GPU"):
        resolve_device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")


def test_a_gpu_index_out_of_range_says_how_many_are_visible(fake_gpus):
    fake_gpus(2)
    with pytest.raises(ReproError, match=r"cuda:7: only 2 GPU\(s\) are visible") as err:
        resolve_device("cuda:7")
    assert "\n" not in str(err.value)


def test_cuda_without_cuda_is_a_one_line_error_saying_what_to_do(fake_gpus, monkeypatch):
    fake_gpus(0)
    with pytest.raises(ReproError, match="no visible GPU.*--device cpu") as err:
        resolve_device("cuda")
    assert "\n" not in str(err.value)
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(ReproError, match="CPU-only build.*--device cpu"):
        resolve_device("cuda:0")
    assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("name", ["", "tpu", "cuda:", "cuda:x", "CUDA", "cuda:-1", "gpu"])
def test_unknown_devices_are_refused(name):
    with pytest.raises(ReproError, match="unknown device.*auto, cpu or cuda"):
        resolve_device(name)


@needs_no_gpu
@pytest.mark.parametrize(
    "args",
    [
        ["repro", "eval", "--model", "bicubic", "--scale", "2", "--dataset", "Set5"],
        ["repro.table", "bicubic_classic", "--datasets", "Set5", "--limit", "1"],
    ],
)
def test_cuda_through_the_cli_is_exit_2_and_one_line(args, tmp_path, monkeypatch):
    out = _run([*args, "--device", "cuda"], tmp_path, monkeypatch)
    _assert_clean_error(out, tmp_path, "--device cpu")


# -- provenance: what really ran -----------------------------------------------------------------


def test_cpu_provenance_is_what_ran():
    prov = device_provenance("cpu")
    assert prov["device"] == "cpu" and prov["device_name"] == machine.cpu_name()
    assert prov["torch"] == torch.__version__ and prov["cuda"] == torch.version.cuda
    assert prov["tf32_matmul"] is torch.backends.cuda.matmul.allow_tf32
    assert prov["tf32_cudnn"] is torch.backends.cudnn.allow_tf32
    assert prov["dtype"] == "float32" and prov["threads"] == torch.get_num_threads()
    assert prov["driver"] is None and prov["cudnn"] is None
    assert "attention_backend" not in prov


def test_gpu_provenance_names_the_gpu_driver_and_versions(fake_gpus):
    fake_gpus(1, "NVIDIA H100 80GB HBM3")
    before = torch.backends.cuda.matmul.allow_tf32  # a flag of torch's: set, then restored
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        prov = device_provenance(torch.device("cuda", 0), attention_backend="sdpa")
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    assert prov["device"] == "cuda:0" and prov["device_name"] == "NVIDIA H100 80GB HBM3"
    assert (prov["driver"], prov["cuda"], prov["cudnn"]) == ("570.1", "12.8", 91000)
    assert prov["tf32_matmul"] is True and prov["attention_backend"] == "sdpa"


def test_the_driver_version_is_read_without_waiting_on_nvidia_smi(tmp_path, monkeypatch):
    proc = tmp_path / "version"
    proc.write_text(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n"
    )
    monkeypatch.setattr(machine, "NVIDIA_PROC", proc)
    assert machine.gpu_driver_version() == "550.54.15"
    monkeypatch.setattr(machine, "NVIDIA_PROC", tmp_path / "absent")
    monkeypatch.setattr(machine.shutil, "which", lambda name: None)
    assert machine.gpu_driver_version() == "unknown"
    monkeypatch.setattr(machine.shutil, "which", lambda name: "/usr/bin/nvidia-smi")

    def hangs(*args, timeout=None, **kwargs):
        assert timeout is not None and timeout <= 10  # never an unbounded wait
        raise subprocess.TimeoutExpired(args[0], timeout)

    monkeypatch.setattr(machine.subprocess, "run", hangs)
    assert machine.gpu_driver_version() == "unknown"


def test_bicubic_asked_for_cuda_records_the_cpu_it_ran_on(fake_gpus):
    fake_gpus(1)
    data = open_dataset("Set5", 3).limit(1)
    cuda = machine.resolve_device("cuda")  # the CLI resolves the device once: cuda:0
    rows, prov = evaluate(Job(**JOB), data, device=cuda, progress=False, use_cache=False)
    assert len(rows) == 1
    assert prov["device"]["device"] == "cpu" and prov["device"]["asked"] == "cuda:0"
    assert prov["device"]["device_name"] == machine.cpu_name()


def test_esc_provenance_names_the_attention_backend_that_runs():
    from repro.models import build

    cpu = torch.device("cpu")
    module = build("esc-light", None, 2).eval()
    prov = runner._ran_on(cpu, cpu, module)
    assert prov["attention_backend"] == "sdpa" and "asked" not in prov  # 'auto' on the CPU
    module.set_backend("matmul")
    assert runner._ran_on(cpu, cpu, module)["attention_backend"] == "matmul"


def test_table_provenance_records_the_device_and_keeps_its_keys():
    from repro.tables.run import run_table
    from repro.tables.spec import load_spec

    result = run_table(
        load_spec("bicubic_classic"), datasets=["Set5"], limit=1, progress=False, use_cache=False
    )
    prov = result.provenance
    assert prov["device"] == "cpu" and prov["device_name"] == machine.cpu_name()
    assert {"torch", "python", "threads", "tf32_matmul", "tf32_cudnn", "dtype", "cuda"} <= set(prov)
    assert all(j["device"]["device"] == "cpu" for j in prov["jobs"])


# -- the process group ----------------------------------------------------------------------------


def test_nccl_between_gpus_gloo_on_the_cpu():
    assert distributed.backend_for("cpu") == "gloo"
    assert distributed.backend_for(torch.device("cuda", 3)) == "nccl"
    assert distributed.backend_for("cuda") == "nccl"


@pytest.mark.parametrize(
    "device, backend, current", [("cpu", "gloo", None), ("cuda:1", "nccl", "cuda:1")]
)
def test_the_group_follows_the_runs_device_not_the_machine(
    device, backend, current, fake_gpus, torchrun, monkeypatch
):
    fake_gpus(2)  # a GPU machine: --device cpu there still means gloo
    torchrun(2, 1)
    joined, chosen = [], []
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: bool(joined))
    monkeypatch.setattr(
        distributed.dist, "init_process_group", lambda backend: joined.append(backend)
    )
    monkeypatch.setattr(distributed.dist, "get_rank", lambda: 1)
    monkeypatch.setattr(distributed.dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: chosen.append(str(d)))
    monkeypatch.setattr(distributed.atexit, "register", lambda fn: None)
    assert distributed.world(resolve_device(device)) == (1, 2)
    assert distributed.world() == (1, 2)  # later calls join nothing again
    assert joined == [backend] and chosen == ([current] if current else [])


# -- read-ahead ------------------------------------------------------------------------------------


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize(
    "dataset, scale, lr_mode", [("Set14", 3, "bicubic"), ("Set5", 2, "official")]
)
def test_read_ahead_gives_exactly_the_rows_of_reading_in_turn(dataset, scale, lr_mode):
    """LR made by MATLAB imresize in the reader thread while the model runs: same numbers."""
    job = Job(**{**JOB, "dataset": dataset, "scale": scale, "crop": scale})
    runs = {}
    for depth in (0, 2):
        data = open_dataset(dataset, scale, lr_mode=lr_mode)
        rows, prov = evaluate(job, data, progress=False, use_cache=False, prefetch=depth)
        runs[depth] = (_strip(rows), prov["data"])
    assert runs[0] == runs[2]
    assert [r["image"] for r in runs[2][0]] == open_dataset(dataset, scale).names


def test_read_ahead_keeps_cache_hits(monkeypatch):
    first, _ = evaluate(Job(**JOB), open_dataset("Set5", 3), progress=False)
    calls = []
    real_score = runner.score
    monkeypatch.setattr(runner, "score", lambda *a, **k: calls.append(1) or real_score(*a, **k))
    again, prov = evaluate(Job(**JOB), open_dataset("Set5", 3), progress=False, prefetch=2)
    assert calls == [] and again == first
    assert prov["images_from_cache"] == 5 and prov["images_computed"] == 0


def test_a_failed_read_raises_at_its_image_with_the_rows_before_it_kept(
    monkeypatch, set5_copy, card_dir
):
    card_dir("Set5", sha256={})
    (set5_copy / "HR" / "butterfly.png").write_bytes(b"not a png")  # the 3rd image
    scored = []
    real_score = runner.score

    def counting(sr, *a, **k):
        scored.append(sr.shape)
        return real_score(sr, *a, **k)

    monkeypatch.setattr(runner, "score", counting)
    with pytest.raises(DataError, match="butterfly") as err:
        evaluate(Job(**JOB), open_dataset("Set5", 3, data_root=set5_copy.parent), progress=False)
    assert "\n" not in str(err.value)
    assert len(scored) == 2  # baby and bird were scored, and cached
    scored.clear()
    shutil.copy(shared_root() / "data" / "Set5" / "HR" / "butterfly.png", set5_copy / "HR")
    rows, prov = evaluate(
        Job(**JOB), open_dataset("Set5", 3, data_root=set5_copy.parent), progress=False
    )
    assert len(rows) == 5 and len(scored) == 3 and prov["cached_images"] == ["baby", "bird"]


def test_the_reader_stops_when_the_consumer_does():
    """An error or Ctrl-C in the consumer: the reader thread ends, reading at most a few more."""
    read = []

    def slow(i: int) -> int:
        read.append(i)
        time.sleep(0.01)
        return i

    with pytest.raises(KeyboardInterrupt):
        with ReadAhead(slow, range(100), depth=2) as items:
            for i in items:
                if i == 3:
                    raise KeyboardInterrupt
    assert not any(t.name == "repro-read-ahead" for t in threading.enumerate())
    assert len(read) <= 3 + 1 + 2 + 1  # up to the item raised at, the queue, one in progress


def test_a_read_error_is_raised_once_in_order_and_the_reader_ends():
    def fn(i: int) -> int:
        if i == 2:
            raise ValueError("item 2 is broken")
        return i

    got = []
    with pytest.raises(ValueError, match="item 2"):
        with ReadAhead(fn, range(6), depth=2) as items:
            got.extend(items)
    assert got == [0, 1]
    assert not any(t.name == "repro-read-ahead" for t in threading.enumerate())
    with ReadAhead(fn, [0, 1], depth=0) as items:  # depth 0: no thread, same order
        assert list(items) == [0, 1]
