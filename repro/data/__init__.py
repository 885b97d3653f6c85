"""Datasets: cards, loaders and degradations (MATLAB bicubic LR).

``cards`` reads the typed cards of ``datasets/`` (``schema``: what a card holds; ``fields``: the
typed YAML reads); ``loaders.open_dataset`` finds a set locally or on the Hub (``hub``), whose
archives (``archives``) and parquet tables (``parquet``) are written to the cache (``staging``);
``dataset`` yields its verified samples, making LR with ``imresize`` or ``odi`` when absent.
"""
