"""Tests for lessons/imports/, laid out like the source."""
