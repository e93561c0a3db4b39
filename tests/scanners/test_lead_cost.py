"""Which scanner leads a scan (runner.launch_order, by Scanner.lead_cost): trivy, except on a
large tree that is mostly Python, where bandit outlasts it."""

from __future__ import annotations

from posture_gate.runner import launch_order
from posture_gate.scanners import SCANNERS
from posture_gate.scanners.bandit import LEAD_BYTES
from posture_gate.scanners.base import Weight

MB = 1 << 20


def _lead(tree: Weight | None) -> str:
    return launch_order([(s, s.name) for s in SCANNERS.values()], tree)[0][0].name


def test_trivy_leads_unless_the_tree_is_large_and_mostly_python() -> None:
    assert _lead(None) == "trivy"  # not weighed (the result cache is off)
    assert _lead(Weight(python=2 * MB, other=MB)) == "trivy"  # small
    assert _lead(Weight(python=19 * MB, other=167 * MB)) == "trivy"  # pydantic-ai's shape
    assert _lead(Weight(python=LEAD_BYTES, other=0)) == "trivy"  # not past the line
    assert _lead(Weight(python=10 * MB, other=2 * MB)) == "bandit"  # yt-dlp's shape
    assert _lead(Weight(python=LEAD_BYTES + 1, other=LEAD_BYTES)) == "bandit"


def test_bandits_lead_cost_is_above_every_other_scanners() -> None:
    heavy = Weight(python=10 * MB, other=0)
    others = [s.lead_cost(heavy) for name, s in SCANNERS.items() if name != "bandit"]
    assert SCANNERS["bandit"].lead_cost(heavy) > max(others)
    assert SCANNERS["bandit"].lead_cost(None) == SCANNERS["bandit"].cost
