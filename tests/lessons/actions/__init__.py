"""Tests for lessons/actions/, laid out like the source."""
