"""Markdown reports and matplotlib plots of compared tables."""
