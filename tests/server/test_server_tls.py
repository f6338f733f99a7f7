"""Mutual TLS through uvicorn's ssl options: no client cert, a cert from another CA, a good
cert; and tokens on top of mutual TLS."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from falco_response.server.run import Listen
from server_helpers import TOKEN, Client, alert, recorded, start_in_thread, wait_for


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, object]:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    server_cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "client-ca.pem"))
    falco = ca.issue_cert("falco@falco.svc")
    stranger = trustme.CA().issue_cert("falco@falco.svc")
    return {"ca": ca, "dir": tmp_path, "falco": falco, "stranger": stranger}


def mtls_listen(pki: dict[str, object]) -> Listen:
    folder = pki["dir"]
    assert isinstance(folder, Path)
    return Listen(tls_cert=str(folder / "server.pem"), tls_key=str(folder / "server.pem"),
                  client_ca=str(folder / "client-ca.pem"))


def context(pki: dict[str, object], cert: trustme.LeafCert | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca = pki["ca"]
    assert isinstance(ca, trustme.CA)
    ca.configure_trust(ctx)
    if cert is not None:
        cert.configure_cert(ctx)
    return ctx


def refused(client: Client) -> bool:
    try:
        client.post(alert("x"))
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    return False


def test_mutual_tls_matrix(serve, pki) -> None:  # type: ignore[no-untyped-def]
    running = serve(listen=mtls_listen(pki))
    assert refused(Client(running.port, context=context(pki, None)))
    assert refused(Client(running.port, context=context(pki, pki["stranger"])))  # type: ignore[arg-type]
    good = running.client(context=context(pki, pki["falco"]))  # type: ignore[arg-type]
    for i in range(3):
        assert good.post(alert(f"tls-{i}"))[0] == 202  # keep-alive over TLS
    wait_for(lambda: len(recorded(running.record)) == 3)


def test_plain_http_to_a_tls_port_gets_no_alert_in(serve, pki) -> None:  # type: ignore[no-untyped-def]
    running = serve(listen=mtls_listen(pki))
    assert refused(Client(running.port))
    assert recorded(running.record) == []


def test_the_mutual_tls_listener_needs_no_token_the_token_listener_does(serve, pki) -> None:  # type: ignore[no-untyped-def]
    """Falco (client certificate) and falcosidekick (bearer token) side by side: one
    receiver, two listeners, each with one way to authenticate."""
    listen = mtls_listen(pki)
    running = serve(listen=listen, tokens=(TOKEN,))
    ctx = context(pki, pki["falco"])  # type: ignore[arg-type]
    assert running.client(context=ctx).post(alert("falco-mtls"))[0] == 202

    listen.token_port = 0
    token_side = start_in_thread(running.receiver, listen, running.record, token_listener=True)
    try:
        no_cert = context(pki, None)
        assert Client(token_side.port, context=no_cert).post(alert("anon"))[0] == 401
        assert Client(token_side.port, context=no_cert,
                      token="not-the-right-token-at-all").post(alert("bad"))[0] == 403
        assert Client(token_side.port, context=no_cert, token=TOKEN).post(
            alert("sidekick-token"))[0] == 202
    finally:
        token_side.stop()
    wait_for(lambda: sorted(recorded(running.record)) == ["falco-mtls", "sidekick-token"])
