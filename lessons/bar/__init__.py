"""Before action reviews: the brief, the lessons surfaced for it, and what the team decided."""
