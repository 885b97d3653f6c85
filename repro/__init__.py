"""repro: reproduce and evaluate published image super-resolution results."""

__version__ = "0.1.0"
