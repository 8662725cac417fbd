"""Tests for lessons/bar/, laid out like the source."""
