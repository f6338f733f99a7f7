"""The kit's fixtures (ca, ca_bundle, receiver, logs) load through its pytest plugin; the
slack-only ones live in slack_support.py (a unique module name, so the plugins' test folders
can be collected in one pytest run)."""

from slack_support import webhook_url  # noqa: F401
