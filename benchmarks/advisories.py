"""CPU time of the advisory data a scan needs: the old `load_dir` (every record parsed with the
pure-Python YAML loader) against the index, cold (built, then cached) and warm (read from the
cache), each followed by the look-ups of a pip-audit run on a real app's pins; and the same
records as an OSV all.zip export (<ID>.json members), cold and warm.

Not a test: prints figures. Targets (issue #13): warm < 0.3 s, cold < 2 s of CPU.

    python benchmarks/advisories.py --advisories DIR|ZIP|TAR.GZ [--requirements FILE]
                                    [--repeat 5] [--old-ref REF]

The source should be the whole PyPI advisory database (a tarball of pypa/advisory-database's
`vulns/`): examples/advisories is too small to measure. The old `load_dir` is read from git
(`--old-ref`, default: the last commit before the index) and run in this same process, so
both sides see the same files, page cache and machine load.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from posture_gate import advisories  # noqa: E402

OLD_REF = "c1579a4^"  # posture_gate/advisories.py before the index (load_dir)

# The runtime pins of a real Django app (djangogirls/djangogirls, requirements.txt at
# 7b660ed): what pip-audit asks the OSV server about on every run.
PINS = ["asgiref==3.6.0", "bleach==5.0.1", "boto3==1.26.85", "botocore==1.29.85",
        "certifi==2024.7.4", "charset-normalizer==3.1.0", "django==3.2.25",
        "django-debug-toolbar==3.8.1", "django-extensions==3.2.1", "django-storages==1.7.1",
        "django-tinymce==4.1.0", "dnspython==2.6.1", "easy-thumbnails==2.8.5",
        "google-api-python-client==2.37.0", "google-auth==2.16.2", "httplib2==0.21.0",
        "idna==3.7", "lxml==4.9.2", "markdown2==2.4.8", "oauthlib==3.2.2", "pillow==10.3.0",
        "psycopg2-binary==2.8.3", "pyasn1==0.4.8", "pyparsing==3.0.9", "python-dateutil==2.8.2",
        "requests==2.31.0", "sqlparse==0.4.3", "urllib3==1.26.18", "whitenoise==6.4.0",
        "gunicorn==20.1.0"]


def old_module(ref: str) -> Any:
    """posture_gate/advisories.py at `ref`, as a module of this posture_gate package."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{ref}:posture_gate/advisories.py"],
                            capture_output=True, text=True, check=True).stdout
    spec = importlib.util.spec_from_loader("posture_gate._old_advisories", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "posture_gate"
    sys.modules[spec.name] = module  # dataclasses look their module up there
    exec(compile(source, f"{ref}:posture_gate/advisories.py", "exec"), module.__dict__)  # noqa: S102
    return module


def pins_of(path: Path | None) -> list[tuple[str, str]]:
    lines = PINS if path is None else [
        line.split("#")[0].strip() for line in path.read_text().splitlines()]
    out = []
    for line in lines:
        if "==" in line:
            name, version = line.split("==", 1)
            out.append((name.split("[")[0].strip(), version.split(";")[0].strip()))
    return out


def pip_audit_run(db: Any, pins: list[tuple[str, str]]) -> dict[str, list[str]]:
    """What a scan asks: one query per pin, then each hit and its aliases by id (severity)."""
    answers = {}
    for name, version in pins:
        hits = db.query("PyPI", name, version)
        for rec in hits:
            for vid in [rec["id"], *(rec.get("aliases") or [])]:
                db.get(vid)
        answers[f"{name}=={version}"] = sorted(r["id"] for r in hits)
    return answers


def all_zip(db: Any, path: Path) -> Path:
    """The same records as osv.dev publishes an ecosystem: a zip of <ID>.json."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for vid, record in db.records.items():
            zf.writestr(f"{vid}.json", json.dumps(record))
    return path


def measure(fn: Callable[[], Mapping[str, list[str]]]) -> tuple[float, float,
                                                                  Mapping[str, list[str]]]:
    cpu, wall = time.process_time(), time.perf_counter()
    answers = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, answers


def source_of(arg: str, tmp: Path) -> Path:
    path = Path(arg)
    if path.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(path) as tar:
            tar.extractall(tmp / "src", filter="data")
        dirs = [p for p in (tmp / "src").iterdir() if p.is_dir()]
        return dirs[0] if len(dirs) == 1 else tmp / "src"
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--advisories", required=True,
                        help="directory, OSV all.zip or .tar.gz of records (e.g. a tarball of "
                             "github.com/pypa/advisory-database's vulns/)")
    parser.add_argument("--requirements", type=Path, help="pins to query (default: 30 pins "
                        "of a real Django app)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--old-ref", default=OLD_REF)
    args = parser.parse_args()
    pins = pins_of(args.requirements)
    old = old_module(args.old_ref)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = source_of(args.advisories, tmp)
        runs: dict[str, list[tuple[float, float]]] = {
            k: [] for k in ("old", "cold", "warm", "zip-cold", "zip-warm")}
        answers: dict[str, Mapping[str, list[str]]] = {}
        warm_cache = tmp / "warm-cache"
        advisories.load(source, cache_dir=warm_cache)  # the index the warm runs read
        export = all_zip(old.load_dir(source), tmp / "all.zip")
        advisories.load(export, cache_dir=warm_cache)
        for n in range(args.repeat):
            cases: dict[str, Callable[[], Mapping[str, list[str]]]] = {
                "old": lambda: pip_audit_run(old.load_dir(source), pins),
                "cold": lambda n=n: pip_audit_run(  # type: ignore[misc]
                    advisories.load(source, cache_dir=tmp / f"cold-{n}"), pins),
                "warm": lambda: pip_audit_run(
                    advisories.load(source, cache_dir=warm_cache), pins),
                "zip-cold": lambda n=n: pip_audit_run(  # type: ignore[misc]
                    advisories.load(export, cache_dir=tmp / f"zip-cold-{n}"), pins),
                "zip-warm": lambda: pip_audit_run(
                    advisories.load(export, cache_dir=warm_cache), pins),
            }
            for name, fn in cases.items():
                cpu_s, wall_s, answers[name] = measure(fn)
                runs[name].append((cpu_s, wall_s))
        if any(a != answers["old"] for a in answers.values()):
            sys.exit("the index answers differently from load_dir: not a benchmark, a bug")
        db = advisories.load(source, cache_dir=warm_cache)
        assert db.cached
        index_size = (warm_cache / f"{db.digest}.idx").stat().st_size
    cpu = {k: statistics.median(c for c, _ in v) for k, v in runs.items()}
    wall = {k: statistics.median(w for _, w in v) for k, v in runs.items()}
    hits = sum(len(v) for v in answers["warm"].values())
    print(f"source: {source} ({len(db.ids())} records, index {index_size / 1e6:.1f} MB)")
    print(f"queries: {len(pins)} pins, {hits} advisories hit; medians of {args.repeat}; "
          "answers identical")
    labels = {"old": f"old load_dir ({args.old_ref})", "cold": "index cold (build + store)",
              "warm": "index warm (cached)", "zip-cold": "all.zip: index cold",
              "zip-warm": "all.zip: index warm"}
    print(f"{'':34s} {'CPU s':>7s} {'wall s':>7s}")
    for key, label in labels.items():
        print(f"{label:34s} {cpu[key]:7.3f} {wall[key]:7.3f}")
    print(f"ratio cold / old (CPU): {cpu['cold'] / cpu['old']:.3f}  "
          f"(target: cold < 2 s: {'met' if cpu['cold'] < 2 else 'NOT met'})")
    print(f"ratio warm / old (CPU): {cpu['warm'] / cpu['old']:.3f}  "
          f"(target: warm < 0.3 s: {'met' if cpu['warm'] < 0.3 else 'NOT met'})")


if __name__ == "__main__":
    main()
