"""Tests for scripts/, laid out like the source."""
