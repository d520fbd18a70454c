"""Benchmarks: each compares Firstline with a bare FastAPI baseline measured in the same run."""
