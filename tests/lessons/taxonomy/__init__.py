"""Tests for lessons/taxonomy/, laid out like the source."""
