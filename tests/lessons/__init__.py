"""Tests for lessons/, laid out like the source."""
