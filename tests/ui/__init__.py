"""Tests for ui/, laid out like the source."""
