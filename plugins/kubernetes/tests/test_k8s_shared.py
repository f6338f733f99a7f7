"""The shared part: EKS tokens, client setup, retries, names, lazy imports, events."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.credentials import Credentials

from falco_response import alert_from_dict
from falco_response_kubernetes import ClusterParams, ConnectionParams, EksParams, check_connection
from falco_response_kubernetes.api import Kube, KubeError
from falco_response_kubernetes.connection import Connection, build_configuration
from falco_response_kubernetes.eks import EksTokenSource, make_token
from falco_response_kubernetes.events import event_body
from falco_response_kubernetes.names import (is_container_id, is_dns_label, is_dns_subdomain,
                                             strip_runtime)
from falco_response_testing.kubernetes import alert_with_fields, realistic_pod, validate

FAKE = Credentials("AKIDEXAMPLEFAKE", "fake-secret-key", "fake-session-token")
CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n").decode()


def decode(token: str) -> dict[str, list[str]]:
    assert token.startswith("k8s-aws-v1.")
    body = token[len("k8s-aws-v1."):]
    assert "=" not in body and "+" not in body and "/" not in body   # base64url, no padding
    url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "sts.eu-west-1.amazonaws.com")
    return parse_qs(parts.query)


def test_eks_token_shape():
    query = decode(make_token("prod-cluster", "eu-west-1", FAKE))
    assert query["Action"] == ["GetCallerIdentity"]
    assert query["Version"] == ["2011-06-15"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLEFAKE/")
    assert query["X-Amz-Credential"][0].endswith("/eu-west-1/sts/aws4_request")
    assert query["X-Amz-Expires"] == ["60"]
    assert set(query["X-Amz-SignedHeaders"][0].split(";")) == {"host", "x-k8s-aws-id"}
    assert query["X-Amz-Security-Token"] == ["fake-session-token"]
    assert len(query["X-Amz-Signature"][0]) == 64


def test_eks_token_is_refreshed_before_its_15_minutes_run_out():
    now = [1_800_000_000.0]
    made = []

    def creds():
        made.append(1)
        return FAKE

    source = EksTokenSource("prod-cluster", "eu-west-1", creds, clock=lambda: now[0])
    first = source.token()
    assert source.expires_at == now[0] + 15 * 60
    now[0] += 13 * 60
    assert source.token() == first and len(made) == 1
    now[0] += 61           # 14 min 1 s after signing: less than a minute left
    decode(source.token())
    assert len(made) == 2 and source.expires_at == now[0] + 15 * 60   # a new token was signed


def test_eks_configuration_from_settings_makes_a_bearer_token():
    cluster = ClusterParams(eks=EksParams("prod-cluster", region="eu-west-1",
                                          endpoint="https://ABC.gr7.eu-west-1.eks.amazonaws.com",
                                          ca_data=CA))
    conf = build_configuration(cluster, 5.0, credentials=lambda: FAKE)
    assert conf.host == "https://ABC.gr7.eu-west-1.eks.amazonaws.com"
    with open(conf.ssl_ca_cert, "rb") as handle:
        assert handle.read() == base64.b64decode(CA)
    header = conf.get_api_key_with_prefix("authorization")
    assert header.startswith("Bearer k8s-aws-v1.")
    decode(header.split(" ", 1)[1])
    os.unlink(conf.ssl_ca_cert)


def test_eks_endpoint_and_ca_from_describe_cluster():
    import botocore.session
    from botocore.stub import Stubber

    session = botocore.session.get_session()
    eks = session.create_client("eks", region_name="eu-west-1", aws_access_key_id="AKIDFAKE",
                                aws_secret_access_key="fake")
    with Stubber(eks) as stub:
        stub.add_response("describe_cluster", {"cluster": {
            "name": "prod-cluster", "endpoint": "https://XYZ.eks.amazonaws.com",
            "certificateAuthority": {"data": CA}}}, {"name": "prod-cluster"})
        cluster = ClusterParams(eks=EksParams("prod-cluster", region="eu-west-1"))
        conf = build_configuration(cluster, 5.0, credentials=lambda: FAKE, eks_client=eks)
        stub.assert_no_pending_responses()
    assert conf.host == "https://XYZ.eks.amazonaws.com"
    os.unlink(conf.ssl_ca_cert)


@pytest.mark.parametrize("cluster, message", [
    (ClusterParams(kubeconfig="k", in_cluster=True), "choose one"),
    (ClusterParams(in_cluster=True, context="x"), "kubeconfig only"),
    (ClusterParams(eks=EksParams("c", region="eu-west-1", endpoint="https://x")), "both"),
    (ClusterParams(eks=EksParams("c", region="eu-west-1", endpoint="http://x", ca_data=CA)),
     "https"),
    (ClusterParams(eks=EksParams("c", region="eu-west-1", endpoint="https://x", ca_data="%%")),
     "base64"),
    (ClusterParams(eks=EksParams(" ", region="eu-west-1")), "cluster_name"),
])
def test_contradictory_settings_are_rejected(cluster, message):
    with pytest.raises(ValueError, match=message):
        check_connection(ConnectionParams(cluster=cluster))


def test_eks_region_may_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    params = ConnectionParams(cluster=ClusterParams(eks=EksParams("c")))
    with pytest.raises(ValueError, match="region"):
        check_connection(params)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    check_connection(params)


def test_names():
    assert is_dns_label("payments") and not is_dns_label("kube_system")
    assert not is_dns_label("a" * 64) and is_dns_subdomain("ip-10-0-1-5.eu-west-1.compute.internal")
    for bad in ("", "-a", "a/b", "..", "A", "a b", "web-1?x=1", "a%2fb"):
        assert not is_dns_subdomain(bad), bad
    assert strip_runtime("containerd://abc") == "abc" and strip_runtime("abc") == "abc"
    assert is_container_id("ee97d9c4186f") and not is_container_id("host")


def test_registering_does_not_import_kubernetes_or_botocore():
    code = (
        "import sys\n"
        "from falco_response import Engine\n"
        "e = Engine.from_config({'version': 1, 'actions': {"
        "'a': {'type': 'delete-pod'}, 'b': {'type': 'isolate-pod'}, 'c': {'type': 'taint-node'},"
        "'d': {'type': 'cordon-node', 'with': {'cluster': {'eks': {'cluster_name': 'x',"
        " 'region': 'eu-west-1'}}}}}})\n"
        "print(sorted(e.plugins.actions.names()))\n"
        "print([m for m in ('kubernetes', 'botocore', 'urllib3', 'tenacity') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, imported = out.stdout.strip().splitlines()[-2:]
    assert {"delete-pod", "isolate-pod", "taint-node", "cordon-node"} <= set(eval(names))
    assert eval(imported) == ["tenacity"] or eval(imported) == []
    assert "kubernetes" not in imported and "botocore" not in imported


def test_kubeconfig_from_the_environment(cluster, kubeconfig, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    cluster.add_node("node-a")
    connection = Connection(ConnectionParams())
    kube = Kube(connection.api_client(), 2.0, time.monotonic() + 5)
    assert kube.get_node("node-a")["metadata"]["name"] == "node-a"
    assert kube.get_node("node-zz") is None
    [first, *_] = cluster.requests()
    assert first.headers["Authorization"] == "Bearer test-token"


def test_connection_errors_are_retried_until_the_deadline():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]    # closed again: nothing listens there
    from kubernetes import client

    conf = client.Configuration(host=f"http://127.0.0.1:{port}")
    conf.retries = False
    kube = Kube(client.ApiClient(conf), 0.5, time.monotonic() + 1.0)
    with pytest.raises(KubeError) as caught:
        kube.get_node("node-a")
    assert caught.value.status == 0 and "no answer" in caught.value.message
    assert kube.calls >= 2


def test_events_are_valid_kubernetes_objects():
    pod = realistic_pod("payments", "api-7f9", "node-a", ["ab" * 32])
    the_alert = alert_from_dict(alert_with_fields({"k8s.ns.name": "payments", "k8s.pod.name": "api-7f9"},
                                      rule="Terminal shell in container"))
    body = event_body(pod, "Pod", "v1", "Pod deleted by falco-response", the_alert)
    validate(body)
    assert body["metadata"]["namespace"] == "payments"
    node = {"metadata": {"name": "ip-10-0-1-5.eu-west-1.compute.internal", "uid": "u1"}}
    body = event_body(node, "Node", "v1", "x" * 2000, the_alert)
    validate(body)
    assert body["metadata"]["namespace"] == "default" and len(body["message"]) == 1024
    json.dumps(body)
