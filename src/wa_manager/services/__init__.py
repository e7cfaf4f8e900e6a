"""Use cases: each receives its ports as arguments and runs in one unit of work."""
