"""Taxonomy: tag schemes and their terms, and the one mapping from a term to its tag."""
