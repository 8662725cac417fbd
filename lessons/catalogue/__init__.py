"""The catalogue: reading and editing lessons, reviews and actions; subscription feeds."""
