"""falco_response.Redactor: the one place notifiers take their secrets out of what they
report (outcome reasons and details, log fields, exception text)."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest

from falco_response import Redactor, quiet_transport_logs

URL = "https://hooks.slack.com/services/T00000000/B00000000/XXXXwebhookSECRETxxxxxxxx"
TOKEN = "xoxb-111-222-TOKENsecretTOKENsecret"


@pytest.fixture
def redact() -> Redactor:
    return Redactor(secrets=[TOKEN, None, ""], urls=[URL, None])


@pytest.mark.parametrize("echo", [
    URL, URL.upper(), URL.split("://")[1], "/services/T00000000/B00000000/XXXXwebhookSECRETxxxxxxxx",
    "services/T00000000/B00000000/XXXXwebhookSECRETxxxxxxxx", "XXXXwebhookSECRETxxxxxxxx",
    "T00000000", "B00000000", quote(URL, safe=""), quote(URL, safe="").lower(),
    json.dumps(URL)[1:-1].replace("/", "\\/"), TOKEN, quote(TOKEN), json.dumps(TOKEN),
])
def test_every_form_a_far_end_may_echo_is_removed(redact: Redactor, echo: str) -> None:
    text = redact(f"no_service: {echo} (see docs)")
    assert text.startswith("no_service: ") and text.endswith(" (see docs)")
    assert "SECRET" not in text.upper() and "T00000000" not in text and "B00000000" not in text
    assert "[redacted]" in text


def test_the_whole_url_goes_at_once_and_ordinary_words_stay(redact: Redactor) -> None:
    assert redact(f"posted to {URL}") == "posted to [redacted]"
    assert redact("Slack answered HTTP 404: no_service services") == (
        "Slack answered HTTP 404: no_service services")
    assert redact("https://hooks.slack.com/") == "https://hooks.slack.com/"


def test_query_values_and_paths_of_a_url(redact: Redactor) -> None:
    other = Redactor(urls=["https://soar.example/falco?token=queryTOKENsecret-0123&team=sec"])
    assert other("got ?token=queryTOKENsecret-0123") == "got ?token=[redacted]"
    assert "queryTOKEN" not in other(quote("queryTOKENsecret-0123"))
    assert other("falco-response and /falco") == "falco-response and [redacted]"


def test_exceptions_lose_the_secrets_they_quote(redact: Redactor) -> None:
    exc = ConnectionError(f"HTTPSConnectionPool(host='hooks.slack.com', port=443): Max retries "
                          f"exceeded with url: {URL.split('.com')[1]} (Caused by {TOKEN})")
    text = redact.exception(exc)
    assert text.startswith("ConnectionError: HTTPSConnectionPool(host='hooks.slack.com'")
    assert "SECRET" not in text and "TOKENsecret" not in text


def test_data_is_redacted_all_the_way_down(redact: Redactor) -> None:
    detail = {"error": TOKEN, "list": [URL, 3, None, {"k": TOKEN}], TOKEN: True, 7: "x"}
    assert redact.data(detail) == {"error": "[redacted]",
                                   "list": ["[redacted]", 3, None, {"k": "[redacted]"}],
                                   "[redacted]": True, 7: "x"}
    assert redact.data(("a", TOKEN)) == ["a", "[redacted]"]


def test_short_or_missing_secrets_redact_nothing() -> None:
    nothing = Redactor(secrets=["abc", None, ""])
    assert not nothing and nothing("abc abc") == "abc abc"
    assert nothing(123) == "123"
    assert Redactor(secrets=["abcd"])("xabcdx") == "x[redacted]x"


def test_quiet_transport_logs_raises_the_level_to_warning() -> None:
    logger = logging.getLogger("falco-response-test-transport")
    logger.setLevel(logging.DEBUG)
    try:
        quiet_transport_logs("falco-response-test-transport")
        assert logger.level == logging.WARNING
        logger.setLevel(logging.ERROR)
        quiet_transport_logs("falco-response-test-transport")
        assert logger.level == logging.ERROR
    finally:
        logger.setLevel(logging.NOTSET)


def test_the_writing_plugins_example_redacts_what_the_far_end_echoes() -> None:
    import re
    from pathlib import Path
    from types import SimpleNamespace

    page = (Path(__file__).resolve().parent.parent / "docs" / "writing-plugins.md").read_text()
    [example] = [b for b in re.findall(r"```python\n(.*?)```", page, re.S) if "Redactor(" in b]
    url = "https://hooks.example.com/services/T0123/B0123/abcdefSECRETabcdef"
    params = SimpleNamespace(token="tokenSECRET-123", signing_secret="hmacSECRET-123", url=url)
    logged: list[dict[str, object]] = []

    class Ctx:
        log = SimpleNamespace(warning=lambda event, **kw: logged.append(kw))

        def failed(self, reason: str, detail: object = None) -> tuple[str, object]:
            return reason, detail

        def ok(self, reason: str) -> tuple[str, None]:
            return reason, None

    def answer(params: object) -> object:
        return SimpleNamespace(ok=False, status=404, text=f"no such hook {url} {params}")

    def broken(params: object) -> object:
        raise ConnectionError(f"cannot reach {url.split('.com')[1]}")

    for send in (answer, broken):
        scope: dict[str, object] = {"send": send}
        exec(compile(example, "writing-plugins.md", "exec"), scope)
        reason, detail = scope["make"](params)(Ctx())  # type: ignore[operator]
        assert "SECRET" not in f"{reason} {detail} {logged}" and "[redacted]" in reason
