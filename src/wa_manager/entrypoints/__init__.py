"""Entrypoints: the CLI and the HTTP app. They talk to ``bootstrap.App`` only."""
