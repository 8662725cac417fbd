"""Tests for ui/api/, laid out like the source."""
