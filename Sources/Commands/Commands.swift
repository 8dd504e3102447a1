// Commands: filled in by its own change.
