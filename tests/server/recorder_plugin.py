"""A test plugin: action types that record each alert's uuid to a file, optionally slowly,
blocked on an event, or failing. Loaded in-process (``plugins=[...]``) or, for subprocess
servers, through a ``*.dist-info`` written next to it (see ``conftest.install_recorder``)."""

from __future__ import annotations

import os
import threading
import time

import msgspec

from falco_response import ActionContext, hookimpl

GATE = threading.Event()
GATE.set()


class RecordParams(msgspec.Struct, forbid_unknown_fields=True):
    path: str
    delay_ms: float = 0.0
    fail: bool = False
    wait_gate: bool = False
    pid_path: str = ""  # also append the pid of the process that ran the action here
    built_path: str = ""  # append the pid of each process that built the action here


def make_record(params: RecordParams):  # type: ignore[no-untyped-def]
    if params.built_path:
        fd = os.open(params.built_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)

    def run(ctx: ActionContext):  # type: ignore[no-untyped-def]
        if params.wait_gate:
            GATE.wait(30)
        if params.delay_ms:
            time.sleep(params.delay_ms / 1000.0)
        line = f"{ctx.alert.uuid or ctx.alert.rule}\n".encode()
        fd = os.open(params.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        if params.pid_path:
            fd = os.open(params.pid_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, f"{os.getpid()}\n".encode())
            finally:
                os.close(fd)
        if params.fail:
            return ctx.failed("told to fail", target="file:record")
        return ctx.ok(target="file:record", reason="recorded")
    return run


@hookimpl
def register_actions(register):  # type: ignore[no-untyped-def]
    register("record", make_record, params=RecordParams, summary="test: record the uuid")
    register("record-destructive", make_record, params=RecordParams, destructive=True,
             summary="test: record the uuid (declared destructive)")
