"""Vigil's shared vocabulary: the item types and the error tree that every stage may import."""

__version__ = "0.1.0"
