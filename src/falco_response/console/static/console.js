// The console's only script: the Live page asks for new outcomes every second and adds rows.
// Every value goes in through textContent, never as HTML: alert text is attacker-written.
"use strict";
(function () {
  var table = document.getElementById("live");
  if (!table) { return; }
  var body = table.tBodies[0];
  var state = document.getElementById("live-state");
  var seq = Number(table.dataset.seq || "0");
  var filters = ["status", "response", "action", "target"];
  var busy = false;

  function cell(row, text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function addRow(r) {
    var row = document.createElement("tr");
    row.className = "s-" + r.status + " fresh";
    var when = cell(row, "", "nowrap");
    var link = document.createElement("a");
    link.href = "/audit/" + encodeURIComponent(r.id);
    link.textContent = r.time;
    when.appendChild(link);
    var status = cell(row, "");
    var badge = document.createElement("span");
    badge.className = "badge s-" + r.status;
    badge.textContent = r.status;
    status.appendChild(badge);
    cell(row, r.response + "/" + r.action);
    cell(row, r.target || "-", "mono");
    var reason = cell(row, r.reason);
    if (r.by) {
      var by = document.createElement("em");
      by.textContent = " (by " + r.by + ")";
      reason.appendChild(by);
    }
    cell(row, r.rule);
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > 500) { body.deleteRow(body.rows.length - 1); }
  }

  function poll() {
    if (busy) { return; }
    busy = true;
    var query = new URLSearchParams({ after: String(seq) });
    filters.forEach(function (name) {
      var value = table.dataset[name];
      if (value) { query.set(name, value); }
    });
    fetch("/api/outcomes?" + query.toString(), { credentials: "same-origin" })
      .then(function (reply) {
        if (reply.status === 401) { window.location.assign("/login"); }
        if (!reply.ok) { throw new Error("HTTP " + reply.status); }
        return reply.json();
      })
      .then(function (data) {
        data.rows.forEach(addRow);
        seq = data.seq;
        table.dataset.seq = String(seq);
        state.textContent = "Up to date.";
      })
      .catch(function (err) { state.textContent = "Not updating: " + err.message; })
      .finally(function () { busy = false; });
  }

  window.setInterval(poll, 1000);
})();
