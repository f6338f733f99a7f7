"""``python -m falco_response`` is the ``falco-response`` command."""

from .cli import entry

entry()
