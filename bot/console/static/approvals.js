/* The supervisors' approval queue: terms beyond an agent's authority, live. Approve records them at the
   supervisor's tier; reject needs a reason, which goes back to the agent. */
"use strict";

(function () {
  const { el, fill, api, connect, time, sentence } = window.Console;
  const list = document.getElementById("approval-list");
  const summary = document.getElementById("approvals-summary");
  const failure = document.getElementById("approvals-error");
  const announce = document.getElementById("approvals-announce");

  function row(a) {
    const id = a.id;
    const status = el("p", { class: "outcome", role: "status", "data-testid": "approval-outcome" });
    const note = el("input", { id: `approve-note-${id}`, type: "text", maxlength: 4000, autocomplete: "off" });
    const reason = el("input", { id: `reject-reason-${id}`, type: "text", maxlength: 4000, autocomplete: "off",
      "aria-describedby": `reject-hint-${id}` });

    async function decide(action, body, button) {
      if (action === "reject" && !reason.value.trim()) {
        status.textContent = "Give the reason for rejecting: the agent is told it.";
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        return;
      }
      button.disabled = true;
      const result = await api("POST", `/api/approvals/${id}/${action}`, body);
      button.disabled = false;
      if (result.ok) {
        announce.textContent = action === "approve"
          ? `Approved ${a.account_ref}: the agreement is recorded.` : `Rejected ${a.account_ref}: the agent is told why.`;
        load();
      } else {
        status.textContent = result.data.error || "The request could not be decided.";
      }
    }

    return el("li", { class: "approval", "data-approval-id": id, "data-testid": "approval-row" },
      el("h2", { text: `${a.account_ref}: ${sentence(a.kind)}` }),
      el("dl", { class: "facts" },
        el("dt", { text: "Terms" }), el("dd", { text: a.summary }),
        el("dt", { text: "Beyond the agent's authority" }), el("dd", { text: (a.problems || []).join("; ") || "–" }),
        el("dt", { text: "Requested by" }), el("dd", { text: a.requested_by }),
        el("dt", { text: "Their note" }), el("dd", { text: a.note || "–" }),
        el("dt", { text: "Asked" }), el("dd", {}, time(a.created_at)),
        a.handoff_id ? [el("dt", { text: "Conversation" }),
          el("dd", {}, el("a", { href: `/handoffs/${a.handoff_id}`, text: `Conversation ${a.handoff_id}` }))] : null),
      el("div", { class: "decide" },
        el("form", {
          class: "approve-form", novalidate: true,
          onsubmit: (event) => { event.preventDefault(); decide("approve", { note: note.value }, event.submitter || event.target.querySelector("button")); },
        }, el("label", { for: note.id, text: "Approval note (optional)" }), note,
        el("button", { type: "submit", class: "approve", "data-testid": "approve" }, "Approve")),
        el("form", {
          class: "reject-form", novalidate: true,
          onsubmit: (event) => { event.preventDefault(); decide("reject", { reason: reason.value }, event.submitter || event.target.querySelector("button")); },
        }, el("label", { for: reason.id, text: "Reason for rejecting" }), reason,
        el("p", { class: "hint", id: `reject-hint-${id}`, text: "Required; the agent sees it." }),
        el("button", { type: "submit", class: "reject", "data-testid": "reject" }, "Reject"))),
      status);
  }

  let known = null; // the ids already shown (null: nothing loaded yet)

  function render(items) {
    const fresh = known === null ? [] : items.filter((a) => !known.has(String(a.id)));
    known = new Set(items.map((a) => String(a.id)));
    if (fresh.length) {
      announce.textContent = fresh.length === 1
        ? `New request from ${fresh[0].requested_by}: ${fresh[0].account_ref}, ${fresh[0].summary}`
        : `${fresh.length} new requests.`;
    }
    summary.textContent = items.length === 1 ? "1 request waiting." : `${items.length} requests waiting.`;
    document.title = `${items.length ? `(${items.length}) ` : ""}Approvals – Collections console`;
    const count = document.getElementById("approvals-count");
    if (count) count.textContent = items.length ? `(${items.length} pending)` : "";
    const focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("li[data-approval-id]") : null;
    const keep = new Map([...list.querySelectorAll("li[data-approval-id]")].map((li) => [li.dataset.approvalId, li]));
    // Rebuild only what changed, so a supervisor typing a reason does not lose it when another request arrives.
    const rows = items.map((a) => keep.get(String(a.id)) || row(a));
    fill(list, rows.length ? rows : el("li", { class: "muted", text: "No request is waiting." }));
    if (focused && !list.contains(focused)) document.getElementById("main").focus();
  }

  async function load() {
    const result = await api("GET", "/api/approvals");
    if (result.ok) {
      failure.textContent = "";
      render(result.data.items || []);
    } else if (result.status !== 401) {
      failure.textContent = result.data.error || "The requests could not be loaded.";
    }
  }

  load();
  connect("/api/events", { approval: load });
})();
