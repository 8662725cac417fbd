"""People: who wrote a review, owns an action or knows about a lesson."""
