"""The action tracker: actions across projects, their owners, due dates and evidence."""
