"""Evaluation: model x dataset x scale x protocol -> one row per image."""
