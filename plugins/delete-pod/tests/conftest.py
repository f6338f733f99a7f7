import sys
from pathlib import Path

from falco_response_testing.kubernetes import cluster, engine_for, kubeconfig  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent))
