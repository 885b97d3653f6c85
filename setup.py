"""Packaging: what pyproject.toml cannot say statically.

The dataset cards live at the top of the repository (``datasets/``, deliberately not a package:
it would shadow Hugging Face's ``datasets``); the wheel carries them inside the package as
``repro/_cards/`` (found by ``repro.paths.cards_dir``). Every other setting is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["repro", "repro.*"]), "repro._cards"],
    package_dir={"repro._cards": "datasets"},
)
