"""Paper tables as data: specs, comparison, running."""
