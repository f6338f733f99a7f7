"""The Block Kit message on its own: escaping, neutralised mrkdwn, Slack's limits."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_support import alert
from falco_response import Outcome, Status, alert_from_dict
from falco_response_slack import escaping, message

INJECTIONS = {
    "proc.cmdline": "<!channel> *PWNED* _x_ ~y~ `code` ```pre``` <http://evil.example|click here>",
    "fd.name": "/tmp/<@U123> & <!everyone> @here http://evil.example #general",
    "k8s.pod.name": "<!here>\n*fake line*",
}


def _texts(node: Any) -> list[dict[str, Any]]:
    """Every Block Kit text object in the message."""
    found = []
    if isinstance(node, dict):
        if node.get("type") in {"mrkdwn", "plain_text"} and "text" in node:
            found.append(node)
        for value in node.values():
            found.extend(_texts(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_texts(value))
    return found


def _build(mention: str | None = None, previous: tuple[Outcome, ...] = (),
           **fields: Any) -> dict[str, Any]:
    return message.build(alert_from_dict(alert(**fields)), "contain-shells", previous, mention)


def test_injected_mentions_and_links_arrive_as_plain_text() -> None:
    body = _build(mention="<!subteam^S0123ABCD>", **{k.replace(".", "__"): v
                                                     for k, v in INJECTIONS.items()})
    raw = json.dumps(body)
    for live in ("<!channel>", "<@U123>", "<!everyone>", "<!here>", "<http://evil"):
        assert live not in raw, live
    assert "&lt;!channel&gt;" in raw and "&lt;@U123&gt;" in raw
    assert "&lt;http://evil.example|click here&gt;" in raw
    assert "/tmp/&lt;@U123&gt; &amp; &lt;!everyone&gt;" in raw
    # the operator's mention is the only live syntax in the message
    assert re.findall(r"<[^>]*>", raw) == ["<!subteam^S0123ABCD>"] * 3


def test_alert_values_cannot_break_out_of_their_code_span() -> None:
    body = _build(**{k.replace(".", "__"): v for k, v in INJECTIONS.items()})
    fields = {f["text"].split("\n", 1)[0]: f["text"].split("\n", 1)[1]
              for f in body["attachments"][0]["blocks"][0]["fields"]}
    for label in ("*Command*", "*File*", "*Pod*"):
        value = fields[label]
        assert value.startswith("`") and value.endswith("`") and value.count("`") == 2, value
        assert "\n" not in value
    assert fields["*Pod*"] == "`&lt;!here&gt; *fake line*`"
    assert "\u02cbcode\u02cb" in fields["*Command*"]
    alert_text = body["attachments"][0]["blocks"][1]["text"]["text"]
    assert alert_text.startswith("*Alert*\n```") and alert_text.endswith("```")
    assert alert_text.count("```") == 2


def test_every_text_with_alert_data_is_verbatim() -> None:
    body = _build(**{k.replace(".", "__"): v for k, v in INJECTIONS.items()})
    for text in _texts(body["attachments"]):
        assert text["type"] == "mrkdwn" and text["verbatim"] is True, text
    assert body["blocks"][0]["text"]["type"] == "plain_text"


def test_ten_kilobyte_values_are_cut_to_slack_limits_visibly() -> None:
    big = "A&<" * 3500  # 10.5 KB, and every escape makes it longer
    body = _build(proc__cmdline=big, fd__name=big, k8s__pod__name=big,
                  top_output=big, top_rule="R" * 400)
    header = body["blocks"][0]["text"]["text"]
    assert len(header) <= escaping.HEADER_TEXT_MAX and header.endswith("[truncated]")
    detail = body["attachments"][0]["blocks"]
    for f in detail[0]["fields"]:
        assert len(f["text"]) <= escaping.FIELD_TEXT_MAX
    for label in ("Command", "File", "Pod"):
        text = next(f["text"] for f in detail[0]["fields"] if f["text"].startswith(f"*{label}*"))
        assert text.endswith(" [truncated]`"), text[-40:]
        assert not re.search(r"&[a-z]{0,3}(?![a-z;])", text.replace("&amp;", "").replace(
            "&lt;", "")), "an entity was cut in half"
    section = detail[1]["text"]["text"]
    assert len(section) <= escaping.SECTION_TEXT_MAX
    assert section.endswith(" [truncated]```")
    assert len(body["text"]) <= escaping.FALLBACK_TEXT_MAX


def test_full_message_for_a_plain_alert() -> None:
    previous = (
        Outcome("contain-shells", "kill", "delete-pod", Status.OK, "pod:payments/api-7f9",
                "deleted"),
        Outcome("contain-shells", "taint", "taint-node", Status.DRY_RUN, "node:ip-10-0-1-5",
                "would taint node ip-10-0-1-5"),
        Outcome("contain-shells", "isolate", "isolate-pod", Status.SKIPPED, None,
                "namespace kube-system is protected"),
        Outcome("contain-shells", "label", "label-pod", Status.FAILED, "pod:payments/api-7f9",
                "403 Forbidden"),
    )
    body = _build(previous=previous)
    assert body["text"] == "Critical: Terminal shell in container (pod payments/api-7f9)"
    assert body["blocks"] == [{"type": "header", "text": {
        "type": "plain_text", "emoji": True,
        "text": ":rotating_light: Critical: Terminal shell in container"}}]
    attachment = body["attachments"][0]
    assert attachment["color"] == "#e01e5a"
    assert attachment["fallback"] == body["text"]
    fields = [f["text"] for f in attachment["blocks"][0]["fields"]]
    assert fields == [
        "*Priority*\n`Critical`", "*Namespace*\n`payments`", "*Pod*\n`api-7f9`",
        "*Node*\n`ip-10-0-1-5`", "*Container*\n`ee97d9c4186f`",
        "*Image*\n`docker.io/library/alpine:3.19`", "*User*\n`root`",
        "*Command*\n`sh -c clear`", "*Parent*\n`runc`", "*File*\n`/etc/shadow`",
    ]
    assert attachment["blocks"][1]["text"]["text"] == (
        "*Alert*\n```Rule: Terminal shell in container\n" + alert()["output"] + "```")
    assert attachment["blocks"][2]["text"]["text"] == (
        "*Earlier actions of response `contain-shells`*\n"
        "\u2022 `pod payments/api-7f9 deleted`\n"
        "\u2022 `dry run: would taint node ip-10-0-1-5`\n"
        "\u2022 `skipped isolate: namespace kube-system is protected`\n"
        "\u2022 `FAILED label on pod payments/api-7f9: 403 Forbidden`")
    context = [e["text"] for e in attachment["blocks"][3]["elements"]]
    assert context == ["Time: `2023-05-25T13:44:05.478445995Z`", "Source: `syscall`",
                       "Host: `ip-10-0-1-5`", "Tags: `container, mitre_execution, shell`",
                       "uuid: `5f5a7c1e-2d7b-4a4e-9a3c-0c1d2e3f4a5b`"]
    assert body["unfurl_links"] is False and body["unfurl_media"] is False


def test_colours_differ_by_priority() -> None:
    colours = {p: _build(top_priority=p)["attachments"][0]["color"]
               for p in ("Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
                         "Informational", "Debug")}
    assert len(set(colours.values())) == 8


def test_fields_stay_within_ten_per_section_and_blocks_are_capped() -> None:
    blocks = [{"type": "divider"}] * 70
    capped = message._cap(blocks)
    assert len(capped) == escaping.BLOCKS_MAX
    assert capped[-1]["elements"][0]["text"] == "[truncated] 21 more blocks not shown"
    body = _build(container__name="web", ka__user__name="x")
    sections = [b for b in body["attachments"][0]["blocks"] if "fields" in b]
    assert all(len(s["fields"]) <= escaping.FIELDS_PER_SECTION for s in sections)
    assert sum(len(s["fields"]) for s in sections) == 10


def test_many_earlier_outcomes_fit_one_section() -> None:
    previous = tuple(Outcome("r", f"a{i}", "t", Status.FAILED, "pod:x/<!channel>", "E" * 200)
                     for i in range(60))
    text = _build(previous=previous)["attachments"][0]["blocks"][2]["text"]["text"]
    assert len(text) <= escaping.SECTION_TEXT_MAX and text.endswith(" [truncated]`")
    assert "<!channel>" not in text


def test_fit_never_cuts_an_entity() -> None:
    out = escaping.fit("&" * 50, 30, escaping.escape)
    assert out == "&amp;" * 3 + " [truncated]"


def test_suppressed_alerts_are_counted_in_the_next_message() -> None:
    body = message.build(alert_from_dict(alert()), "contain-shells", (), None, suppressed=1234)
    texts = [t["text"] for t in _texts(body["attachments"][0]["blocks"])]
    assert ("*1,234 similar alerts* (same rule and target) were suppressed by the cooldown "
            "since the last message") in texts
    assert not any("suppressed" in t["text"] for t in _texts(_build()))
