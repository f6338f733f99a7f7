"""The exceptions falco-response documents. Nothing else escapes the engine."""

from __future__ import annotations

import msgspec


class FalcoResponseError(Exception):
    """Base class of every documented error."""


class ParseError(FalcoResponseError, ValueError):
    """A message is not an alert; the text says precisely what is wrong with it."""


class ConfigProblem(msgspec.Struct, frozen=True):
    """One thing wrong with a config file: where and why."""

    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.reason}"


class ConfigError(FalcoResponseError):
    """The config cannot be used. ``problems`` lists every problem found, not only the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PluginError(FalcoResponseError):
    """A plugin could not be loaded or registered something invalid."""
