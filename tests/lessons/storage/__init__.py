"""Tests for lessons/storage/, laid out like the source."""
