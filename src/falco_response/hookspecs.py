"""The plugin contract: every hook falco-response calls, with when it runs and what to return.

Plugin authors import only ``falco_response``::

    from falco_response import hookimpl

    @hookimpl
    def register_actions(register): ...

and expose their module under the entry-point group ``falco_response``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union

import pluggy

if TYPE_CHECKING:
    from .actions import RegisterAction
    from .alert import Alert
    from .outcome import Outcome

PROJECT = "falco_response"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Payload = Union[dict[str, Any], str, bytes]


@hookspec
def register_actions(register: RegisterAction) -> None:
    """Register the action types this plugin provides.

    Runs once, when the engine is built, before the config is validated. Call, once per type::

        register(name, factory, *, params=NoParams, destructive=False, summary="", permissions=(), scope="pod", blocking=True, undo=None)

    ``factory(params)`` is called at config load for each configured action and returns the
    callable that runs it, ``run(ctx: ActionContext) -> Outcome``. ``params`` is the
    ``msgspec.Struct`` the action's ``with:`` block is validated against; ``destructive``
    types get protected namespaces, dry run and the safety limits; ``summary`` and
    ``permissions`` (RBAC verbs, IAM actions) feed the docs and ``falco-response plugins``;
    ``scope`` (``"pod"`` or ``"node"``) is what the default cooldown key names;
    ``blocking=False`` declares the action never waits on I/O, so the engine calls it inline
    instead of in a worker thread with a timeout; ``undo(params)`` (reversible types) returns
    the callable ``falco-response undo`` runs. A name another plugin already registered
    raises ``DuplicateActionType``, a bad argument (an unknown scope) ``InvalidActionType``:
    both are ``PluginError``, at startup.

    :param register: the callback that records an action type.
    """


@hookspec(firstresult=True)
def parse_alert(payload: Payload) -> Alert | None:
    """Turn one message into an :class:`Alert`, or return None to let the next parser try.

    Runs for every message received, before filtering. The first non-None result wins; the
    built-in parsers (Falco JSON, falcosidekick JSON, SNS/SQS/EventBridge envelopes) are
    registered ``trylast``, so a plugin's parser runs before them. Raise
    :class:`falco_response.ParseError` when the payload is yours but broken: its message is
    what the operator sees.

    :param payload: the message: a decoded JSON object, or text / bytes as received.
    :return: the alert, or None when this parser does not recognise the payload.
    """


@hookspec(firstresult=True)
def filter_alert(alert: Alert) -> str | None:
    """Drop an alert before matching by returning why (e.g. ``"source: internal"``).

    Runs for every parsed alert. The first non-None result drops the alert: no response
    runs and the result carries the reason. Return None to keep it.

    :param alert: the parsed alert.
    :return: a short reason to drop the alert, or None.
    """


@hookspec
def alert_handled(alert: Alert, outcomes: Sequence[Outcome]) -> None:
    """Observe every handled alert and its outcomes (audit trails, metrics, forwarding).

    Runs after all actions for the alert ran, also when no response matched (empty outcomes)
    or a filter dropped it. Exceptions raised here are logged and swallowed, so one observer
    cannot hide the alert from the others; do not take long: the next alert waits.

    :param alert: the alert.
    :param outcomes: the outcomes, in the order the actions ran.
    """
