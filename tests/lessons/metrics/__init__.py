"""Tests for lessons/metrics/, laid out like the source."""
