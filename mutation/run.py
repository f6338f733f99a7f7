"""Mutation testing of the modules that decide safety: ``tox -e mutation [-- MODULE ...]``.

For each module, mutmut (3.x) mutates that one file and runs the tests that cover it; the run
fails when fewer than 90% of its mutants are killed. Mutants that cannot be killed because
they change nothing observable (equivalent mutants) are listed in ``mutation/equivalent.txt``
with a reason each, and left out of the total; a survivor not listed there counts against
the score and is printed, to be killed by a test.

mutmut imports the mutated code from ``mutants/src``, so each module runs in a scratch copy of
the repository whose ``src/`` holds only the package under test (the kubernetes plugin's
package moves there from ``plugins/kubernetes/src``); everything else comes from the tox
env's installed distributions. One worker process, under ``nice``: this is a slow job.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "mutation" / "equivalent.txt"
THRESHOLD = 0.90
K8S_TESTS = ["plugins/kubernetes/tests", "plugins/delete-pod/tests", "plugins/taint-node/tests"]
K8S_ARGS = ["--import-mode=importlib"]


@dataclass(frozen=True)
class Module:
    package: str           # the package directory, relative to the repository
    file: str              # the module inside it
    tests: tuple[str, ...]  # test files, folders or globs (relative to the repository)
    pytest_args: tuple[str, ...] = ()

    @property
    def dotted(self) -> str:
        return f"{Path(self.package).name}.{Path(self.file).stem}"


MODULES = {
    "safety": Module("src/falco_response", "safety.py",
                     ("tests/test_safety*.py", "tests/test_failsafe*.py")),
    "matching": Module("src/falco_response", "matching.py",
                       ("tests/test_matching*.py", "tests/test_properties.py")),
    "match_index": Module("src/falco_response", "match_index.py",
                          ("tests/test_match_index*.py", "tests/test_matching*.py",
                           "tests/test_properties.py")),
    "config": Module("src/falco_response", "config.py",
                     ("tests/test_config*.py", "tests/test_failsafe_input.py",
                      "tests/test_plugin_loading.py")),
    "targets": Module("plugins/kubernetes/src/falco_response_kubernetes", "targets.py",
                      tuple(K8S_TESTS), tuple(K8S_ARGS)),
    "names": Module("plugins/kubernetes/src/falco_response_kubernetes", "names.py",
                    tuple(K8S_TESTS), tuple(K8S_ARGS)),
}


def equivalent_mutants() -> dict[str, str]:
    """``name: reason`` lines of mutation/equivalent.txt (``#`` starts a comment)."""
    found: dict[str, str] = {}
    for number, line in enumerate(EQUIVALENT.read_text().splitlines(), 1):
        line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not line:
            continue
        name, sep, reason = line.partition(":")
        if not sep or not reason.strip():
            raise SystemExit(f"{EQUIVALENT.name}:{number}: expected 'mutant_name: reason'")
        found[name.strip()] = reason.strip()
    return found


def scratch_copy(module: Module, where: Path) -> list[str]:
    """The repository's tracked files in ``where``, with ``src/`` holding only the package
    under test. Returns the test paths that exist there."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if name.startswith(("src/", "mutation/")) or not source.is_file():
            continue
        target = where / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    package = Path(module.package)
    shutil.copytree(ROOT / package, where / "src" / package.name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    tests = sorted({str(p.relative_to(where)) for pattern in module.tests
                    for p in where.glob(pattern)})
    if not tests:
        raise SystemExit(f"no tests match {module.tests}")
    top = sorted({name.split("/", 1)[0] + ("/" if "/" in name else "") for name in listed}
                 - {"src/", "mutation/"})
    lines = ["[mutmut]", "source_paths = src/", f"only_mutate = src/{package.name}/{module.file}",
             "max_stack_depth = -1", "also_copy ="]
    lines += [f"    {name}" for name in top]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {t}" for t in tests]
    # kmock's pytest plugin (installed with kmock, unused) needs pytest-asyncio: keep it out
    args = ["-q", "-p", "no:cacheprovider", "-p", "no:kmock", *module.pytest_args]
    lines += ["pytest_add_cli_args ="] + [f"    {a}" for a in args]
    (where / "setup.cfg").write_text("\n".join(lines) + "\n")
    return tests


def unstable_test_ids(where: Path) -> list[str]:
    """Test ids holding an object's address (a parameter without a stable repr)."""
    stats = where / "mutants" / "mutmut-stats.json"
    if not stats.is_file():
        return []
    tests = json.loads(stats.read_text()).get("duration_by_test", {})
    return sorted(t for t in tests if re.search(r" at 0x[0-9a-fA-F]+>", t))


def run_module(name: str, module: Module, equivalent: dict[str, str], keep: Path | None) -> bool:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutation-{name}-") as tmp:
        where = keep / name if keep else Path(tmp)
        if keep:
            shutil.rmtree(where, ignore_errors=True)
            where.mkdir(parents=True)
        tests = scratch_copy(module, where)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        nice = ["nice", "-n", "10"] if shutil.which("nice") else []
        print(f"== {name}: {module.package}/{module.file} with {' '.join(tests)}", flush=True)
        for attempt in (1, 2):  # a loaded machine can time out the unmutated stats run once
            run = subprocess.run([*nice, sys.executable, "-m", "mutmut", "run",
                                  "--max-children", "1"], cwd=where, env=env,
                                 capture_output=True, text=True)
            if run.returncode == 0:
                break
            print(f"{name}: mutmut run failed (exit {run.returncode}), attempt {attempt}")
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
            print(f"{name}: mutmut failed (exit {run.returncode})")
            return False
        unstable = unstable_test_ids(where)
        if unstable:
            print(f"{name}: test ids that change between runs (mutmut reruns tests by id, so "
                  f"each rerun fails and every mutant would count as killed):")
            print("\n".join(f"  {test}" for test in unstable[:10]))
            return False
        listed = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"],
                                cwd=where, env=env, check=True, capture_output=True, text=True)
        status = dict(re.findall(r"^\s+(\S+): (.+)$", listed.stdout, re.MULTILINE))
        shows = {m: subprocess.run([sys.executable, "-m", "mutmut", "show", m], cwd=where,
                                   env=env, capture_output=True, text=True).stdout
                 for m, s in status.items() if s != "killed" and s != "timeout"
                 and m not in equivalent}
    killed = sum(s in ("killed", "timeout") for s in status.values())
    survivors = {m: s for m, s in status.items() if s not in ("killed", "timeout")}
    tolerated = {m for m in survivors if m in equivalent}
    counted = len(status) - len(tolerated)
    score = killed / counted if counted else 1.0
    ok = counted > 0 and score >= THRESHOLD
    print(f"{name}: {killed}/{len(status)} killed, {len(tolerated)} equivalent (listed), "
          f"score {killed}/{counted} = {score:.1%} ({'ok' if ok else 'BELOW 90%'}) "
          f"in {time.monotonic() - started:.0f}s")
    for mutant in sorted(set(survivors) - tolerated):
        print(f"  not killed ({survivors[mutant]}): {mutant}\n{shows.get(mutant, '')}")
    stale = sorted(m for m in equivalent if m.startswith(module.dotted + ".")
                   and status.get(m) in ("killed", "timeout", None))
    for mutant in stale:
        print(f"  listed as equivalent but {status.get(mutant) or 'no longer exists'}: {mutant}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"any of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--keep", type=Path, help="keep each scratch copy under this folder")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    equivalent = equivalent_mutants()
    results = {n: run_module(n, MODULES[n], equivalent, args.keep)
               for n in (args.modules or MODULES)}
    failed = [n for n, ok in results.items() if not ok]
    print("mutation: " + ("all modules at or above 90%" if not failed
                          else f"below 90% or broken: {', '.join(failed)}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
