"""posture-gate: one security gate for Python projects."""

__version__ = "0.1.0"
