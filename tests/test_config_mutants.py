"""The YAML limits of config.py, at their exact edges (mutation testing found them untested:
``tox -e mutation -- config``). A limit is N: N loads, N + 1 is refused with its reason."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest

from falco_response.config import (MAX_YAML_ALIASES, MAX_YAML_DEPTH, MAX_YAML_VALUES,
                                   _load_yaml, _Refused)

VALUES = (f"not loaded: the YAML expands to more than {MAX_YAML_VALUES:,} values once its "
          "aliases are followed (a 'billion laughs'?)")


def adding(values: int) -> str:
    """A document whose aliases add exactly ``values`` values to what its text writes out
    (what the limit counts: a large config written in full is not refused). The anchors
    come last in the text, so the first ``[*a]`` is where ``a`` is expanded; each further
    ``[*a]`` (and the anchor itself) adds 1,000, each ``[*c]`` 1."""
    thousands, ones = divmod(values, 1000)
    block = "[" + ", ".join(["1"] * 999) + "]"
    wrappers = ["[*a]"] * thousands + ["[*c]"] * ones
    return "[[" + ", ".join([f"&a {block}", "&c 1"]) + "], [" + ", ".join(wrappers) + "]]"


def test_a_document_of_exactly_the_value_limit_loads() -> None:
    anchors, wrappers = _load_yaml(adding(MAX_YAML_VALUES))
    assert len(anchors[0]) == 999 and len(wrappers) == MAX_YAML_VALUES // 1000


def test_one_value_more_is_refused_with_its_reason() -> None:
    with pytest.raises(_Refused, match=f"^{re.escape(VALUES)}$"):
        _load_yaml(adding(MAX_YAML_VALUES + 1))


def test_a_large_document_written_out_in_full_is_not_refused() -> None:
    text = "[" + ", ".join(["1"] * (MAX_YAML_VALUES + 10)) + ", &z 1]"
    assert len(_load_yaml(text)) == MAX_YAML_VALUES + 11


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_nesting_to_exactly_the_depth_limit_loads() -> None:
    value = _load_yaml(nested(MAX_YAML_DEPTH))
    for _ in range(MAX_YAML_DEPTH - 1):
        (value,) = value
    assert value == []


def test_one_level_deeper_is_refused_with_its_reason() -> None:
    with pytest.raises(_Refused, match=f"^not loaded: nested deeper than {MAX_YAML_DEPTH} levels$"):
        _load_yaml(nested(MAX_YAML_DEPTH + 1))


def aliased(wrappers: int) -> str:
    """``[&a [1], [[*a], [*a], ...]]``, which follows ``wrappers`` aliases: a value whose size
    is already known is counted as one alias, not walked again."""
    return "[&a [1], [" + ", ".join(["[*a]"] * wrappers) + "]]"


def test_exactly_the_alias_limit_loads() -> None:
    loaded = _load_yaml(aliased(MAX_YAML_ALIASES))
    assert len(loaded[1]) == MAX_YAML_ALIASES


def test_one_alias_more_is_refused_with_its_reason() -> None:
    with pytest.raises(_Refused, match=f"^not loaded: more than {MAX_YAML_ALIASES:,} YAML aliases$"):
        _load_yaml(aliased(MAX_YAML_ALIASES + 1))


@pytest.mark.parametrize("text", ["&a [*a]", "&a [1, [2, *a]]", "&a {k: [*a]}"])
def test_a_value_that_contains_itself_is_refused_with_its_reason(text: str) -> None:
    with pytest.raises(_Refused, match="^not loaded: an alias refers to a value that contains it$"):
        _load_yaml(text)


def test_an_alias_beside_other_values_loads_them_all() -> None:
    # Whichever [*a...] is walked second meets `a` already sized: it counts one alias and
    # still walks the values beside it.
    assert _load_yaml("[&a [1], [[*a], [*a, 5]]]") == [[1], [[[1]], [[1], 5]]]
    assert _load_yaml("[&a [1], [[*a, 5], [*a]]]") == [[1], [[[1], 5], [[1]]]]


def test_an_action_that_is_not_a_mapping_leaves_the_types_unknown() -> None:
    from falco_response.config import action_types_in

    assert action_types_in({"actions": {"a": "delete-pod"}}) is None
    assert action_types_in({"responses": [{"actions": [{"type": "log"}, "named"]}],
                            "actions": {"named": {"type": "slack"}}}) == {"log", "slack"}


class _Knob(msgspec.Struct):
    level: int = 1


def test_an_action_type_with_undo_binds_its_undo_for_the_actions_parameters() -> None:
    from falco_response.actions import ActionRegistry
    from falco_response.config import load_config

    given: list[Any] = []

    def make_undo(params: Any) -> Any:
        given.append(params)
        return ("undo", params.level)

    registry = ActionRegistry()
    register = registry.register_for("test")
    register("knob", lambda params: lambda ctx: None, params=_Knob, undo=make_undo)
    register("plain", lambda params: lambda ctx: None, params=_Knob)
    config = load_config({"version": 1, "actions": {
        "turn": {"type": "knob", "with": {"level": 3}}, "other": {"type": "plain"}},
        "responses": [{"name": "r", "actions": ["turn", "other"]}]}, registry)
    turn, other = config.responses[0].actions
    assert turn.undo == ("undo", 3)
    assert given == [_Knob(level=3)]
    assert other.undo is None


def test_the_config_keeps_the_whole_spec_it_was_read_from() -> None:
    from falco_response.actions import ActionRegistry
    from falco_response.config import load_config
    from falco_response.schema import ConfigSpec

    registry = ActionRegistry()
    registry.register_for("test")("plain", lambda params: lambda ctx: None, params=_Knob)
    raw = {"version": 1,
           "settings": {"log_level": "debug", "dry_run": True, "action_timeout": "5s"},
           "actions": {"a": {"type": "plain", "with": {"level": 2}}},
           "responses": [{"name": "r", "match": {"rule": "Terminal shell in container"},
                          "actions": ["a", {"type": "plain"}]}]}
    spec = load_config(raw, registry).spec
    assert spec == msgspec.convert(raw, ConfigSpec)
    assert (spec.version, spec.settings.log_level, spec.settings.dry_run) == (1, "debug", True)
