"""Tests for ui/cli/, laid out like the source."""
