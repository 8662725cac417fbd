"""Tests for lessons/accounts/, laid out like the source."""
