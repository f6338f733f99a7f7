"""Building the deployment zip for Lambda's Python runtime.

The zip holds the core, the named plugins and their dependencies as Lambda's Linux
(manylinux) wheels for the chosen architecture and Python version, the config as
``falco-response.yaml``, and byte-compiled modules. Lambda's code directory is read-only, so a
module without a usable ``.pyc`` is compiled again on every cold start. The ``.pyc`` files are
*unchecked-hash* ones: zip timestamps have 2-second resolution, so timestamp-checked ``.pyc``
files would look stale after unzipping and be ignored. A ``.pyc`` is only valid for the
interpreter version that wrote it, so compiling needs a Python of the target version.
"""

from __future__ import annotations

import compileall
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..plugin_metadata import ACTIONS_GROUP
from .config_source import PACKAGED_CONFIG, PLUGIN_MANIFEST

LAMBDA_UNZIPPED_LIMIT = 262_144_000
"""Lambda's limit on a function's unzipped code, layers included (250 MiB)."""
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
ARCHITECTURES = ("x86_64", "arm64")
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
_TEST_DIRS = {"tests", "test", "testing", "e2e_test"}
_DIST_INFO_JUNK = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class PackagingError(Exception):
    """The zip could not be built; the message says why and what to do."""


@dataclass
class Package:
    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    compiled: int
    python: str
    arch: str


def _mb(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"


def platforms(arch: str, python: str) -> list[str]:
    """manylinux tags Lambda's OS runs: glibc 2.17+ everywhere, 2.28 on Amazon Linux 2023
    (the python3.12 and later runtimes)."""
    machine = _MACHINE[arch]
    tags = [f"manylinux2014_{machine}"]
    if tuple(int(p) for p in python.split(".")) >= (3, 12):
        tags.append(f"manylinux_2_28_{machine}")
    return tags


def _compiler(python: str, compile_with: str | None) -> str | None:
    if compile_with:
        return compile_with
    if f"{sys.version_info.major}.{sys.version_info.minor}" == python:
        return sys.executable
    return shutil.which(f"python{python}")


def _pip(args: Sequence[str], log: Callable[[str], None]) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    log("$ " + " ".join(command))
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise PackagingError(f"pip failed (exit {proc.returncode}):\n{tail}")


def requirements(plugins: Sequence[str], source: Path | None, with_boto3: bool
                 ) -> tuple[list[Path], list[str]]:
    """(local project dirs to build, PyPI requirements) for the core and each plugin.

    A plugin is a directory path, ``plugins/<name>/`` of the source checkout, or else the PyPI
    distribution ``falco-response-<name>``. A local plugin's dependencies on other
    ``falco-response-*`` distributions (``delete-pod`` needs ``falco-response-kubernetes``)
    are built from the same checkout (or the plugin's sibling directories) when they are there.
    """
    from .. import __version__

    local: list[Path] = []
    remote: list[str] = []
    if source is not None:
        if not (source / "pyproject.toml").is_file():
            raise PackagingError(f"--source {source}: no pyproject.toml there")
        local.append(source)
        if with_boto3:
            remote.append("boto3")
    else:
        remote.append(f"falco-response{'[aws]' if with_boto3 else ''}=={__version__}")
    for name in plugins:
        path = Path(name)
        candidate = source / "plugins" / name if source is not None else None
        if path.is_dir() and (path / "pyproject.toml").is_file():
            local.append(path)
        elif candidate is not None and (candidate / "pyproject.toml").is_file():
            local.append(candidate)
        else:
            remote.append(name if name.startswith("falco-response-") else f"falco-response-{name}")
    _add_local_dependencies(local, source)
    return local, remote


_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _project(directory: Path) -> dict[str, Any]:
    try:
        project: dict[str, Any] = tomllib.loads(
            (directory / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PackagingError(f"{directory}/pyproject.toml: {exc}") from None
    return project


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _add_local_dependencies(local: list[Path], source: Path | None) -> None:
    """Append to ``local`` every ``falco-response-*`` project a local plugin needs that the
    checkout (or the plugin's siblings) holds, transitively."""
    def known(roots: Sequence[Path]) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for root in roots:
            for pyproject in sorted(root.glob("*/pyproject.toml")):
                name = _project(pyproject.parent).get("name")
                if isinstance(name, str):
                    found.setdefault(_canonical(name), pyproject.parent)
        return found

    seen = {p.resolve() for p in local}
    queue = list(local[1:] if source is not None else local)
    while queue:
        project_dir = queue.pop(0)
        roots = [project_dir.resolve().parent] + ([source / "plugins"] if source else [])
        projects = known(roots)
        for requirement in _project(project_dir).get("dependencies", []):
            match = _NAME.match(str(requirement))
            name = _canonical(match.group(1)) if match else ""
            if not name.startswith("falco-response-") or name not in projects:
                continue
            found = projects[name]
            if found.resolve() not in seen:
                seen.add(found.resolve())
                local.append(found)
                queue.append(found)


_NOT_SOURCES = shutil.ignore_patterns(".git", ".tox", ".venv", "venv", "build", "dist",
                                      "*.egg-info", "__pycache__", ".mypy_cache", ".pytest_cache")
_NOT_CORE = {"plugins", "tests", "bench", "docs", "deploy", "examples"}


def _stage(project: Path, into: Path) -> Path:
    """Copy a project's sources to a scratch directory, so building its wheel leaves no
    ``build/`` or ``*.egg-info`` behind in the checkout (and picks up none left there)."""
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set(_NOT_SOURCES(directory, names))
        if Path(directory) == project:
            skipped |= _NOT_CORE & set(names)
        return skipped

    shutil.copytree(project, into, ignore=ignore)
    return into


def _prune(target: Path) -> None:
    shutil.rmtree(target / "bin", ignore_errors=True)
    for dirpath, dirnames, filenames in os.walk(target, topdown=True):
        here = Path(dirpath)
        for name in list(dirnames):
            sub = here / name
            is_tests = name in _TEST_DIRS and here != target and any(
                f.startswith("test_") or f.endswith("_test.py") or f == "conftest.py"
                for f in os.listdir(sub))
            if name == "__pycache__" or is_tests:
                shutil.rmtree(sub)
                dirnames.remove(name)
        if here.name.endswith(".dist-info"):
            for name in filenames:
                if name in _DIST_INFO_JUNK:
                    (here / name).unlink()
        for name in filenames:
            if name.endswith((".pyc", ".pyo")):
                (here / name).unlink(missing_ok=True)


def _write_manifest(target: Path) -> None:
    """Record the packaged ``falco_response`` entry points (see ``config_source``)."""
    from importlib.metadata import distributions

    entry_points: dict[str, str] = {}
    action_types: dict[str, list[str]] = {}  # what each plugin's distribution declares
    for dist in distributions(path=[str(target)]):
        plugins = [ep for ep in dist.entry_points if ep.group == "falco_response"]
        declared = sorted(ep.name for ep in dist.entry_points if ep.group == ACTIONS_GROUP)
        for ep in plugins:
            entry_points[ep.name] = ep.value
            if declared:
                action_types[ep.name] = declared
    (target / PLUGIN_MANIFEST).write_text(json.dumps(
        {"entry_points": entry_points, "action_types": action_types},
        indent=1, sort_keys=True) + "\n")


def _compile(target: Path, interpreter: str, log: Callable[[str], None]) -> None:
    if Path(interpreter).resolve() == Path(sys.executable).resolve():
        compileall.compile_dir(str(target), quiet=2, workers=0,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        return
    log(f"byte-compiling with {interpreter}")
    subprocess.run([interpreter, "-m", "compileall", "-q", "-q", "-j", "0",
                    "--invalidation-mode", "unchecked-hash", str(target)], check=False)


def _tree_size(target: Path) -> tuple[int, int, int]:
    size = files = compiled = 0
    for path in target.rglob("*"):
        if path.is_file():
            size += path.stat().st_size
            files += 1
            compiled += path.suffix == ".pyc"
    return size, files, compiled


def _zip(target: Path, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in target.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(target).as_posix(), date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16  # Lambda runs as another user: world-readable
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            archive.writestr(info, path.read_bytes())
    partial.replace(output)


def build(*, output: Path, plugins: Sequence[str] = (), config: Path | None = None,
          arch: str = "x86_64", python: str = "3.11", source: Path | None = None,
          with_boto3: bool = False, compile_with: str | None = None, no_compile: bool = False,
          limit_bytes: int = LAMBDA_UNZIPPED_LIMIT,
          log: Callable[[str], None] = lambda line: None) -> Package:
    """Build the zip at ``output``. Raises :class:`PackagingError` with a clear reason."""
    if arch not in ARCHITECTURES:
        raise PackagingError(f"--arch must be one of {', '.join(ARCHITECTURES)}")
    interpreter = None if no_compile else _compiler(python, compile_with)
    if not no_compile and interpreter is None:
        raise PackagingError(
            f"cannot byte-compile for Python {python}: .pyc files are specific to the "
            f"interpreter version and this is Python {sys.version_info.major}."
            f"{sys.version_info.minor}. Install python{python}, pass --compile-with "
            f"/path/to/python{python}, build for --python {sys.version_info.major}."
            f"{sys.version_info.minor} (Lambda's python{sys.version_info.major}."
            f"{sys.version_info.minor} runtime), or pass --no-compile and accept slower "
            "cold starts.")
    config_text = None
    if config is not None:
        try:
            config_text = config.read_text(encoding="utf-8")
            if not isinstance(yaml.safe_load(config_text), dict):
                raise PackagingError(f"{config}: the config must be a YAML mapping")
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise PackagingError(f"{config}: cannot read the config: {exc}") from None
    local, remote = requirements(plugins, source, with_boto3)
    with tempfile.TemporaryDirectory(prefix="falco-response-lambda-") as tmp:
        wheels, target = Path(tmp) / "wheels", Path(tmp) / "package"
        for i, project in enumerate(local):
            staged = _stage(project, Path(tmp) / f"src{i}")
            _pip(["wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(staged)], log)
        built = sorted(str(w) for w in wheels.glob("*.whl")) if local else []
        platform_args = [arg for tag in platforms(arch, python) for arg in ("--platform", tag)]
        _pip(["install", "--quiet", "--no-compile", "--target", str(target), *platform_args,
              "--only-binary=:all:", "--python-version", python, "--implementation", "cp",
              *built, *remote], log)
        _prune(target)
        _write_manifest(target)
        if config_text is not None:
            (target / PACKAGED_CONFIG).write_text(config_text, encoding="utf-8")
        if interpreter is not None:
            _compile(target, interpreter, log)
        unzipped, files, compiled = _tree_size(target)
        if unzipped > limit_bytes:
            raise PackagingError(
                f"the function would be {_mb(unzipped)} unzipped, over Lambda's limit of "
                f"{_mb(limit_bytes)}: drop plugins, or leave boto3 to the runtime "
                "(no --with-boto3)")
        _zip(target, output)
    return Package(output, output.stat().st_size, unzipped, files, compiled, python, arch)


def describe(package: Package) -> str:
    lines = [f"{package.path}: {_mb(package.zipped_bytes)} zipped, "
             f"{_mb(package.unzipped_bytes)} unzipped (Lambda allows "
             f"{_mb(LAMBDA_UNZIPPED_LIMIT)}), {package.files} files, "
             f"{package.compiled} .pyc for CPython {package.python}",
             f"runtime: python{package.python}, architecture: {package.arch}, "
             "handler: falco_response.aws_lambda.handler"]
    if package.compiled == 0:
        lines.append("warning: not byte-compiled: every cold start compiles every module")
    if package.zipped_bytes > DIRECT_UPLOAD_LIMIT:
        lines.append("note: over 50 MiB zipped: upload through S3, not directly")
    return "\n".join(lines)
