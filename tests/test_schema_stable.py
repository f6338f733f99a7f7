"""The config schema (and the reference page made from it) depends on what the schema means,
not on how a msgspec version formats docstrings."""

from __future__ import annotations

import msgspec

from falco_response.schema import json_schema


class Indented(msgspec.Struct, forbid_unknown_fields=True):
    """First line.

    Second paragraph, indented in the source
    as every docstring is."""

    x: int = 1


class Flush(msgspec.Struct, forbid_unknown_fields=True):
    """First line.

Second paragraph, indented in the source
as every docstring is."""

    x: int = 1


def test_descriptions_do_not_depend_on_docstring_indentation() -> None:
    a = json_schema({"t": Indented})["$defs"]["Indented"]["description"]
    b = json_schema({"t": Flush})["$defs"]["Flush"]["description"]
    assert a == b == "First line.\n\nSecond paragraph, indented in the source\nas every docstring is."


def test_every_description_in_the_schema_is_clean() -> None:
    def descriptions(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "description" and isinstance(v, str)] + [
                d for v in node.values() for d in descriptions(v)]
        if isinstance(node, list):
            return [d for v in node for d in descriptions(v)]
        return []

    found = descriptions(json_schema({"t": Indented}))
    assert found and all(not line.startswith(" ") for d in found for line in d.splitlines())


class NullFirst(msgspec.Struct):
    a: None | Flush | str = None


class NullLast(msgspec.Struct):
    a: str | Flush | None = None


def test_any_of_has_one_order_with_null_last() -> None:
    first = json_schema({"t": NullFirst})["$defs"]["NullFirst"]["properties"]["a"]
    last = json_schema({"t": NullLast})["$defs"]["NullLast"]["properties"]["a"]
    assert first == last
    assert first["anyOf"][-1] == {"type": "null"}
