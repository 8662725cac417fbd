"""Tests for lessons/catalogue/, laid out like the source."""
