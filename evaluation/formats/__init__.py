"""Readers and writers for the official benchmark files (OVO-Bench, StreamingBench)."""
