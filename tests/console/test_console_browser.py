"""The operator console in a real headless Chromium: sign in, watch an alert's outcome
arrive on Live, undo an isolation, pause containment on two replicas, a viewer refused, alert
text that tries to run script shown as text, and pages usable on a phone and a laptop."""

from __future__ import annotations

import http.client
from typing import Any

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from falco_response_testing.kubernetes import NETPOLS, PODS

from conftest import (VIEWER_TOKEN, screenshot, shell_alert, sign_in, store_records,
                      wait_for)

QUARANTINE = "falco-response.io/quarantine"


def live_rows(driver: Any) -> list[str]:
    return [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#live tbody tr")]


def no_dialog(driver: Any) -> None:
    try:
        dialog = driver.switch_to.alert
    except NoAlertPresentException:
        return
    text = dialog.text
    dialog.dismiss()
    raise AssertionError(f"a script ran: dialog {text!r}")


def test_sign_in_and_see_an_alert_arrive_on_live(serve, setup, add_pod, cluster, browser):
    replica = serve()
    add_pod("api-7f9c8d-aaaaa")
    sign_in(browser, replica.console)
    assert "alice (admin)" in browser.find_element(By.ID, "operator").text
    cookie = browser.get_cookie("fr_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert "alice-admin-token" not in cookie["value"]
    replica.post(shell_alert("api-7f9c8d-aaaaa", uuid="live-1"))
    rows = wait_for(lambda: [r for r in live_rows(browser) if "api-7f9c8d-aaaaa" in r],
                    20, "the outcome on Live (the page polls; nothing reloads it)")
    assert any("contain-shells/isolate" in r and " ok " in f" {r} " for r in rows), rows
    screenshot(browser, "live")
    # Filter by status: the page reloads with the filter and keeps polling with it.
    browser.get(f"{replica.console}/live?status=failed")
    assert live_rows(browser) == []
    # Each row links to its record.
    browser.get(f"{replica.console}/live")
    browser.find_element(By.CSS_SELECTOR, "#live tbody tr a").click()
    wait_for(lambda: "/audit/" in browser.current_url, 10, "the record page")
    assert "Terminal shell in container" in browser.find_element(By.ID, "rule").text


def test_undo_an_isolation_from_its_record(serve, setup, add_pod, cluster, browser):
    replica = serve()
    name = "web-7f9c8d-bbbbb"
    add_pod(name)
    replica.post(shell_alert(name, uuid="undo-1"))
    record = wait_for(lambda: next((r for r in store_records(setup)
                                    if r.action == "isolate" and r.status == "ok"), None),
                      30, "the isolation")
    assert cluster.obj(PODS, "default", name)["metadata"]["labels"][QUARANTINE] == "true"
    sign_in(browser, replica.console)
    browser.get(f"{replica.console}/audit/{record.id}")
    assert "A shell was spawned in default/" in browser.find_element(By.ID, "output").text
    browser.find_element(By.ID, f"undo-{record.id}").click()
    wait_for(lambda: "undone by alice" in browser.find_element(By.ID, "outcomes").text, 20,
             "the record to show the undo")
    screenshot(browser, "record")
    assert QUARANTINE not in cluster.obj(PODS, "default", name)["metadata"]["labels"]
    assert cluster.obj(NETPOLS, "default", "falco-response-quarantine") is None
    [undo] = [r for r in store_records(setup) if r.response == "undo"]
    assert undo.by == "alice" and undo.status == "ok" and undo.undo == {"of": record.id}


def test_pause_skips_destructive_actions_on_both_replicas(serve, setup, add_pod, cluster,
                                                          browser):
    first, second = serve(), serve(console=False)
    sign_in(browser, first.console)
    browser.get(f"{first.console}/containment")
    assert browser.find_element(By.ID, "running")
    browser.find_element(By.ID, "reason").send_keys("INC-4711: rule misfires on deploys")
    browser.find_element(By.ID, "pause").click()
    pauses = wait_for(lambda: browser.find_elements(By.ID, "pauses"), 10, "the pause")
    assert "All destructive actions paused by alice" in pauses[0].text
    screenshot(browser, "containment")
    for n, replica in enumerate((first, second)):
        add_pod(f"db-7f9c8d-{n}aaaa")
        replica.post(shell_alert(f"db-7f9c8d-{n}aaaa", uuid=f"pause-{n}"))

    def both() -> list[Any]:
        done = [r for r in store_records(setup) if r.uuid and r.uuid.startswith("pause-")]
        return done if len(done) == 6 else []  # isolate + tell, and `notify`'s tell

    records = wait_for(both, 30, "both replicas' outcomes")
    isolations = [r for r in records if r.action == "isolate"]
    assert [r.status for r in isolations] == ["skipped", "skipped"]
    for r in isolations:
        assert r.reason is not None and r.reason.startswith("containment paused by alice at ")
        assert r.reason.endswith(": INC-4711: rule misfires on deploys")
    assert [r.status for r in records if r.action == "tell"] == ["ok"] * 4
    assert not [w for w in cluster.writes() if "networkpolicies" in str(w.url)]
    for n in range(2):
        assert QUARANTINE not in cluster.obj(PODS, "default", f"db-7f9c8d-{n}aaaa")[
            "metadata"]["labels"]
    browser.get(f"{first.console}/live?status=skipped")
    wait_for(lambda: len(live_rows(browser)) == 2, 10, "the skipped rows on Live")
    browser.get(f"{first.console}/containment")
    browser.find_element(By.CSS_SELECTOR, "#pauses button.resume").click()
    wait_for(lambda: browser.find_elements(By.ID, "running"), 10, "containment running")


def test_a_viewer_cannot_pause_or_undo(serve, setup, add_pod, cluster, browser):
    replica = serve()
    add_pod("api-7f9c8d-ccccc")
    replica.post(shell_alert("api-7f9c8d-ccccc", uuid="viewer-1"))
    record = wait_for(lambda: next((r for r in store_records(setup)
                                    if r.action == "isolate" and r.status == "ok"), None),
                      30, "the isolation")
    sign_in(browser, replica.console, VIEWER_TOKEN)
    browser.get(f"{replica.console}/audit/{record.id}")
    assert not browser.find_elements(By.ID, f"undo-{record.id}")  # no button for a viewer
    browser.get(f"{replica.console}/containment")
    browser.find_element(By.ID, "reason").send_keys("I should not be able to")
    browser.find_element(By.ID, "pause").click()
    message = wait_for(lambda: browser.find_elements(By.ID, "message"), 10, "the refusal")
    assert message[0].text == "this needs the admin role; victor is viewer"
    assert "Refused" in browser.title
    # The same refusal without a browser's help: a forged form with the viewer's session.
    session = browser.get_cookie("fr_session")["value"]
    browser.get(f"{replica.console}/containment")
    csrf = browser.find_element(By.NAME, "csrf").get_attribute("value")
    status = post_form(replica.console_port, f"/audit/{record.id}/undo",
                       {"csrf": csrf}, session)
    assert status == 403
    assert post_form(replica.console_port, "/containment/pause",
                     {"csrf": "forged", "reason": "x"}, session) in (400, 403)
    from falco_response.state import open_store

    assert open_store(setup.store).pauses() == {}
    assert [r.response for r in store_records(setup)].count("undo") == 0


def post_form(port: int, path: str, form: dict[str, str], session: str) -> int:
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body=urlencode(form).encode(),
                 headers={"Content-Type": "application/x-www-form-urlencoded",
                          "Cookie": f"fr_session={session}"})
    status = conn.getresponse().status
    conn.close()
    return status


PAYLOADS = {
    "rule": "<script>alert('rule')</script>",
    "output": "\"><img src=x onerror=alert('output')> <a href=\"javascript:alert('link')\">x</a>",
    "pod": "javascript:alert('pod')",
    "hostname": "\"><svg onload=alert('host')>",
}


def test_attacker_written_alert_text_renders_as_text(serve, setup, cluster, browser):
    replica = serve()
    alert = shell_alert(PAYLOADS["pod"], uuid="xss-1", rule=PAYLOADS["rule"],
                        output=PAYLOADS["output"], hostname=PAYLOADS["hostname"])
    replica.post(alert)  # matches `notify` (every alert): the log action records it
    record = wait_for(lambda: next((r for r in store_records(setup) if r.uuid == "xss-1"),
                                   None), 30, "the record")
    sign_in(browser, replica.console)
    for path in ("/live", "/audit", f"/audit/{record.id}", "/overview",
                 f"/live?target={PAYLOADS['hostname']}"):
        browser.get(replica.console + path)
        no_dialog(browser)
        page = browser.find_element(By.TAG_NAME, "main").text
        if path != "/overview" and "target=" not in path:
            assert PAYLOADS["rule"] in page, path
        assert not browser.find_elements(By.CSS_SELECTOR, "main img, main svg[onload], "
                                         "main [onerror], main [onload]"), path
        scripts = [s.get_attribute("src") for s in browser.find_elements(By.TAG_NAME, "script")]
        assert scripts == [f"{replica.console}/static/console.js"], path
        hrefs = [a.get_attribute("href") or "" for a in browser.find_elements(By.TAG_NAME, "a")]
        assert all(h.startswith(replica.console) for h in hrefs), (path, hrefs)
    browser.get(f"{replica.console}/audit/{record.id}")
    assert browser.find_element(By.ID, "output").text == PAYLOADS["output"]
    assert PAYLOADS["hostname"] in browser.find_element(By.TAG_NAME, "main").text
    # Live adds rows from JSON with its script: the same payloads, added as text.
    browser.get(f"{replica.console}/live")
    before = len([r for r in live_rows(browser) if PAYLOADS["rule"] in r])
    replica.post({**alert, "uuid": "xss-2"})
    wait_for(lambda: len([r for r in live_rows(browser) if PAYLOADS["rule"] in r]) > before,
             20, "the new row")
    no_dialog(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "main img, main [onerror]")
    csp = headers(replica.console_port, "/login")["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def headers(port: int, path: str) -> dict[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    reply = conn.getresponse()
    reply.read()
    conn.close()
    return {k.lower(): v for k, v in reply.getheaders()}


def test_pages_are_usable_at_390_and_1280_pixels(serve, setup, add_pod, cluster, browser):
    replica = serve()
    for n in range(3):
        add_pod(f"api-7f9c8d-{n}dddd")
        replica.post(shell_alert(f"api-7f9c8d-{n}dddd", uuid=f"width-{n}"))
    wait_for(lambda: len([r for r in store_records(setup) if (r.uuid or "").startswith(
        "width-")]) == 9, 30, "the outcomes")
    sign_in(browser, replica.console)
    for width in (390, 1280):
        browser.set_window_size(width, 900)
        for page in ("live", "audit", "containment", "overview"):
            browser.get(f"{replica.console}/{page}")
            inner = browser.execute_script("return window.innerWidth")
            scroll = browser.execute_script("return document.documentElement.scrollWidth")
            assert scroll <= inner, (width, page, scroll, inner)
            for link in browser.find_elements(By.CSS_SELECTOR, "nav a"):
                assert link.is_displayed() and link.rect["x"] + link.rect["width"] <= inner
            if page == "containment":
                assert browser.find_element(By.ID, "pause").is_displayed()
            if width == 390 and page in ("live", "overview"):
                screenshot(browser, f"{page}-390")
            if width == 1280 and page == "overview":
                screenshot(browser, "overview")


def test_the_console_alone_against_a_store(console_only, setup, browser):
    """`falco-response console --store URL`: no intake, no config (a Lambda's table)."""
    from falco_response import Engine

    engine = Engine.from_config(setup.config)
    engine.handle(shell_alert("nowhere-7f9c8d-eeeee", uuid="alone-1"))
    engine.close()
    console = console_only()
    sign_in(browser, console.console)
    rows = wait_for(lambda: [r for r in live_rows(browser) if "nowhere-7f9c8d-eeeee" in r],
                    10, "the stored outcomes")
    assert rows
    record = next(r for r in store_records(setup) if r.action == "tell")
    browser.get(f"{console.console}/audit/{record.id}")
    assert browser.find_element(By.ID, "rule").text == "Terminal shell in container"
