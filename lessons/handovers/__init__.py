"""Handovers that reach the successor: role, successor, work in flight, contacts, follow-ups."""
