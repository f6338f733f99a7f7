"""Where the Lambda function's config and plugins come from.

Config: a file in the package, or an SSM parameter.

``FALCO_RESPONSE_CONFIG`` is either a path (relative paths are read from the function's code
directory, ``$LAMBDA_TASK_ROOT``) or ``ssm:/parameter/name`` (a String or SecureString parameter
holding the YAML, read with decryption). Unset, the handler reads ``falco-response.yaml`` from
the code directory: where ``falco-response package-lambda --config`` puts it.

Plugins: ``package-lambda`` also writes ``falco-response-plugins.json``, the ``falco_response``
entry points of the distributions it packaged. When that file is there the handler imports
those modules directly instead of scanning installed distributions: the scan imports
``importlib.metadata`` (and ``email``, ``zipfile``...), a large share of a small function's
cold start. ``FALCO_RESPONSE_DISABLE_PLUGINS`` still applies to them.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Collection, Mapping
from typing import Any, Union

import yaml

from .. import environment
from ..errors import ConfigError, ConfigProblem, PluginError
from ..plugin_metadata import unneeded
from ..plugins import disabled_plugins

CONFIG_ENV = environment.CONFIG
PACKAGED_CONFIG = "falco-response.yaml"
PLUGIN_MANIFEST = "falco-response-plugins.json"
SSM_PREFIX = "ssm:"


def code_dir() -> str:
    """Lambda's code directory (os.path, not pathlib: one import less on every cold start)."""
    return os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()


def resolve(value: str | None = None) -> Union[str, Mapping[str, Any]]:
    """The config source ``Engine.from_config`` takes: a file path or the parsed SSM YAML."""
    value = (os.environ.get(CONFIG_ENV) if value is None else value) or ""
    value = value.strip()
    if value.startswith(SSM_PREFIX):
        return read_ssm(value[len(SSM_PREFIX):])
    if not value:
        packaged = os.path.join(code_dir(), PACKAGED_CONFIG)
        if os.path.isfile(packaged):
            return packaged
        raise ConfigError([ConfigProblem(
            packaged, "", f"no config: set {CONFIG_ENV} to a file or ssm:/parameter, or "
            f"package one with `falco-response package-lambda --config`")])
    if not os.path.isabs(value) and not os.path.exists(value):
        return os.path.join(code_dir(), value)
    return value


def read_ssm(name: str, client: Any = None) -> Mapping[str, Any]:
    """Read and parse the YAML in SSM parameter ``name`` (decrypting a SecureString)."""
    where = f"{SSM_PREFIX}{name}"
    if not name:
        raise ConfigError([ConfigProblem(where, "", "no parameter name after 'ssm:'")])
    if client is None:
        import boto3

        client = boto3.client("ssm")
    try:
        text = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        raise ConfigError([ConfigProblem(where, "", f"cannot read the parameter: {code}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "bad YAML"
        raise ConfigError([ConfigProblem(where, at, f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(where, "", "the config must be a YAML mapping")])
    return data


def packaged_plugins(action_types: Collection[str] | None = None) -> list[Any] | None:
    """The plugin objects the package's manifest names (minus disabled ones, and minus those
    that declare action types none of which ``action_types`` uses), or None when there is no
    manifest (then entry points are scanned as usual)."""
    path = os.path.join(code_dir(), PLUGIN_MANIFEST)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as manifest:
            data = json.load(manifest)
        entry_points = data["entry_points"]
        declared = dict(data.get("action_types") or {})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PluginError(f"{path}: unreadable plugin manifest: {exc}") from None
    blocked = disabled_plugins()
    if action_types is not None:
        blocked |= unneeded(((name, declared.get(name)) for name in entry_points), action_types)
    found = []
    for name, value in sorted(entry_points.items()):
        if name in blocked:
            continue
        module_name, _, attribute = str(value).partition(":")
        try:
            plugin: Any = importlib.import_module(module_name.strip())
            for part in filter(None, attribute.strip().split(".")):
                plugin = getattr(plugin, part)
        except Exception as exc:
            raise PluginError(f"could not load plugin {name!r} ({value}): {exc}") from exc
        found.append(plugin)
    return found
