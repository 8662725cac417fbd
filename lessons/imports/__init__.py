"""Importers for lesson banks from elsewhere: NASA LLIS, and an organisation's own CSV/JSON."""
