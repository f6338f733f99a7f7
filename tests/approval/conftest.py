"""Fixtures live in approval_support.py (a unique module name)."""

from approval_support import ca, ca_bundle, slack  # noqa: F401
from falco_response_kubernetes.testing import cluster, kubeconfig  # noqa: F401
