from falco_response_kubernetes.testing import cluster, engine_for, kubeconfig  # noqa: F401
