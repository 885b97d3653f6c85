"""Weight files of models and metrics: one catalogue entry type and one resolver."""

from repro.weights.entry import WeightsEntry

__all__ = ["WeightsEntry"]
