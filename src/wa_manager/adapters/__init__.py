"""Adapters: implementations of the domain's ports (memory, SQL, UltraMsg, passwords)."""
