"""Helpers shared by tests and benchmarks: real brokers, real databases, free ports."""
