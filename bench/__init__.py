"""Benchmarks (run as scripts, e.g. `.venv/bin/python bench/month_open.py`)."""
