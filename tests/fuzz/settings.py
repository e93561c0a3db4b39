"""How many documents the fuzzer tries per parser.

CI (the default): FUZZ_CI_EXAMPLES per parser, derandomized (a fixed seed per test), so a
CI run is fast and stable. `scripts/fuzz N` sets POSTURE_GATE_FUZZ_EXAMPLES=N: N examples
per parser, random seeds (hypothesis prints the seed of any failure to reproduce it).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ_CI_EXAMPLES = 300
_LONG = os.environ.get("POSTURE_GATE_FUZZ_EXAMPLES")

FUZZ = settings(
    max_examples=int(_LONG) if _LONG else FUZZ_CI_EXAMPLES,
    derandomize=not _LONG,
    deadline=None,  # never a wall-clock assertion; the machine is shared
    database=None,  # nothing written into the tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
    print_blob=True,
)
