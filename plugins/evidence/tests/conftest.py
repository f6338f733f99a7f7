import os
import sys
from pathlib import Path

import pytest

from falco_response_testing.kubernetes import cluster, engine_for, kubeconfig  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent))

FAKE_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto server on 127.0.0.1, fake credentials: nothing can reach a real AWS account."""
    from moto.server import ThreadedMotoServer

    keys = [*FAKE_ENV, "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"]
    saved = {k: os.environ.get(k) for k in keys}
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(FAKE_ENV)
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
