"""One table run's context: everything resolved once, then handed down.

:func:`prepare` reads the spec (a table id or a spec file) and checks it with
:func:`~repro.tables.validate.check_spec` (so a run and ``repro validate`` refuse a bad spec with
the same one-line error naming the file and the key), resolves the device, checks the datasets
asked for and ``--data-root``, and takes the workspace. Running (:mod:`repro.tables.run`),
publishing, reporting and the gap explainer all read this one object; the datasets it opened and
the models it loaded are kept, so that the explainer re-scores a cell without opening the set
or loading the model again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from repro.data.dataset import Dataset
from repro.data.loaders import open_dataset, require_in_data_root
from repro.errors import MissingDataError, MissingWeightsError, ReproError, UnknownNameError
from repro.eval.loaded import LoadedModel, architecture, load
from repro.eval.sr_files import check_new
from repro.machine import resolve_device
from repro.publish import Destination
from repro.tables.spec import Row, TableSpec, load_spec
from repro.tables.validate import check_spec
from repro.workspace import Workspace, current


@dataclass(frozen=True)
class OpenSet:
    """A dataset opened for a run (``--limit`` applied) and the size of the whole set."""

    data: Dataset
    total: int


@dataclass
class RunContext:
    spec: TableSpec  # read and checked
    workspace: Workspace
    device: torch.device  # resolved: the device the run asked for
    chosen: list[str] | None = None  # --datasets (checked against the spec), None: all
    data_root: str | None = None
    limit: int | None = None
    use_cache: bool = True
    progress: bool = True
    seed: int = 0
    weights: dict[str, str] = field(default_factory=dict)  # row id -> checkpoint path
    summary_md: Path | None = None  # CI: --summary-md, checked writable
    fail_on: frozenset[str] = frozenset()  # CI: --fail-on, parsed
    save_sr: Path | None = None  # --save-sr: a new folder for the SR images (<row>/<dataset>/)
    warnings: list[str] = field(default_factory=list)  # said once, and kept in the run log
    _sets: dict = field(default_factory=dict, repr=False)
    _models: dict = field(default_factory=dict, repr=False)

    @property
    def datasets(self) -> list[str]:
        """The datasets this run measures."""
        return self.chosen or self.spec.datasets

    @property
    def partial(self) -> bool:
        """Fewer images or datasets than the table's: a test run, published beside."""
        return is_partial(self.spec, self.chosen, self.limit)

    @property
    def destination(self) -> Destination:
        return Destination(self.spec.id, self.partial, self.workspace)

    def dataset(self, name: str, scale: int) -> OpenSet:
        """The set at a scale, opened once per run (the table's LR mode and rounding, --limit
        applied); MissingDataError when it is not here (also remembered)."""
        key = (name, scale)
        if key not in self._sets:
            try:
                data = open_dataset(
                    name,
                    scale,
                    data_root=self.data_root,
                    lr_mode=self.spec.protocol.get("lr", "official"),
                    rounding=self.spec.protocol.get("rounding", "matlab"),
                )
                total = data.card.images or len(data)
                self._sets[key] = OpenSet(data.limit(self.limit), total)
            except MissingDataError as exc:
                self._sets[key] = exc
        return _or_raise(self._sets[key])

    def model(self, row: Row, weights_key: str | None = None) -> LoadedModel:
        """A row's model with its weights (the checkpoint's ``weights_key`` state dict when
        given), loaded and placed once per run; MissingWeightsError when the checkpoint is not
        here (also remembered)."""
        key = (row.model, row.scale, json.dumps(row.settings, sort_keys=True), row.weights)
        key += (self.weights.get(row.id), weights_key)
        if key not in self._models:
            try:
                self._models[key] = load(
                    row.model,
                    row.scale,
                    row.settings,
                    weights_id=row.weights,
                    weights_path=self.weights.get(row.id),
                    weights_key=weights_key,
                    device=self.device,
                )
            except MissingWeightsError as exc:
                self._models[key] = exc
        return _or_raise(self._models[key])

    def architecture(self, row: Row) -> LoadedModel | None:
        """A row's model without weights, placed (for params, FLOPs and latency); None for a
        network only its checkpoint defines (spandrel, no catalogue entry)."""
        return architecture(
            row.model, row.scale, row.settings, device=self.device, weights_id=row.weights
        )

    def warn(self, text: str) -> None:
        """A warning for the user: said by the CLI and written to the run log."""
        self.warnings.append(text)

    def describe(self) -> dict:
        """The settings this run resolved, as the run log records them."""
        return {
            "table": self.spec.id,
            "spec": str(self.spec.path) if self.spec.path else None,
            "protocol_version": self.spec.version,
            "device": str(self.device),
            "datasets": self.datasets,
            "limit": self.limit,
            "data_root": self.data_root,
            "seed": self.seed,
            "cache": self.use_cache,
            "partial": self.partial,
            "save_sr": str(self.save_sr) if self.save_sr else None,
            **self.workspace.describe(),
        }


def _or_raise(value):
    if isinstance(value, ReproError):
        raise value
    return value


def is_partial(spec: TableSpec, datasets: list[str] | None, limit: int | None) -> bool:
    """A run of fewer images or datasets than the table's: a test, published beside."""
    return limit is not None or (bool(datasets) and set(datasets) != set(spec.datasets))


def prepare(
    spec: TableSpec | str | Path,
    *,
    workspace: Workspace | None = None,
    device: str | torch.device = "auto",
    datasets: list[str] | None = None,
    limit: int | None = None,
    data_root: str | None = None,
    use_cache: bool = True,
    progress: bool = True,
    seed: int = 0,
    weights: dict[str, str] | None = None,
    summary_md: Path | None = None,
    fail_on: frozenset[str] = frozenset(),
    save_sr: str | Path | None = None,
) -> RunContext:
    """Resolve and check everything a run needs before anything runs (module docstring);
    ``workspace`` defaults to the active one."""
    if not isinstance(spec, TableSpec):
        spec = load_spec(spec)
    check_spec(spec)
    if datasets:
        unknown = [d for d in datasets if d not in spec.datasets]
        if unknown:
            raise UnknownNameError(
                f"table {spec.id} has no dataset {unknown}; its datasets: {spec.datasets}"
            )
    if limit is not None and limit < 1:
        raise ReproError(f"--limit must be a positive number of images, got {limit}")
    device = resolve_device(device)  # refused before anything runs
    require_in_data_root(data_root, datasets or spec.datasets)
    if save_sr is not None:
        save_sr = Path(save_sr).expanduser().absolute()
        check_new(save_sr, "--save-sr")
    return RunContext(
        spec=spec,
        workspace=workspace or current(),
        device=device,
        chosen=list(datasets) if datasets else None,
        data_root=data_root,
        limit=limit,
        use_cache=use_cache,
        progress=progress,
        seed=seed,
        weights=dict(weights or {}),
        summary_md=summary_md,
        fail_on=fail_on,
        save_sr=save_sr,
    )
