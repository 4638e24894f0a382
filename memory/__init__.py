"""Memory: what the agent saw, heard, was asked and answered, per stream."""

from memory.store import MemorySnapshot, MemoryStore, Retention

__all__ = ["MemorySnapshot", "MemoryStore", "Retention"]
