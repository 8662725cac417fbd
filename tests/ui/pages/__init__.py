"""Tests for ui/pages/, laid out like the source."""
