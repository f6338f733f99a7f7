"""Fixtures live in pagerduty_support.py (a unique module name, so the plugins' test folders can be
collected in one pytest run)."""

from pagerduty_support import ca, ca_bundle, logs, receiver, tls_server  # noqa: F401
