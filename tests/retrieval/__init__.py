"""Tests for retrieval/, laid out like the source."""
