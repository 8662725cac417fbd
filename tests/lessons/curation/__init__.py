"""Tests for lessons/curation/, laid out like the source."""
