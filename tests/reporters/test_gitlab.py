"""GitLab reports: a vulnerability's id is the UUIDv5 of its fingerprint, stable across
runs (GitLab tracks a vulnerability by it), whatever text a saved findings.json holds."""

from __future__ import annotations

import uuid
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from posture_gate.reporters.gitlab import ID_NAMESPACE, vulnerability_id

from .conftest import findings


def _reference(fingerprint: str) -> str:
    # what uuid itself computes, a lone surrogate written as its backslash escape
    name = fingerprint.encode("utf-8", "backslashreplace").decode("utf-8")
    return str(uuid.uuid5(ID_NAMESPACE, name))


@given(fingerprint=st.text())  # any code point, lone surrogates included
def test_the_id_is_uuid5_of_the_fingerprint(fingerprint: str) -> None:
    f = replace(findings()[0], fingerprint=fingerprint)
    assert vulnerability_id(f) == _reference(fingerprint)


def test_ids_of_real_shapes() -> None:
    for f in findings():
        assert vulnerability_id(f) == _reference(f.fingerprint)
        assert uuid.UUID(vulnerability_id(f)).version == 5
