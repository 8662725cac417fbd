"""The expertise locator: profiles as their owners edit them, expertise inferred from what a
person did (each inference with its records), what they contributed, and people found for a
topic, always as one viewer may see them (`lessons.accounts.access`)."""
