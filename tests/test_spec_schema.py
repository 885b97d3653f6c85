"""The table-spec schema: a bad spec is one line naming the file, the key and what was expected.

Each case edits a small valid spec (written to a temporary folder), so that the only fault is the
one under test. ``repro validate`` runs the same checks plus the registries'.
"""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from repro.cli import main
from repro.errors import NotRunCode, SpecError
from repro.tables.protocol import PROTOCOL_KEYS
from repro.tables.spec import SPECS_DIR, load_spec, parse_spec, table_ids
from repro.tables.validate import check_spec
from tests.cli_run import run_cli

BASE = {
    "id": "t",
    "title": "a test table",
    "paper": "test",
    "source": {"note": "written by the test"},
    "protocol": {"version": 1, "include": "_protocols/classic_sr.yaml"},
    "tolerance": {"psnr": 0.02, "ssim": 0.0006},
    "columns": [{"dataset": "Set5", "metric": "psnr"}, {"dataset": "Set5", "metric": "ssim"}],
    "rows": [{"id": "bicubic-x2", "model": "bicubic", "scale": 2, "reported": [33.66, 0.9299]}],
}


def _write(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / f"{spec['id']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _edited(edit) -> dict:
    spec = copy.deepcopy(BASE)
    edit(spec)
    return spec


def _set(path: str, value):
    """An edit that sets one key, e.g. ``_set("rows.0.scale", 0)``."""

    def edit(spec: dict) -> None:
        *parents, last = path.split(".")
        node = spec
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        node[int(last) if isinstance(node, list) else last] = value

    return edit


def _drop(path: str):
    def edit(spec: dict) -> None:
        *parents, last = path.split(".")
        node = spec
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        del node[last]

    return edit


def _refused(tmp_path: Path, spec: dict) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(_write(tmp_path, spec))
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_the_base_spec_is_valid(tmp_path):
    spec = parse_spec(_write(tmp_path, BASE))
    check_spec(spec)
    assert spec.protocol == {
        "version": 1,
        **yaml.safe_load((SPECS_DIR / "_protocols" / "classic_sr.yaml").read_text()),
    }
    assert spec.rows[0].status is None and spec.notes == {}


BAD = [
    (_drop("columns.0.metric"), "columns[0].metric", "missing"),
    (_set("columns.0.metric", 3), "columns[0].metric", "text"),
    (_set("columns.0.variant", "pair_means"), "columns[0].variant", "pair_mean"),
    (_set("columns", []), "columns", "non-empty list"),
    (_set("rows.0.reported", ["thirty", 0.9]), "rows[bicubic-x2].reported[0]", "number or null"),
    (_set("rows.0.reported", [True, 0.9]), "rows[bicubic-x2].reported[0]", "number or null"),
    (_set("rows.0.reported", [float("nan"), 0.9]), "rows[bicubic-x2].reported[0]", "number"),
    (_set("rows.0.reported", [33.66]), "rows[bicubic-x2].reported", "2 values"),
    (_set("tolerance.psnr", -1), "tolerance.psnr", "a number >= 0 or a percentage"),
    (_set("tolerance.psnr", float("inf")), "tolerance.psnr", "a number >= 0"),
    (_set("tolerance.psnr", float("nan")), "tolerance.psnr", "a number >= 0"),
    (_set("tolerance.psnr", "one%"), "tolerance.psnr", "percentage"),
    (_set("tolerance.psnr", "1 %"), "tolerance.psnr", "percentage"),
    (_set("tolerance.pnsr", 0.02), "tolerance.pnsr", "a metric of a column"),
    (_set("rows.0.scale", 0), "rows[bicubic-x2].scale", "whole number > 0"),
    (_set("rows.0.scale", 2.5), "rows[bicubic-x2].scale", "whole number > 0"),
    (_set("rows.0.scale", "2"), "rows[bicubic-x2].scale", "whole number > 0"),
    (_set("rows.0.scale", True), "rows[bicubic-x2].scale", "whole number > 0"),
    (_set("rows.0.status", "BROKEN"), "rows[bicubic-x2].status", "NOT-IMPLEMENTED"),
    (_set("rows.0.status", "NOT-SELECTED"), "rows[bicubic-x2].status", "TRAINING-ONLY"),
    (_set("rows.0.status", "TRAINING-ONLY"), "rows[bicubic-x2]", "reason"),
    (_set("rows.0.settings", "ratio=0.5"), "rows[bicubic-x2].settings", "mapping"),
    (_set("rows.0.settings", {"ratio": [0.5]}), "rows[bicubic-x2].settings.ratio", "a number"),
    (_set("rows.0.statu", "TRAINING-ONLY"), "rows[bicubic-x2].statu", "unknown key"),
    (_set("tolerance_note", "free text"), "tolerance_note", "unknown key"),
    (_set("notes", "free text"), "notes", "mapping"),
    (_set("source.notes", "x"), "source.notes", "unknown key"),
    (_set("protocol.chanel", "y"), "protocol.chanel", "unknown key"),
    (_set("protocol.crop", -4), "protocol.crop", "'scale' or a whole number"),
    (_set("protocol.ssim", "gaussian"), "protocol.ssim", "matlab"),
    (_set("protocol.tile", {"size": 0}), "protocol.tile.size", "whole number > 0"),
    (_set("protocol.latency", {"gpu": {"device": "cuda", "thread": 1}}), "latency.gpu", "unknown"),
    (_drop("protocol.version"), "protocol.version", "missing"),
    (_set("id", "T"), "id", "[a-z0-9_]"),
]


@pytest.mark.parametrize("edit, key, expected", BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_spec_is_one_line_naming_file_and_key(tmp_path, edit, key, expected):
    spec = _edited(edit)
    message = _refused(tmp_path, spec)
    assert message.startswith(f"table spec {tmp_path / spec['id']}.yaml"), message
    assert key in message and expected in message, message


def test_a_row_status_is_a_not_run_code(tmp_path):
    spec = _edited(_set("rows.0.status", "TRAINING-ONLY"))
    spec["rows"][0]["reason"] = "a training-time ablation"
    (row,) = parse_spec(_write(tmp_path, spec)).rows
    assert row.status is NotRunCode.TRAINING_ONLY


def test_local_protocol_keys_override_included_ones_in_place(tmp_path):
    spec = _edited(_set("protocol.gray", "gray"))
    protocol = parse_spec(_write(tmp_path, spec)).protocol
    assert protocol["gray"] == "gray"
    assert list(protocol) == ["version", "task", "channel", "crop", "lr", "gray", "ssim"]


@pytest.mark.parametrize(
    "include, expected",
    [
        ("../specs/_protocols/classic_sr.yaml", "a .yaml path inside"),
        ("../../../../etc/passwd", "a .yaml path inside"),
        ("/etc/hosts", "a .yaml path inside"),
        ("_protocols/no_such_block.yaml", "a .yaml file in"),
        ("_protocols/classic_sr.yml", "a .yaml file in"),
        (3, "a .yaml path inside"),
    ],
)
def test_an_include_outside_the_specs_folder_or_missing_is_refused(tmp_path, include, expected):
    message = _refused(tmp_path, _edited(_set("protocol.include", include)))
    assert "protocol.include[0]" in message and expected in message, message


def test_an_include_is_checked_as_a_protocol_block(tmp_path, monkeypatch):
    specs = tmp_path / "specs"
    (specs / "_protocols").mkdir(parents=True)
    (specs / "_protocols" / "a.yaml").write_text("channel: y\ncrop: scale\n")
    (specs / "_protocols" / "b.yaml").write_text("crop: 0\n")
    (specs / "_protocols" / "bad.yaml").write_text("version: 2\nchannel: y\n")
    monkeypatch.setattr("repro.tables.spec.SPECS_DIR", specs)
    both = _edited(_set("protocol.include", ["_protocols/a.yaml", "_protocols/b.yaml"]))
    message = _refused(tmp_path, both)
    assert "'crop' is set by both _protocols/a.yaml and _protocols/b.yaml" in message
    message = _refused(tmp_path, _edited(_set("protocol.include", "_protocols/bad.yaml")))
    assert message.startswith("protocol include _protocols/bad.yaml (of table spec ")
    assert "unknown key 'version'" in message


def test_the_schema_accepts_every_protocol_key_a_metric_reads():
    from repro.metrics import all_metrics

    read = {key for m in all_metrics().values() for key in m.protocol_keys}
    assert read <= set(PROTOCOL_KEYS), "add them to repro/tables/protocol.py"


def test_every_shipped_table_passes_repro_validate():
    for table_id in table_ids():
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["validate", table_id, "--json"]) == 0, table_id
        assert json.loads(out.getvalue())["table"] == table_id


def test_shipped_protocols_come_from_the_shared_blocks():
    """The copied classic block lives once, in _protocols/classic_sr.yaml."""
    classic = yaml.safe_load((SPECS_DIR / "_protocols" / "classic_sr.yaml").read_text())
    including = [
        t
        for t in table_ids()
        if "_protocols/classic_sr.yaml" in (SPECS_DIR / f"{t}.yaml").read_text()
    ]
    assert len(including) >= 8
    for t in including:
        protocol = load_spec(t).protocol
        assert set(classic) <= set(protocol), t


@pytest.mark.parametrize(
    "edit, expected",
    [
        (_set("rows.0.model", "bicubik"), "key 'rows[bicubic-x2].model': unknown model 'bicubik'"),
        (_set("rows.0.scale", 5), "key 'rows[bicubic-x2].scale': bicubic has no x5"),
        (_set("rows.0.settings", {"ratio": 0.5}), "key 'rows[bicubic-x2].settings'"),
        (_set("columns.0.dataset", "Set6"), "key 'columns[0].dataset': unknown dataset"),
        (_set("columns.1.metric", "ssim_x"), "key 'columns[1].metric': unknown metric"),
        (_drop("tolerance.ssim"), "column Set5/ssim needs a tolerance.ssim"),
        (_set("source", {"table": "Table 1"}), "key 'source.note' is missing"),
    ],
)
def test_a_spec_that_names_what_no_registry_knows_fails_validate(tmp_path, edit, expected):
    spec = parse_spec(_write(tmp_path, _edited(edit)))
    with pytest.raises(SpecError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        check_spec(spec)


def test_validate_of_a_spec_with_an_unknown_model_exits_2(tmp_path):
    path = _write(tmp_path, _edited(_set("rows.0.model", "nosuch-model")))
    out = run_cli("validate", str(path))
    assert out.rc == 2 and len(out.lines) == 1, str(out)
    assert "t.yaml" in out.stderr and "unknown model 'nosuch-model'" in out.stderr
