"""Built-in parsers: Falco JSON, falcosidekick JSON, and the AWS envelopes around them.

Registered ``trylast`` so a plugin's parser sees every message first.
"""

from __future__ import annotations

from typing import Any

from ..alert import Alert
from ..hookspecs import hookimpl
from ..parsing import parse_message


@hookimpl(trylast=True)
def parse_alert(payload: Any) -> Alert:
    return parse_message(payload)
