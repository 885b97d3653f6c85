"""Metrics from outside the package: entry points of the group ``repro.metrics``.

An installed distribution declares, in its ``pyproject.toml``::

    [project.entry-points."repro.metrics"]
    mae = "mypkg.metrics:METRICS"

naming a :class:`~repro.metrics.spec.MetricSpec` or a tuple of them. The registry checks each
entry as it checks the shipped ones; an entry point that fails to load, names something else,
or declares a wrong entry breaks only itself, in one line. The code key counts a plugin metric's
own source (:func:`repro.eval.code_key.metric_roots`), as it does a plugin model's.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from repro.errors import RegistrationError, one_line
from repro.metrics.spec import MetricSpec

ENTRY_POINT_GROUP = "repro.metrics"


def entry_points_installed() -> list[EntryPoint]:
    """The ``repro.metrics`` entry points installed here, by name."""
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def entry_point_origin(ep: EntryPoint) -> str:
    """Where a metric came from, as ``repro ls metrics`` shows it (the models' wording)."""
    dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "no distribution"
    return f"entry point {ep.name} = {ep.value} ({dist})"


def declared_entries(ep: EntryPoint) -> tuple[object, ...]:
    """The entries an entry point declares (each checked by the registry); one line naming it
    if it cannot be loaded or names neither a MetricSpec nor a tuple of them."""
    where = f"metric entry point '{ep.name}' ({entry_point_origin(ep)})"
    try:
        value = ep.load()
    except Exception as exc:  # third-party code may raise anything while importing
        raise RegistrationError(f"{where} cannot be loaded: {one_line(exc)}") from None
    if isinstance(value, MetricSpec):
        return (value,)
    if isinstance(value, (tuple, list)):
        return tuple(value)
    raise RegistrationError(
        f"{where} gives a {type(value).__name__}; an entry point names a MetricSpec or a tuple "
        "of them"
    )
