"""Test kit for falco-response plugins (the ``falco-response-testing`` distribution).

Installing it adds pytest fixtures (``ca``, ``ca_bundle``, ``tls_server``, ``receiver``,
``logs``) to every pytest run, through the ``pytest11`` entry point; the helpers below are
plain imports::

    from falco_response_testing import alert, engine_with, answer, answer_slowly
"""

from __future__ import annotations

from .alerts import ALERT, Containment, alert, engine_with
from .garbling import garbling_receiver
from .logs import Logs, everything
from .receiver import answer, answer_slowly, requests_to

__all__ = ["ALERT", "Containment", "Logs", "alert", "answer", "answer_slowly", "engine_with",
           "everything", "garbling_receiver", "requests_to"]
