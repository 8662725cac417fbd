"""Communities of practice: members and facilitators, following, shared lessons, Q&A."""
