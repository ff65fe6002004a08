"""Scripts that justify a tuning choice; each has its document under docs/studies/.

Run from the repository root, e.g. ``python -m benchmarks.studies.auto_rule``.
"""
