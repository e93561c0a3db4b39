"""A test 'scanner': a Python one-liner whose JSON on stdout becomes its run's properties
(what a test wants a job to report: the priority it ran at, what it saw when planned)."""

from __future__ import annotations

import json
import sys
from typing import ClassVar

from posture_gate.model import Category
from posture_gate.scanners.base import Job, Parsed, ScanContext, Scanner


class Probe(Scanner):
    executable = sys.executable
    tested_versions: ClassVar[frozenset[str]] = frozenset()
    categories: ClassVar[tuple[Category, ...]] = (Category.CODE,)

    def parse(self, data: bytes, job: Job, ctx: ScanContext, version: str, *,
              exit_code: int = 0) -> Parsed:
        return Parsed(findings=(), raw_count=0, properties=json.loads(data))

    def job(self, code: str, name: str | None = None) -> Job:
        """A job of this probe that runs `code` with the test's interpreter."""
        return Job(name=name or self.name, scanner=self.name,
                   argv=(sys.executable, "-c", code), timeout=60)
