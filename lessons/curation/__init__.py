"""Curation: the lesson lifecycle, the curator's queue, merging, recurring themes."""
