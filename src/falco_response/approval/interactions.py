"""Slack's interaction requests (a click on Approve or Deny), for ``serve`` and Lambda alike.

:meth:`Interactions.handle` does only what must happen before Slack's 3-second answer:
verify the signature, read the click, check the approver and record the decision. The
returned :class:`Answer` carries ``follow_up``, which the caller runs *after* answering
(execute the decision, update the message). Every refusal is a 401/403 with a metrics
reason, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import msgspec

from . import records
from .execute import DecisionRefused, decide, execute
from .notice import APPROVE_ACTION, DENY_ACTION
from .slack_signature import BadSignature, SignatureChecker

if TYPE_CHECKING:
    from ..engine import Engine

PATH = "/slack/interactions"
_MAX_BODY = 64 * 1024


class Answer(msgspec.Struct):
    status: int
    body: dict[str, Any]
    refused: str | None = None
    """The metrics reason of a refusal."""
    follow_up: Callable[[], Any] | None = None


def _refuse(status: int, reason: str, message: str) -> Answer:
    return Answer(status, {"error": message}, refused=reason)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


class Interactions:
    """One per process: the engine (its store and actions) and the signing secret."""

    def __init__(self, engine: Engine, checker: SignatureChecker) -> None:
        self.engine = engine
        self.checker = checker

    def handle(self, headers: Mapping[str, str], body: bytes) -> Answer:
        from ..state import StoreError

        if len(body) > _MAX_BODY:
            return _refuse(413, "too_large", "interaction payload too large")
        try:
            self.checker.check(_header(headers, "x-slack-request-timestamp"),
                               _header(headers, "x-slack-signature"), body)
        except BadSignature as exc:
            return _refuse(401, exc.reason, str(exc))
        click = _read(body)
        if isinstance(click, str):
            return _refuse(403, "bad_payload", click)
        verdict, approval_id, user, response_url = click
        if not records.is_id(approval_id):
            return _refuse(403, "unknown_approval", "not an approval id")
        try:
            decided = decide(self.engine.store, approval_id, verdict, user, "slack",
                             response_url=response_url)
        except DecisionRefused as exc:
            return _refuse(403, exc.reason, str(exc))
        except StoreError as exc:
            self.engine.log.error("approval decision not recorded: state store unavailable",
                                  approval=approval_id, error=str(exc))
            return Answer(503, {"error": "state store unavailable; nothing was decided"},
                          refused="store_unavailable")
        text = decided.message()
        self.engine.log.warning("approval decision", approval=approval_id, user=user,
                                verdict=verdict, won=decided.won)
        answer = {"response_type": "ephemeral", "replace_original": False, "text": text}
        if not decided.won:
            return Answer(200, answer, follow_up=self._reply(decided, text))
        return Answer(200, answer, follow_up=lambda: run_quietly(self.engine, approval_id))

    def _reply(self, decided: Any, text: str) -> Callable[[], Any]:
        from .request import notice_for, post
        from ..parsing import alert_from_dict

        def reply() -> None:
            request = decided.request
            post(self.engine, request, alert_from_dict(request.alert),
                 notice_for(request, "reply", text=text,
                            response_url=decided.decision.response_url))
        return reply


def run_quietly(engine: Engine, approval_id: str) -> None:
    """:func:`execute` for a background thread: a failure is logged, never raised."""
    try:
        execute(engine, approval_id)
    except Exception as exc:  # the store went away mid-run: the sweeper does not retry it
        engine.log.error("approval execution failed", approval=approval_id,
                         error=f"{type(exc).__name__}: {exc}"[:300])


def _read(body: bytes) -> tuple[str, str, str, str | None] | str:
    """(verdict, approval id, user id, response_url) from a ``block_actions`` payload, or
    what is wrong with it."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=4)
        payload = msgspec.json.decode(form["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError, msgspec.DecodeError):
        return "not a Slack interaction (form field payload with JSON)"
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return "not a block_actions interaction"
    actions = payload.get("actions")
    user = (payload.get("user") or {}).get("id") if isinstance(payload.get("user"), dict) \
        else None
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        return "expected exactly one action"
    action_id, value = actions[0].get("action_id"), actions[0].get("value")
    verdict = {APPROVE_ACTION: "approve", DENY_ACTION: "deny"}.get(str(action_id))
    if verdict is None or not isinstance(value, str) or not isinstance(user, str):
        return "not an approval button"
    url = payload.get("response_url")
    response_url = url if isinstance(url, str) and url.startswith("https://") else None
    return verdict, value, user, response_url
