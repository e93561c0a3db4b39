"""Trust rules of the posture blocks: platform is trusted-only, coverage floors may only rise,
effectiveness limits may only tighten."""

from __future__ import annotations

from pathlib import Path

import pytest

from posture_gate.errors import PolicyError

from .test_trust import TRUSTED, refused, resolve

POSTURE = TRUSTED + """\
sla_days: {critical: 7}
platform: {provider: github, repository: acme/web}
coverage: {min_ratio: {python: 0.8}, unscanned_languages: warn}
effectiveness: {max_median_days_to_fix: {critical: 7}, min_sla_compliance: {critical: 0.8}}
"""


def test_tightening_is_taken(tmp_path: Path) -> None:
    r = resolve(tmp_path, "coverage: {min_ratio: {python: 1.0, go: 0.5}, "
                "unscanned_languages: fail}\neffectiveness: {max_median_days_to_fix: "
                "{critical: 3}, min_sla_compliance: {critical: 0.95}}\n"
                "platform: {required: true}\n", trusted=POSTURE)
    cov, eff = r.policy.coverage, r.policy.effectiveness
    assert cov is not None and dict(cov.min_ratio) == {"python": 1.0, "go": 0.5}
    assert cov.unscanned_languages == "fail"
    assert eff is not None and dict(eff.max_median_days_to_fix) == {"critical": 3.0}
    assert dict(eff.min_sla_compliance) == {"critical": 0.95}
    assert r.policy.platform is not None and r.policy.platform.repository == "acme/web"


@pytest.mark.parametrize(("local", "key"), [
    ("coverage: {min_ratio: {python: 0.5}}\n", "coverage.min_ratio.python"),
    ("coverage: {unscanned_languages: warn}\n", None),  # same as trusted: fine
    ("effectiveness: {max_median_days_to_fix: {critical: 30}}\n",
     "effectiveness.max_median_days_to_fix.critical"),
    ("effectiveness: {min_sla_compliance: {critical: 0.5}}\n",
     "effectiveness.min_sla_compliance.critical"),
    ("platform: {api_url: 'http://127.0.0.1:9'}\n", "platform.api_url"),
    ("platform: {repository: other/repo}\n", "platform.repository"),
    ("platform: {token_env: HOME}\n", "platform.token_env"),
    ("platform: {required: false}\n", "platform.required"),
])
def test_loosening_or_redirecting_is_refused(tmp_path: Path, local: str,
                                             key: str | None) -> None:
    if key is None:
        resolve(tmp_path, local, trusted=POSTURE)
        return
    with pytest.raises(PolicyError) as exc:
        resolve(tmp_path, local, trusted=POSTURE)
    assert key in exc.value.one_line()


def test_a_local_platform_block_without_a_trusted_one_is_refused(tmp_path: Path) -> None:
    assert "platform.provider" in refused(tmp_path, "platform: {provider: github}\n")
