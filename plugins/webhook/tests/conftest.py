"""The kit's fixtures (ca, ca_bundle, receiver, logs) load through its pytest plugin; the
webhook-only ones live in webhook_support.py (a unique module name, so the plugins' test
folders can be collected in one pytest run)."""

from webhook_support import hook_url  # noqa: F401
