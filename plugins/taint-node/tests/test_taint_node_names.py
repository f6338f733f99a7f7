"""Taint keys and values are checked as whole strings (``$`` let a final newline through)."""

from __future__ import annotations

import pytest

from falco_response import ConfigError


@pytest.mark.parametrize("params", [
    {"key": "falco-response.io/compromised\n"}, {"key": "compromised\n"},
    {"key": "\ncompromised"}, {"value": "falco\n"}, {"value": "falco\r"},
])
def test_a_taint_key_or_value_with_a_newline_is_a_config_error(engine_for, params):
    with pytest.raises(ConfigError):
        engine_for("taint-node", params)


def test_the_same_key_and_value_without_it_are_accepted(engine_for):
    engine_for("taint-node", {"key": "compromised", "value": "falco"})
    engine_for("taint-node", {"key": "falco-response.io/compromised", "value": "a.b_c-d"})
