"""Tests for lessons/capture/, laid out like the source."""
