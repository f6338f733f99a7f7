"""The idempotency key reaches the engine as an argument (``Delivery``), never beside the call:
an SNS MessageId or SQS messageId dedups whichever thread handles the redelivery, the claim
is released when the alert's handling fails, and a batch's records are keyed apart."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import threading
from typing import Any

from falco_response import Engine, hookimpl
from falco_response.aws_lambda import handler, idempotency
from falco_response.aws_lambda.idempotency import Idempotency, delivery_of
from falco_response.delivery import Delivery
from falco_response.engine import default_logger
from falco_response.state.memory import MemoryStore

from .conftest import alert

CONFIG = {"version": 1, "responses": [{"name": "r", "actions": [{"type": "note"}]}]}


class Notes:
    """An action that notes each alert's output, and fails while ``failing`` holds."""

    def __init__(self) -> None:
        self.noted: list[str] = []
        self.failing = False

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register("note", lambda params: self.run, blocking=False)

    def run(self, ctx: Any) -> Any:
        self.noted.append(ctx.alert.output)
        return ctx.failed("told to fail") if self.failing else ctx.ok()


def engine(notes: Notes, store: MemoryStore) -> Engine:
    return Engine.from_config(CONFIG, plugins=[notes], entry_points=False, store=store,
                              idempotency=Idempotency("test", log=default_logger()))


def no_uuid(text: str) -> str:
    data = alert(output=text)
    del data["uuid"]  # falcosidekick's attribute publish has none: the ids are the key
    return json.dumps(data)


def sns_envelope(body: str, message_id: str) -> str:
    return json.dumps({"Type": "Notification", "MessageId": message_id, "Message": body,
                       "TopicArn": "arn:aws:sns:us-east-1:123456789012:falco"})


def in_thread(call: Any) -> Any:
    """Run ``call`` in a new thread, which starts with an empty context."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()))
    thread.start()
    thread.join(30)
    return out[0]


def test_an_sqs_message_id_dedups_in_another_thread() -> None:
    notes, store = Notes(), MemoryStore()
    e = engine(notes, store)
    body = no_uuid("first")
    (first,) = e.handle(body, delivery=Delivery("m-1"))
    (again,) = in_thread(lambda: e.handle(body, delivery=Delivery("m-1")))
    assert first.ok and first.message_id == "m-1" and first.dropped is None
    assert again.dropped == "duplicate delivery: this message id was already handled"
    assert again.message_id == "m-1" and notes.noted == ["first"]
    (other,) = e.handle(body, delivery=Delivery("m-2"))
    assert other.dropped is None and notes.noted == ["first", "first"]


def test_an_sns_message_id_dedups_two_sqs_copies_of_one_notification() -> None:
    notes, store = Notes(), MemoryStore()
    e = engine(notes, store)
    message = sns_envelope(no_uuid("once"), "sns-1")
    assert delivery_of(message, "sqs-a") == Delivery("sqs-a", "sns-1")
    (first,) = e.handle(message, delivery=delivery_of(message, "sqs-a"))
    (copy,) = in_thread(lambda: e.handle(message, delivery=delivery_of(message, "sqs-b")))
    assert first.dropped is None and copy.message_id == "sqs-b"
    assert copy.dropped == "duplicate delivery: this SNS MessageId was already handled"
    assert notes.noted == ["once"] and store.held("test:sns:sns-1")


def test_a_failed_alert_gives_its_claim_back_so_the_retry_acts() -> None:
    notes, store = Notes(), MemoryStore()
    e = engine(notes, store)
    body = no_uuid("flaky")
    notes.failing = True
    (failed,) = e.handle(body, delivery=Delivery("m-1"))
    assert not failed.ok and not store.held("test:msg:m-1")
    notes.failing = False
    (retried,) = e.handle(body, delivery=Delivery("m-1"))
    assert retried.ok and retried.dropped is None and store.held("test:msg:m-1")
    assert notes.noted == ["flaky", "flaky"]


def test_the_records_of_one_batch_are_keyed_by_their_own_ids() -> None:
    notes, store = Notes(), MemoryStore()
    e = engine(notes, store)
    batch = {"Records": [{"messageId": f"r-{i}", "body": no_uuid(f"n{i}")} for i in range(2)]}
    results = e.handle(batch, delivery=Delivery("outer"))
    assert [r.message_id for r in results] == ["r-0", "r-1"]
    assert [r.dropped for r in results] == [None, None] and notes.noted == ["n0", "n1"]


def test_without_a_delivery_nothing_is_claimed() -> None:
    notes, store = Notes(), MemoryStore()
    e = engine(notes, store)
    data = alert(uid="u-lib")
    for _ in range(2):
        assert e.handle(json.dumps(data))[0].dropped is None
    assert notes.noted == [data["output"]] * 2 and not store.held("test:uuid:u-lib")


def test_the_lambda_handler_dedups_an_sqs_redelivery(lambda_env: Any) -> None:
    from falco_response import aws_lambda

    lambda_env(CONFIG)
    notes = Notes()
    aws_lambda.init(plugins=[notes])
    event = {"Records": [{"messageId": "m-9", "receiptHandle": "r", "body": no_uuid("sqs"),
                          "attributes": {}, "messageAttributes": {},
                          "eventSource": "aws:sqs", "awsRegion": "us-east-1"}]}
    assert handler(event, None) == {"batchItemFailures": []}
    assert in_thread(lambda: handler(event, None)) == {"batchItemFailures": []}
    assert notes.noted == ["sqs"]


def test_no_context_variable_carries_the_delivery() -> None:
    for module in (idempotency, importlib.import_module("falco_response.aws_lambda.handler"),
                   importlib.import_module("falco_response.engine")):
        names = {node.id if isinstance(node, ast.Name) else node.attr
                 for node in ast.walk(ast.parse(inspect.getsource(module)))
                 if isinstance(node, (ast.Name, ast.Attribute))}
        assert not names & {"ContextVar", "contextvars"}, module.__name__
