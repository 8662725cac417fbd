"""The digest's sources, one module each (see lessons.digest.sections)."""
