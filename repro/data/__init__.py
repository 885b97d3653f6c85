"""Datasets: cards, loaders and degradations (MATLAB bicubic LR)."""
