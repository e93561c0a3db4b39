"""CWE families: when bandit and semgrep name one weakness with different CWEs.

bandit reports a fixed CWE per test (bandit/core/issue.py), some of them not the textbook
one; rules written against the textbook (semgrep's registry, most other packs) then give
the same problem another number, and dedup (merge.py) would count it twice. Each entry
below says: bandit test T reported under CWE X is also the weakness CWE Y. It is keyed by
the test id, not by the CWE alone, because bandit's generic numbers (CWE-20, CWE-78,
CWE-94) also name other, distinct weaknesses: an XML parse and a YAML load on one line
are two problems.

| weakness                  | bandit test(s)        | bandit's CWE | also named    |
|---------------------------|-----------------------|--------------|---------------|
| weak hash (md5, sha1)     | B324, B303            | CWE-327      | CWE-328       |
| unsafe YAML load          | B506                  | CWE-20       | CWE-502       |
| eval / exec of input      | B307, B102            | CWE-78       | CWE-95        |
| Flask debug mode          | B201                  | CWE-94       | CWE-489       |
| XML external entities     | B313-B320             | CWE-20       | CWE-611       |
| bind to all interfaces    | B104                  | CWE-605      | CWE-200       |
| hard-coded password       | B105, B106, B107      | CWE-259      | CWE-798       |
"""

from __future__ import annotations

from collections.abc import Iterable

# (bandit test id, the CWE bandit reports) -> the other CWEs naming the same weakness
FAMILIES: dict[tuple[str, str], frozenset[str]] = {
    **{(t, "CWE-327"): frozenset({"CWE-328"}) for t in ("B324", "B303")},
    ("B506", "CWE-20"): frozenset({"CWE-502"}),
    **{(t, "CWE-78"): frozenset({"CWE-95"}) for t in ("B307", "B102")},
    ("B201", "CWE-94"): frozenset({"CWE-489"}),
    **{(f"B3{n}", "CWE-20"): frozenset({"CWE-611"}) for n in range(13, 21)},
    ("B104", "CWE-605"): frozenset({"CWE-200"}),
    **{(t, "CWE-259"): frozenset({"CWE-798"}) for t in ("B105", "B106", "B107")},
}


def weaknesses(rule_ids: Iterable[str], cwes: Iterable[str]) -> frozenset[str]:
    """A finding's CWEs plus the numbers its bandit test's weakness also goes by."""
    have = set(cwes)
    for rule in rule_ids:
        for cwe in list(have):
            have |= FAMILIES.get((rule, cwe), frozenset())
    return frozenset(have)


def same_weakness(a_rules: Iterable[str], a_cwes: Iterable[str],
                  b_rules: Iterable[str], b_cwes: Iterable[str]) -> bool:
    return bool(weaknesses(a_rules, a_cwes) & weaknesses(b_rules, b_cwes))
