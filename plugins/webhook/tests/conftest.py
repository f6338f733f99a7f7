"""Fixtures live in webhook_support.py (a unique module name, so the plugins' test folders can be
collected in one pytest run)."""

from webhook_support import ca, ca_bundle, logs, receiver, tls_server  # noqa: F401
from webhook_support import hook_url  # noqa: F401
