"""Model registry and builders: ``repro.models.build("camixersr", "s", scale=4, ratio=0.5)``."""

from repro.models.registry import ModelInfo, WeightsEntry, all_models, build, get, register

__all__ = ["ModelInfo", "WeightsEntry", "all_models", "build", "get", "register"]
