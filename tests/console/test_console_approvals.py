"""The Approvals page in a real headless Chromium: a delete-pod that needs approval waits;
an approver approves it in the console; the pod is deleted on the kmock cluster and the
record shows who approved. A viewer cannot approve (403)."""

from __future__ import annotations

import json
from typing import Any

from selenium.webdriver.common.by import By

from falco_response_testing.kubernetes import PODS

from conftest import VIEWER_TOKEN, screenshot, shell_alert, sign_in, store_records, wait_for


def approval_config(setup: Any, kubeconfig: str) -> None:
    """delete-pod behind an approval; the Slack request goes nowhere (nothing listens on
    port 9), so it stays pending and is decided in the console."""
    config = json.loads(open(setup.config).read())
    config["actions"]["ask-secops"] = {"type": "slack", "with": {
        "token": "xoxb-111-222-CONSOLEtokenSECRET", "channel": "C0APPROVE",
        "api_url": "https://127.0.0.1:9/api/", "max_retries": 0}}
    config["actions"]["kill"] = {
        "type": "delete-pod", "with": {"cluster": {"kubeconfig": kubeconfig},
                                       "timeout_seconds": 5},
        "approval": {"via": "ask-secops", "approvers": ["U024BE7LH"], "timeout": "15m"}}
    config["responses"] = [{"name": "contain-shells", "actions": ["kill"]}]
    open(setup.config, "w").write(json.dumps(config))


def pending_id(setup: Any) -> Any:
    from falco_response.approval import records
    from falco_response.state import open_store

    store = open_store(setup.store)
    try:
        return next((i.request.id for i in records.listing(store) if i.state == "pending"),
                    None)
    finally:
        store.close()


def test_approve_a_pending_delete_in_the_console(serve, setup, add_pod, cluster, kubeconfig,
                                                 browser):
    approval_config(setup, kubeconfig)
    replica = serve()
    name = "api-7f9c8d-appro"
    add_pod(name)
    replica.post(shell_alert(name, uuid="approve-1"))
    approval = wait_for(lambda: pending_id(setup), 30, "the pending approval")
    pending = wait_for(lambda: next((r for r in store_records(setup) if r.action == "kill"),
                                    None), 30, "the pending outcome's record")
    assert pending.status == "pending"
    assert cluster.obj(PODS, "default", name) is not None
    sign_in(browser, replica.console)
    browser.get(f"{replica.console}/approvals")
    row = browser.find_element(By.ID, "pending").text
    assert name in row and "m " in row  # time left
    screenshot(browser, "approvals")
    browser.find_element(By.ID, f"approve-{approval}").click()
    wait_for(lambda: browser.find_elements(By.ID, "none-pending"), 20, "the decision")
    wait_for(lambda: cluster.obj(PODS, "default", name) is None, 20, "the pod deleted")
    decided = browser.find_element(By.ID, f"done-{approval}").text
    assert "console:alice" in decided and "ok" in decided
    browser.get(f"{replica.console}/audit/{pending.id}")
    trail = browser.find_element(By.ID, "approvals").text
    assert "approve: console:alice (console)" in trail


def test_a_viewer_cannot_approve(serve, setup, add_pod, cluster, kubeconfig, browser):
    approval_config(setup, kubeconfig)
    replica = serve()
    name = "api-7f9c8d-viewr"
    add_pod(name)
    replica.post(shell_alert(name, uuid="approve-2"))
    approval = wait_for(lambda: pending_id(setup), 30, "the pending approval")
    sign_in(browser, replica.console, VIEWER_TOKEN)
    browser.get(f"{replica.console}/approvals")
    assert not browser.find_elements(By.ID, f"approve-{approval}")
    csrf = browser.find_element(By.NAME, "csrf").get_attribute("value")
    from test_console_browser import post_form

    session = browser.get_cookie("fr_session")["value"]
    assert post_form(replica.console_port, f"/approvals/{approval}/approve", {"csrf": csrf},
                     session) == 403
    assert pending_id(setup) == approval
    assert cluster.obj(PODS, "default", name) is not None
