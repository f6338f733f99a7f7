"""The kit's Kubernetes fixtures, imported as a plugin's conftest imports them (they need the
``kubernetes`` extra, so the kit's always-loaded pytest plugin does not carry them)."""

from falco_response_testing.kubernetes import cluster, kubeconfig  # noqa: F401
