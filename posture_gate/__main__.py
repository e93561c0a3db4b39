"""`python -m posture_gate`: the same CLI as the `posture-gate` script."""

from .cli import entry

if __name__ == "__main__":
    entry()
