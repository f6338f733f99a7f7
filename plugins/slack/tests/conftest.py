"""Fixtures live in slack_support.py (a unique module name, so the plugins' test folders can be
collected in one pytest run)."""

from slack_support import ca, ca_bundle, logs, receiver, tls_server  # noqa: F401
from slack_support import webhook_url  # noqa: F401
