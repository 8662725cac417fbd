"""The `lessonbank` command line."""
