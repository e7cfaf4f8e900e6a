"""The HTTP API and web UI (Starlette), served by ``wa-manager serve``."""
