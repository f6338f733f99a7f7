"""POST /sns: subscription confirmation, SignatureVersion 1 and 2, forged and tampered
messages, topics not allowed, certificate URLs off SNS hosts.

An HTTPS server on 127.0.0.1 plays ``sns.us-east-1.amazonaws.com`` with a certificate from
our own CA; the verifier is given that CA and told where the host is, nothing else changes.
"""

from __future__ import annotations

import base64
import datetime
import json
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer

from falco_response.server import SnsClient, SnsVerifier
from falco_response.server.sns import SnsError, check_sns_url, string_to_sign
from server_helpers import alert, recorded, wait_for

HOST = "sns.us-east-1.amazonaws.com"
TOPIC = "arn:aws:sns:us-east-1:123456789012:falco-alerts"
CERT_PATH = "/SimpleNotificationService-0123456789abcdef.pem"


def signing_identity() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def identity() -> tuple[rsa.RSAPrivateKey, bytes]:
    return signing_identity()


@pytest.fixture
def fake_sns(identity) -> Iterator[tuple[HTTPServer, SnsClient]]:  # type: ignore[no-untyped-def]
    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOST).configure_cert(server_ctx)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=server_ctx)
    server.expect_request(CERT_PATH).respond_with_data(identity[1])
    server.expect_request("/", query_string={"Action": "ConfirmSubscription", "TopicArn": TOPIC,
                                             "Token": "tok-123"}).respond_with_data("<ok/>")
    server.start()
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    port = server.port

    def connect(host: str) -> socket.socket:
        assert host == HOST
        return socket.create_connection(("127.0.0.1", port), timeout=5)

    try:
        yield server, SnsClient(client_ctx, connect=connect)
    finally:
        server.clear()
        server.stop()


def sign(message: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "2") -> dict[str, Any]:
    message = {**message, "SignatureVersion": version,
               "SigningCertURL": message.get("SigningCertURL", f"https://{HOST}{CERT_PATH}")}
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(string_to_sign(message), padding.PKCS1v15(), algorithm)
    message["Signature"] = base64.b64encode(signature).decode()
    return message


def notification(body: bytes, **extra: Any) -> dict[str, Any]:
    return {"Type": "Notification", "MessageId": "m-1", "TopicArn": TOPIC,
            "Message": body.decode(), "Timestamp": "2026-11-26T20:00:00.000Z", **extra}


def post_sns(running: Any, message: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    return running.client().post(json.dumps(message).encode(), path="/sns",
                                 **{"Content-Type": "text/plain; charset=UTF-8"})


@pytest.fixture
def sns_server(serve, fake_sns):  # type: ignore[no-untyped-def]
    _, client = fake_sns
    return serve(options={"sns": SnsVerifier([TOPIC], client)})


def test_subscription_confirmation_visits_the_subscribe_url(sns_server, fake_sns,  # type: ignore[no-untyped-def]
                                                           identity) -> None:
    server, _ = fake_sns
    message = sign({"Type": "SubscriptionConfirmation", "MessageId": "c-1", "Token": "tok-123",
                    "TopicArn": TOPIC, "Message": "You have chosen to subscribe...",
                    "SubscribeURL": f"https://{HOST}/?Action=ConfirmSubscription&TopicArn="
                                    f"{TOPIC}&Token=tok-123",
                    "Timestamp": "2026-11-26T20:00:00.000Z"}, identity[0], "1")
    status, _, body = post_sns(sns_server, message)
    assert (status, body) == (200, {"confirmed": TOPIC})
    paths = [request.path for request, _ in server.log]
    assert paths == [CERT_PATH, "/"]


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_notifications_are_queued_and_handled(sns_server, identity, version) -> None:  # type: ignore[no-untyped-def]
    status, _, body = post_sns(sns_server, sign(notification(alert(f"sns-{version}"),
                                                             Subject="falco"),
                                                identity[0], version))
    assert status == 202, body
    wait_for(lambda: recorded(sns_server.record) == [f"sns-{version}"])


def test_the_signing_certificate_is_fetched_once(sns_server, fake_sns, identity) -> None:  # type: ignore[no-untyped-def]
    server, _ = fake_sns
    for i in range(3):
        assert post_sns(sns_server, sign(notification(alert(f"c-{i}")), identity[0]))[0] == 202
    assert [request.path for request, _ in server.log] == [CERT_PATH]


def test_a_forged_signature_is_rejected(sns_server) -> None:  # type: ignore[no-untyped-def]
    forger, _ = signing_identity()  # the forger's own key, the real certificate URL
    status, _, body = post_sns(sns_server, sign(notification(alert("forged")), forger))
    assert (status, body["error"]) == (403, "signature does not verify")
    assert recorded(sns_server.record) == []


def test_a_tampered_message_is_rejected(sns_server, identity) -> None:  # type: ignore[no-untyped-def]
    message = sign(notification(alert("original")), identity[0])
    message["Message"] = alert("tampered").decode()
    assert post_sns(sns_server, message)[0] == 403
    assert recorded(sns_server.record) == []


def test_a_topic_not_allowed_is_rejected_even_if_signed(sns_server, identity) -> None:  # type: ignore[no-untyped-def]
    other = sign({**notification(alert("x")), "TopicArn": TOPIC + "-other"}, identity[0])
    status, _, body = post_sns(sns_server, other)
    assert (status, body["error"]) == (403, "topic not allowed")
    assert 'reason="unknown_topic"} 1.0' in sns_server.client().get("/metrics")[2]


@pytest.mark.parametrize("url", [
    "https://evil.example.com/cert.pem",
    "http://sns.us-east-1.amazonaws.com/cert.pem",
    "https://sns.us-east-1.amazonaws.com.evil.example.com/cert.pem",
    "https://sns.us-east-1.amazonaws.com:8443/cert.pem",
    "https://user@sns.us-east-1.amazonaws.com/cert.pem",
])
def test_certificate_urls_off_sns_hosts_are_never_fetched(sns_server, fake_sns, identity,  # type: ignore[no-untyped-def]
                                                          url) -> None:
    server, _ = fake_sns
    message = sign(notification(alert("x"), SigningCertURL=url), identity[0])
    status, _, body = post_sns(sns_server, message)
    assert status == 403 and "sns.<region>.amazonaws.com" in body["error"]
    assert server.log == []


def test_sns_url_rules() -> None:
    assert check_sns_url("https://sns.eu-west-3.amazonaws.com/x.pem", "u") == (
        "sns.eu-west-3.amazonaws.com", "/x.pem")
    assert check_sns_url("https://sns.us-gov-west-1.amazonaws.com/x.pem", "u")[0]
    assert check_sns_url("https://sns.cn-north-1.amazonaws.com.cn/x.pem", "u")[0]
    for bad in (None, "", "https://sns.amazonaws.com/x.pem", "ftp://sns.us-east-1.amazonaws.com/"):
        with pytest.raises(SnsError):
            check_sns_url(bad, "u")


def test_an_unsigned_or_unknown_version_is_rejected(sns_server, identity) -> None:  # type: ignore[no-untyped-def]
    message = sign(notification(alert("v3")), identity[0])
    message["SignatureVersion"] = "3"
    assert post_sns(sns_server, message)[2]["error"] == "unsupported SignatureVersion"
    message = notification(alert("nosig"))
    assert post_sns(sns_server, message)[0] == 403


def test_a_signed_notification_that_is_not_an_alert_is_400(sns_server, identity) -> None:  # type: ignore[no-untyped-def]
    message = sign(notification(b'{"hello": 1}'), identity[0])
    status, _, body = post_sns(sns_server, message)
    assert status == 400 and "not a Falco alert" in body["error"]
