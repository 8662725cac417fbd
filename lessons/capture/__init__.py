"""Capture: logging a review, its standard questions, and the projects reviews are held on."""
