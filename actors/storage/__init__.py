"""Persistent stores behind the small storage protocols of ``protocols/`` (DESIGN.md §6)."""
