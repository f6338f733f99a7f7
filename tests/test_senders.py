"""What Falco, falcosidekick and Talon-style senders really send, through ``Engine.handle`` and
``falco-response replay``: key case, internal events, truncated fields (issue 13)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from falco_response import Engine, hookimpl
from falco_response.parsing import fast_alert, parse_message
from falco_response.senders import INTERNAL_SKIP, is_truncated

from .recorder_site import recorder_env

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "senders"


def data(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def raw(name: str) -> bytes:
    return json.dumps(data(name)).encode()


class Actions:
    """``notify`` (not destructive) and ``kill`` (destructive, pod scope): both record."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str]] = []

    def make(self, kind: str) -> Any:
        def factory(params: Any) -> Any:
            def run(ctx: Any) -> Any:
                self.ran.append((kind, ctx.alert.rule))
                if ctx.dry_run:
                    return ctx.would(f"would {kind}")
                return ctx.ok(target="pod:x/y", reason=kind)
            return run
        return factory

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("notify", self.make("notify"), blocking=False)
        register("kill", self.make("kill"), destructive=True, blocking=False)


def engine(responses: list[dict[str, Any]], actions: Actions, **kwargs: Any) -> Engine:
    return Engine.from_config({"version": 1, "responses": responses}, plugins=[actions],
                              entry_points=False, **kwargs)


EVERYTHING = [{"name": "contain", "actions": [{"type": "notify"}, {"type": "kill"}]}]


# -- 1. key case ------------------------------------------------------------------------------

def test_capitalised_keys_are_the_alert_keys() -> None:
    alert = parse_message(raw("talon-capitalised-keys.json"))
    assert alert.rule == "Terminal shell in container"
    assert alert.priority.label == "Notice"
    assert alert.source == "syscall"  # "syscalls", normalised as for lowercase keys
    assert alert.tags == {"container", "shell"}
    assert alert.hostname == "ip-10-0-1-5"
    assert alert.pod_name == "api-7f9c4b-x2k8d"
    assert alert.field("proc.aname[2]") == "containerd-shim"  # field names keep their case


@pytest.mark.parametrize("how", ["bytes", "dict"])
def test_capitalised_keys_reach_the_actions(how: str) -> None:
    actions = Actions()
    payload: Any = raw("talon-capitalised-keys.json") if how == "bytes" else \
        data("talon-capitalised-keys.json")
    [result] = engine(EVERYTHING, actions).handle(payload)
    assert result.error is None
    assert [o.status.value for o in result.outcomes] == ["ok", "ok"]


@pytest.mark.parametrize("second", ["rule", "RULE"])
def test_two_spellings_of_one_key_is_an_error_naming_both(second: str) -> None:
    alert = data("talon-capitalised-keys.json")
    alert[second] = "Some other rule"
    [result] = engine(EVERYTHING, Actions()).handle(json.dumps(alert))
    assert result.alert is None
    assert result.error is not None and "'Rule'" in result.error
    assert f"'{second}'" in result.error


def test_exact_keys_win_and_a_sender_extra_key_is_ignored() -> None:
    alert = data("falco-http-output.json")
    alert["message"] = "Falco's json_include_message_property"
    alert["Extra"] = 1
    parsed = parse_message(json.dumps(alert))
    assert parsed.rule == "Terminal shell in container"


@pytest.mark.parametrize("name", ["falco-http-output.json", "falcosidekick-webhook.json",
                                  "falcosidekick-test-alert.json"])
def test_ordinary_alerts_keep_the_fast_path(name: str) -> None:
    assert fast_alert(raw(name)) == parse_message(data(name))


def test_capitalised_keys_leave_the_fast_path() -> None:
    assert fast_alert(raw("talon-capitalised-keys.json")) is None


# -- 7. source: internal ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["falcosidekick-test-alert.json", "falco-internal-drop.json"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_internal_alerts_run_no_destructive_action(name: str, dry_run: bool) -> None:
    actions = Actions()
    [result] = engine(EVERYTHING, actions, dry_run=dry_run).handle(raw(name))
    notify, kill = result.outcomes
    assert notify.status.value == ("dry_run" if dry_run else "ok")
    assert kill.status.value == "skipped"
    assert kill.reason == INTERNAL_SKIP
    assert [kind for kind, _ in actions.ran] == ["notify"]


@pytest.mark.parametrize("source", ["internal", ["syscall", "internal"]])
def test_a_response_naming_source_internal_may_act_on_them(source: Any) -> None:
    actions = Actions()
    responses = [{"name": "drops", "match": {"source": source}, "actions": [{"type": "kill"}]}]
    [result] = engine(responses, actions).handle(raw("falco-internal-drop.json"))
    assert [o.status.value for o in result.outcomes] == ["ok"]
    assert actions.ran == [("kill", "Falco internal: syscall event drop")]


def test_syscall_alerts_are_not_affected() -> None:
    actions = Actions()
    [result] = engine(EVERYTHING, actions).handle(raw("falcosidekick-webhook.json"))
    assert [o.status.value for o in result.outcomes] == ["ok", "ok"]


# -- 8. truncated fields ----------------------------------------------------------------------

def test_truncated_values_are_recognised() -> None:
    fields = data("falcosidekick-truncated.json")["output_fields"]
    assert is_truncated(fields["proc.cmdline"])
    assert is_truncated(fields["proc.pcmdline"])
    assert not is_truncated(data("falcosidekick-webhook.json")["output_fields"]["proc.cmdline"])
    assert not is_truncated("short [...]")
    assert not is_truncated("x" * 600 + "[...]")
    # Go cuts bytes: a multi-byte character cut in two becomes U+FFFD in the JSON
    assert is_truncated("é" * 253 + "\ufffd" + "[...]")


@pytest.mark.parametrize("op", [{"glob": "bash -c curl*"}, {"regex": "curl -fsSL"},
                                {"prefix": "bash -c"}])
def test_a_text_condition_on_a_truncated_field_says_so(op: dict[str, str]) -> None:
    responses = [{"name": "downloads", "match": {"fields": {"proc.cmdline": op}},
                  "actions": [{"type": "notify"}, {"type": "kill"}]}]
    [result] = engine(responses, Actions()).handle(raw("falcosidekick-truncated.json"))
    assert len(result.outcomes) == 2
    for outcome in result.outcomes:
        assert outcome.detail["truncated_fields"] == ["proc.cmdline"]
        assert "507" in outcome.detail["truncation"]
    assert "truncated_fields" in result.to_dict()["outcomes"][0]["detail"]


def test_no_note_without_a_text_condition_on_a_truncated_field() -> None:
    responses = [
        {"name": "by-name", "match": {"fields": {"proc.name": {"glob": "ba*"}}},
         "actions": [{"type": "notify"}]},
        {"name": "exists", "match": {"fields": {"proc.cmdline": {"exists": True}}},
         "actions": [{"type": "notify"}]},
    ]
    [result] = engine(responses, Actions()).handle(raw("falcosidekick-truncated.json"))
    assert [o.response for o in result.outcomes] == ["by-name", "exists"]
    assert all("truncated_fields" not in o.detail for o in result.outcomes)


def test_an_untruncated_alert_has_no_note() -> None:
    responses = [{"name": "shells", "match": {"fields": {"proc.cmdline": {"prefix": "sh"}}},
                  "actions": [{"type": "notify"}]}]
    [result] = engine(responses, Actions()).handle(raw("falcosidekick-webhook.json"))
    assert [o.detail for o in result.outcomes] == [{}]


# -- the same through `falco-response replay` -------------------------------------------------

def test_replay_of_what_the_senders_send(tmp_path: Path) -> None:
    record = tmp_path / "record"
    config = {"version": 1, "settings": {"log_level": "error"},
              "actions": {"tell": {"type": "record", "with": {"path": str(record)}},
                          "kill": {"type": "record-destructive", "with": {"path": str(record)}}},
              "responses": [{"name": "contain", "actions": ["tell", "kill"],
                             "match": {"fields": {"proc.name": {"glob": "*"}}}},
                            {"name": "downloads", "actions": ["tell"],
                             "match": {"fields": {"proc.cmdline": {"regex": "curl"}}}},
                            {"name": "tell-all", "actions": ["tell"]}]}
    (tmp_path / "c.yaml").write_text(json.dumps(config))
    names = ["talon-capitalised-keys.json", "falcosidekick-test-alert.json",
             "falcosidekick-truncated.json", "falco-internal-drop.json"]
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text("".join(json.dumps(data(n)) + "\n" for n in names))
    env = recorder_env(tmp_path)
    done = subprocess.run([sys.executable, "-m", "falco_response", "replay", str(alerts),
                           "--config", str(tmp_path / "c.yaml"), "--json"],
                          capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    capitalised, test_alert, truncated, drop = [json.loads(line)
                                                for line in done.stdout.splitlines()]
    assert capitalised["rule"] == "Terminal shell in container"
    assert [o["status"] for o in capitalised["outcomes"]] == ["ok", "ok", "ok"]
    assert [(o["action"], o["status"], o["reason"]) for o in test_alert["outcomes"]] == [
        ("tell", "ok", "recorded"), ("kill", "skipped", INTERNAL_SKIP), ("tell", "ok", "recorded")]
    assert [(o["response"], o.get("detail", {}).get("truncated_fields"))
            for o in truncated["outcomes"]] == [
        ("contain", None), ("contain", None), ("downloads", ["proc.cmdline"]), ("tell-all", None)]
    assert [o["response"] for o in drop["outcomes"]] == ["tell-all"]  # no proc.name
