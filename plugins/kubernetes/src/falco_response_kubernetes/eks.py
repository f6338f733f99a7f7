"""EKS bearer tokens made in-process with botocore, as ``aws eks get-token`` makes them.

A token is ``k8s-aws-v1.`` + base64url (no padding) of a presigned STS
``GetCallerIdentity`` URL whose signature covers the ``x-k8s-aws-id: <cluster>`` header.
EKS accepts it for 15 minutes from signing; we make a new one a minute before that runs out.
This replaces the seed's copied ``aws-iam-authenticator`` binary and hand-edited kubeconfig.
botocore is imported on first use only.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
TOKEN_LIFETIME = 15 * 60.0   # what EKS accepts, counted from X-Amz-Date
REFRESH_MARGIN = 60.0        # make a new token this long before the old one expires
URL_EXPIRES = 60             # what `aws eks get-token` puts in X-Amz-Expires


def make_token(cluster_name: str, region: str, credentials: Any) -> str:
    """One token for ``cluster_name``, signed with botocore ``credentials`` (no network)."""
    import botocore.session
    from botocore.signers import RequestSigner

    session = botocore.session.get_session()
    service_id = session.get_service_model("sts").service_id
    signer = RequestSigner(service_id, region, "sts", "v4", credentials,
                           session.get_component("event_emitter"))
    request = {
        "method": "GET",
        "url": f"https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        "body": {},
        "headers": {CLUSTER_HEADER: cluster_name},
        "context": {},
    }
    url = signer.generate_presigned_url(request, region_name=region, expires_in=URL_EXPIRES,
                                        operation_name="")
    encoded = base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")
    return TOKEN_PREFIX + encoded


@dataclass
class EksTokenSource:
    """Hands out a valid token, making a new one when the current one is about to expire.

    ``credentials`` is a callable returning botocore credentials (so rotated Lambda
    credentials are picked up on refresh); ``clock`` is injectable for tests.
    """

    cluster_name: str
    region: str
    credentials: Callable[[], Any]
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    @property
    def expires_at(self) -> float:
        return self._expires_at

    def token(self) -> str:
        with self._lock:
            now = self.clock()
            if self._token is None or now >= self._expires_at - REFRESH_MARGIN:
                creds = self.credentials()
                if creds is None:
                    raise RuntimeError("no AWS credentials found to sign an EKS token")
                self._token = make_token(self.cluster_name, self.region, creds)
                self._expires_at = now + TOKEN_LIFETIME
            return self._token


def default_credentials() -> Callable[[], Any]:
    """botocore's default chain (env, Lambda role, IRSA, profile), resolved per refresh."""
    import botocore.session

    session = botocore.session.get_session()
    return lambda: session.get_credentials()


def describe_cluster(cluster_name: str, region: str, timeout: float,
                     client: Any = None) -> tuple[str, str]:
    """(endpoint, base64 CA) from ``eks:DescribeCluster``."""
    if client is None:
        import botocore.config
        import botocore.session

        config = botocore.config.Config(connect_timeout=timeout, read_timeout=timeout,
                                        retries={"max_attempts": 3, "mode": "standard"})
        client = botocore.session.get_session().create_client("eks", region_name=region,
                                                              config=config)
    cluster = client.describe_cluster(name=cluster_name)["cluster"]
    return cluster["endpoint"], cluster["certificateAuthority"]["data"]
