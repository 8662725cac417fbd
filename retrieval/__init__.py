"""Retrieval: embeddings, the vector index and ranking. Reads lesson text; never renders HTML."""
