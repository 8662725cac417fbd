"""The Lessonbank domain: records, services and domain errors. Knows nothing of HTTP."""
