"""Human approval of actions: ``approval: {via, approvers, timeout, on_timeout}``.

An action that needs approval does not run when its alert arrives: the engine records a
request in the state store (:mod:`.records`), the ``via`` Slack action posts it
(:class:`Notice`), and the outcome is ``pending``. A decision (a Slack button verified by
:mod:`.slack_signature` and :mod:`.interactions`, ``falco-response approve``/``deny``, or the
timeout :mod:`.sweeper`) is written once, atomically; :mod:`.execute` then re-checks the
target and runs the action. See docs/approvals.md.
"""

from __future__ import annotations

from .notice import Notice

__all__ = ["Notice"]
