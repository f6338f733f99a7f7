"""Operator authentication without a browser: the operators file, signed sessions, the
proxy's identity header (only from the proxy), CSRF tokens and roles."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from falco_response.console.auth import COOKIE, Auth, Denied, Operator, parse_operators

TOKEN = "alice-admin-token-0123456789"


def request(client: str = "10.0.0.9", headers: dict[str, str] | None = None,
            cookie: str | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookie is not None:
        raw.append((b"cookie", f"{COOKIE}={cookie}".encode()))
    raw.append((b"host", b"console.example:8090"))
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw,
                    "client": (client, 40000), "query_string": b""})


def test_operators_file() -> None:
    ops = parse_operators(f"# comment\n\nalice admin {TOKEN}\nbob@example.com approver\n")
    assert ops == [Operator("alice", "admin", TOKEN.encode()),
                   Operator("bob@example.com", "approver")]
    assert ops[0].may("approver") and not ops[1].may("admin") and ops[1].may("viewer")


@pytest.mark.parametrize("text, message", [
    ("alice root abcdefghijklmnop12", "line 1: role must be one of viewer, approver, admin"),
    ("alice admin short", "line 1: a token must be at least 16 characters long"),
    ("alice", "line 1: expected NAME ROLE [TOKEN]"),
    ("a|b admin", "operator name must be"),
    ("alice admin\nalice viewer", "line 2: operator alice is listed twice"),
])
def test_bad_operators_files_name_the_line_never_the_token(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_operators(text, "ops")
    assert message in str(caught.value)
    assert "short" not in str(caught.value)


def test_sessions_are_signed_and_end_with_the_token() -> None:
    auth = Auth(parse_operators(f"alice admin {TOKEN}"), secret=b"s" * 32)
    op = auth.sign_in(TOKEN)
    assert op is not None and auth.sign_in("x" * 30) is None
    session = auth.session_for(op)
    assert TOKEN not in session
    assert auth.identify(request(cookie=session))[0] == op
    forged = session.replace("|admin|", "|viewer|")
    for bad in (forged, session[:-2] + "00", "alice|admin|99999999999|00", ""):
        with pytest.raises(Denied) as caught:
            auth.identify(request(cookie=bad))
        assert caught.value.status == 401
    rotated = Auth(parse_operators("alice admin another-token-0123456789"), secret=b"s" * 32)
    with pytest.raises(Denied):
        rotated.identify(request(cookie=session))  # a new token ends the old sessions
    demoted = Auth(parse_operators(f"alice viewer {TOKEN}"), secret=b"s" * 32)
    with pytest.raises(Denied):
        demoted.identify(request(cookie=session))
    expired = Auth(parse_operators(f"alice admin {TOKEN}"), secret=b"s" * 32,
                   session_seconds=-1)
    with pytest.raises(Denied):
        expired.identify(request(cookie=expired.session_for(op)))


def test_the_proxy_header_counts_only_from_the_proxy() -> None:
    auth = Auth(parse_operators("bob@example.com approver"), proxy_header="X-Forwarded-Email",
                proxy_addresses=["10.0.0.9"])
    op, binding = auth.identify(request(headers={"X-Forwarded-Email": "bob@example.com"}))
    assert op.name == "bob@example.com" and op.role == "approver"
    with pytest.raises(Denied) as caught:  # someone else sets the header
        auth.identify(request("10.0.0.66", headers={"X-Forwarded-Email": "bob@example.com"}))
    assert caught.value.status == 401
    with pytest.raises(Denied) as caught:
        auth.identify(request(headers={"X-Forwarded-Email": "mallory@example.com"}))
    assert caught.value.status == 403
    auth.check_csrf(request(), binding, auth.csrf_for(binding))


def test_csrf_tokens_are_bound_to_the_session_and_the_origin() -> None:
    auth = Auth(parse_operators(f"alice admin {TOKEN}"))
    token = auth.csrf_for("session-a")
    auth.check_csrf(request(headers={"Origin": "http://console.example:8090"}), "session-a",
                    token)
    for binding, given, headers, status in [
            ("session-b", token, {}, 400), ("session-a", None, {}, 400),
            ("session-a", token, {"Origin": "https://evil.example"}, 403)]:
        with pytest.raises(Denied) as caught:
            auth.check_csrf(request(headers=headers), binding, given)
        assert caught.value.status == status


def test_tokens_never_reach_repr_or_errors(capsys: Any) -> None:
    with pytest.raises(ValueError) as caught:
        parse_operators(f"alice admin {TOKEN}\nbob admin {TOKEN[:10]}")
    assert TOKEN[:10] not in str(caught.value)
