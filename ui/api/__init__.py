"""The JSON API under /api (DESIGN.md: the API is a contract)."""
