"""`python -m posture_gate`: the same CLI as the `posture-gate` script."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="posture-gate")
