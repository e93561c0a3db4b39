"""Set-up time of the GitHub Action under act and of the GitLab template under
gitlab-ci-local: cold (empty caches: every tool installed from the package registry) and warm
(the tools restored from the CI cache), on a one-file project.

Not a test: prints figures, and installs from the package registry. Targets (issue #13):
warm set-up <= 10 s, cold <= 40 s.

    python benchmarks/ci_setup.py --actions-cache DIR [--repeat 3] [--only act|gitlab]

--actions-cache: a checkout of actions/cache at the commit action.yml pins (v4.3.0; act
cannot fetch actions offline), e.g. from `git archive v4.3.0` of its repository. act runs in
host mode with its own cache server; gitlab-ci-local keeps `cache:` in its state directory.
Between runs the runner's own copy of the tools is removed (a fresh runner), and for cold
runs the CI cache and the installers' download caches are emptied as well.

act: the set-up is the action's steps up to and including the install (act prints each
step's time). gitlab-ci-local: the template runs as one script, so the set-up is the job's
wall time less that of the same job with the tools already at hand (POSTURE_GATE_INSTALL
false): both scan the same one-file project.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NODE_BIN = REPO / "node_modules" / ".ci-clients" / "node_modules" / ".bin"
CACHE_SHA = "0057852bfaa89a56745cba8c7296529d2fc39830"  # actions/cache v4.3.0
SOURCE = ("action.yml", ".gitlab-ci-template.yml", "pyproject.toml", "README.md",
          "posture_gate", "policies")
APP = 'def add(a: int, b: int) -> int:\n    """Sum."""\n    return a + b\n'
WORKFLOW = """\
on: push
permissions: {}
jobs:
  gate:
    runs-on: ubuntu-latest
    steps:
      - run: cp -a "$SRC/." .
      - uses: ./posture-gate
        with:
          paths: app
          advisories: app/.advisories
          policy: default
          posture-gate-version: ${{ env.PG_SPEC }}
          venv: ${{ env.PG_VENV }}
          cache-dir: ${{ env.PG_CACHE_DIR }}
          formats: json
"""
STEP_TIME = re.compile(r"Success - (?:Main|Pre|Post) (.+?) \[([0-9hmsµn.]+)\]")
_PART = re.compile(r"([\d.]+)(h|ms|µs|ns|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}


def seconds(go_duration: str) -> float:
    """Go's time.Duration text, as act prints it ("1m9.46s", "264.5ms")."""
    return sum(float(n) * _UNIT[u] for n, u in _PART.findall(go_duration))


def tool(name: str) -> str:
    for candidate in (BIN / name, NODE_BIN / name):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found (scripts/test-deps/ci-clients.sh)")
    return found


def env_for(work: Path, cold: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "RUNNER_", "ACTIONS_"))}
    env.pop("CI", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["GIT_CONFIG_GLOBAL"] = str(work / "gitconfig")
    (work / "gitconfig").touch()
    env.update(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.invalid",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.invalid")
    downloads = work / ("dl-cold" if cold else "dl")
    if cold:
        shutil.rmtree(downloads, ignore_errors=True)
    env["PIP_CACHE_DIR"] = str(downloads / "pip")
    env["UV_CACHE_DIR"] = str(downloads / "uv")
    env["XDG_CACHE_HOME"] = str(work / "xdg")
    return env


def project(work: Path) -> Path:
    root = work / "project"
    shutil.rmtree(root, ignore_errors=True)
    (root / "app").mkdir(parents=True)
    (root / "app" / "app.py").write_text(APP)
    (root / "app" / "requirements.txt").write_text("click==8.1.7\n")
    shutil.copytree(REPO / "examples" / "advisories", root / "app" / ".advisories")
    for name in SOURCE:
        src = REPO / name
        dest = root / "posture-gate" / name
        if src.is_dir():
            shutil.copytree(src, dest, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    return root


def git_commit(root: Path, env: dict[str, str]) -> None:
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                 ["git", "commit", "-q", "--no-verify", "-m", "bench"]):
        subprocess.run(argv, cwd=root, env=env, check=True, capture_output=True)


def act_setup(work: Path, actions_cache: Path, cold: bool) -> float:
    """Seconds of the action's set-up steps (keys, caches, install) in one act run."""
    env = env_for(work, cold)
    root = project(work)
    wf = root / ".github" / "workflows" / "gate.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(WORKFLOW)
    git_commit(root, env)
    venv = work / "runner" / "venv"  # the runner's copy: gone on a fresh runner
    shutil.rmtree(venv.parent, ignore_errors=True)
    server = work / "act-cache"
    if cold:
        shutil.rmtree(server, ignore_errors=True)
    argv = [tool("act"), "push", "-W", str(wf), "-P", "ubuntu-latest=-self-hosted",
            "--cache-server-path", str(server),
            "--local-repository", f"actions/cache@{CACHE_SHA}={actions_cache}",
            "--env", f"SRC={root}", "--env", f"PG_SPEC={root / 'posture-gate'}",
            "--env", f"PG_VENV={venv}", "--env", f"PG_CACHE_DIR={work / 'runner' / 'cache'}"]
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True,
                          timeout=1800, check=False)
    log = done.stdout + done.stderr
    total = 0.0
    for name, value in STEP_TIME.findall(log):
        if name.startswith(("Cache keys", "Restore the installed tools",
                            "Restore posture-gate's result cache",
                            "Install posture-gate")):
            total += seconds(value)
    if "Install posture-gate" not in log or total == 0.0:
        raise SystemExit(f"act run failed:\n{log[-3000:]}")
    return total


def gitlab_job(work: Path, cold: bool, install: bool) -> float:
    """A cold job gets a new project; a warm one the project as the last job left it, with
    .posture-gate-cache/ where GitLab restores its cache."""
    env = env_for(work, cold)
    root = work / "project"
    if cold or not root.is_dir():
        root = project(work)
        shutil.copy2(REPO / ".gitlab-ci-template.yml", root / ".gitlab-ci-template.yml")
        (root / ".gitlab-ci.yml").write_text(
            "include:\n  - local: .gitlab-ci-template.yml\nvariables:\n"
            f"  POSTURE_GATE_PATHS: app\n  POSTURE_GATE_FORMATS: json\n"
            f"  POSTURE_GATE_ADVISORIES: {root / 'app' / '.advisories'}\n"
            f"  POSTURE_GATE_POLICY: default\n  POSTURE_GATE_PIP_SPEC: {root / 'posture-gate'}\n")
        git_commit(root, env)
    state = work / "gcl-state"
    if cold:
        shutil.rmtree(state, ignore_errors=True)
    argv = [tool("gitlab-ci-local"), "--shell-executor-no-image", "--state-dir", "../gcl-state",
            "--variable", "CI_PIPELINE_SOURCE=schedule", "--variable", "CI_CONCURRENT_ID=77"]
    if not install:
        argv += ["--variable", "POSTURE_GATE_INSTALL=false",
                 "--variable", f"POSTURE_GATE_VENV={Path(sys.prefix)}",
                 "--variable", "POSTURE_GATE_CACHE=false"]
    shutil.rmtree(Path(tempfile.gettempdir()) / "posture-gate-cache-77", ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True,
                          timeout=1800, check=False)
    wall = time.perf_counter() - started
    if not re.search(r"(PASS|FAIL)\s+posture-gate", done.stdout) or (
            install and not cold and "tools restored from the cache" not in done.stdout):
        raise SystemExit(f"gitlab-ci-local failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--actions-cache", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["act", "gitlab"])
    args = ap.parse_args()
    med = statistics.median
    with tempfile.TemporaryDirectory(prefix="pg-bench-ci-") as tmp:
        work = Path(tmp)
        if args.only in (None, "act"):
            if args.actions_cache is None:
                raise SystemExit("--actions-cache DIR is needed for act")
            cold, warm = [], []
            for i in range(args.repeat):
                cold.append(act_setup(work, args.actions_cache.resolve(), cold=True))
                warm.append(act_setup(work, args.actions_cache.resolve(), cold=False))
                print(f"  act rep {i + 1}: cold {cold[-1]:6.1f}s  warm {warm[-1]:5.1f}s",
                      flush=True)
            print(f"action under act:        cold set-up {med(cold):6.1f}s (target <= 40 s), "
                  f"warm {med(warm):5.1f}s (target <= 10 s)")
        if args.only in (None, "gitlab"):
            cold, warm = [], []
            for i in range(args.repeat):
                bare = gitlab_job(work, cold=True, install=False)
                c = gitlab_job(work, cold=True, install=True)
                w = gitlab_job(work, cold=False, install=True)
                cold.append(c - bare)
                warm.append(w - bare)
                print(f"  gitlab rep {i + 1}: job without set-up {bare:5.1f}s, cold set-up "
                      f"{cold[-1]:6.1f}s, warm {warm[-1]:5.1f}s", flush=True)
            print(f"template under gitlab-ci-local: cold set-up {med(cold):6.1f}s "
                  f"(target <= 40 s), warm {med(warm):5.1f}s (target <= 10 s)")


if __name__ == "__main__":
    main()
