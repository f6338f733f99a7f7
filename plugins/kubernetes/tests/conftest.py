from falco_response_testing.kubernetes import cluster, engine_for, kubeconfig  # noqa: F401
