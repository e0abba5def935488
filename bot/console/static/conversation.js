/* A conversation a person has taken: the transcript (live), the account, the contact rules, the person's
   authority, the message box (which says why it is closed, and shows a refusal next to itself), agreements,
   notes, and handing back. Everything comes from the JSON API; every change the server pushes reloads the
   part it concerns. */
"use strict";

(function () {
  const { el, fill, api, connect, time, money, waited, me, CHANNELS, sentence, words } = window.Console;
  const root = document.getElementById("conversation");
  const handoffId = root.dataset.handoffId;
  const $ = (id) => document.getElementById(id);

  const transcript = $("transcript");
  const message = $("message");
  const messageError = $("message-error");
  const composeHint = $("compose-hint");
  const pageMessage = $("page-message");
  const seen = new Set(); // messages already shown, so a reload and the live stream never show one twice
  let panel = null;

  // --- the transcript ---------------------------------------------------------------------------------

  function senderLabel(m) {
    if (m.sender === "debtor") return "Debtor";
    if (m.sender === "agent") return m.agent ? `Agent ${m.agent}` : "Agent";
    return "Assistant";
  }

  function messageKey(m) {
    const at = m.at ? new Date(m.at).getTime() : ""; // the live stream and the transcript may differ in precision
    return [m.sender, m.agent || "", at, m.text || ""].join("\u0000");
  }

  function showMessage(m) {
    const key = messageKey(m);
    if (seen.has(key)) return;
    seen.add(key);
    const buttons = (m.buttons || []).map((b) => b.title).filter(Boolean);
    transcript.append(el("div", { class: `message from-${m.sender}`, "data-sender": m.sender, "data-testid": "message" },
      el("p", { class: "meta" }, el("span", { class: "sender", text: senderLabel(m) }), " ", time(m.at)),
      el("p", { class: "text", text: m.text || "" }),
      buttons.length ? el("p", { class: "choices", text: `Choices offered: ${buttons.join(", ")}` }) : null));
    transcript.scrollTop = transcript.scrollHeight;
  }

  async function loadTranscript() {
    const result = await api("GET", `/api/handoffs/${handoffId}/transcript`);
    if (!result.ok) {
      if (result.status !== 401) pageMessage.textContent = result.data.error || "The transcript could not be loaded.";
      return;
    }
    for (const m of result.data.messages || []) showMessage(m);
  }

  // --- the panel ------------------------------------------------------------------------------------------

  function dl(pairs) {
    return el("dl", { class: "facts" }, pairs.filter(Boolean).map(([term, value]) => [
      el("dt", { text: term }), el("dd", {}, value === null || value === undefined || value === "" ? "–" : value)]));
  }

  function verificationText(h) {
    return h.verified ? `Verified by ${h.verified_by || "the assistant"}` : "Not verified";
  }

  function renderSummary(h) {
    const who = h.status === "assigned" ? `taken by ${h.assigned_to === me.login ? "you" : h.assigned_to}`
      : h.status === "open" ? "waiting" : `closed (${words(h.disposition) || "no disposition"})`;
    fill($("handoff-summary"),
      `${sentence(h.reason)}, ${CHANNELS[h.channel] || h.channel}, ${who}. `,
      h.status !== "closed" ? `Opened ${waited(h.created_at)} ago. ` : "",
      el("span", { class: h.verified ? "badge ok" : "badge warn", text: verificationText(h) }));
    $("take").hidden = h.status !== "open";
  }

  function agreementsList(account) {
    const c = account.currency;
    const items = [];
    for (const p of account.plans || []) {
      items.push(el("li", { class: `agreement status-${p.status}` },
        el("p", {}, el("strong", { text: "Plan " }), `${p.status}, ${money(p.total, c)} in ${(p.installments || []).length} instalments`,
          `, authorised by ${p.authorized_by} (${p.authorized_actor || "–"})`,
          p.requested_by ? `, requested by ${p.requested_by}` : "", p.hardship ? ", hardship" : ""),
        el("table", { class: "small" },
          el("caption", { class: "visually-hidden", text: "Instalments" }),
          el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Due" }), el("th", { scope: "col", text: "Amount" }),
            el("th", { scope: "col", text: "Status" }))),
          el("tbody", {}, (p.installments || []).map((i) => el("tr", {},
            el("td", { text: i.due_on }), el("td", { class: "amount", text: money(i.amount, c) }), el("td", { text: i.status })))))));
    }
    for (const s of account.settlements || []) {
      items.push(el("li", { class: `agreement status-${s.status}` }, el("strong", { text: "Settlement " }),
        `${s.status}: ${money(s.amount, c)} (${s.discount_pct}% off) by ${s.pay_by}, authorised by ${s.authorized_by}`,
        ` (${s.authorized_actor || "–"})`, s.requested_by ? `, requested by ${s.requested_by}` : ""));
    }
    for (const p of account.promises || []) {
      items.push(el("li", { class: `agreement status-${p.status}` }, el("strong", { text: "Promise " }),
        `${p.status}: ${money(p.amount, c)} on ${p.pay_on}, authorised by ${p.authorized_by} (${p.authorized_actor || "–"})`));
    }
    return items.length ? el("ul", { class: "agreements", "data-testid": "agreements" }, items)
      : el("p", { class: "muted", text: "No agreements." });
  }

  function renderAccount(data) {
    const a = data.account;
    const h = data.handoff;
    if (!a) {
      fill($("account"), el("p", { class: "muted", text: "No account is known for this conversation yet: the person has not been identified." }),
        dl([["Verification", verificationText(h)]]));
      return;
    }
    const c = a.currency;
    const flags = Object.entries(a.flags || {}).filter(([, on]) => on).map(([name]) => words(name));
    const holds = [...new Set([...(h.holds || []).map(words), ...flags])];
    const disputes = (a.disputes || []).map((d) => el("li", {}, `${d.reference}: ${words(d.reason)}, ${d.status}`));
    fill($("account"),
      dl([
        ["Debtor", a.debtor ? a.debtor.name : ""],
        ["Reference", a.account_ref],
        ["Verification", el("span", { class: h.verified ? "badge ok" : "badge warn", text: verificationText(h) })],
        ["Status", words(a.status)],
        ["Holds", holds.length ? holds.map((x) => el("span", { class: "badge hold", text: x })) : "none"],
        ["Balance", el("span", { class: "amount strong", "data-testid": "balance", text: money(a.balance, c) })],
        ["Made of", `principal ${money(a.principal, c)}, interest ${money(a.interest, c)}, fees ${money(a.fees, c)}, paid ${money(a.paid, c)}`],
        ["Creditor", a.creditor ? a.creditor.name : ""],
        ["Original creditor", a.original_creditor || "–"],
        ["Dispute period ends", a.validation_ends_on],
      ]),
      el("h3", { text: "Agreements" }), agreementsList(a),
      disputes.length ? [el("h3", { text: "Disputes" }), el("ul", {}, disputes)] : null,
      el("h3", { text: "Contact points" }),
      (a.contact_points || []).length ? el("ul", { class: "contact-points" }, a.contact_points.map((p) => el("li", {},
        `${p.kind}: ${p.value} (${p.status}${p.verified ? ", verified" : ""}${p.sms_opt_out ? ", opted out of texts" : ""})`)))
        : el("p", { class: "muted", text: "None on file." }));
    // The dispute tools (supervisors).
    const tools = $("dispute-tools");
    if (tools) {
      const open = (a.disputes || []).find((d) => d.status === "open");
      tools.hidden = !open;
      tools.dataset.reference = open ? open.reference : "";
      if (open) $("dispute-about").textContent = `${open.reference}: ${words(open.reason)}${open.details ? ` – “${open.details}”` : ""}`;
    }
  }

  function renderContact(contact) {
    const local = contact.local_time ? contact.local_time.slice(11, 16) : "–";
    fill($("contact"), dl([
      ["Debtor's local time", `${local} (${contact.timezone})`],
      ["A text may go now", contact.sms_allowed_now ? "Yes" : `No: ${contact.sms_rule || "not allowed"}`],
      ["Call attempts in 7 days", String(contact.attempts_7d)],
    ]));
  }

  function authorityBlock(p, currency) {
    const ladder = (p.settlement_ladder || []).map((s) => `${s.discount_pct}% off: ${money(s.amount, currency)}`);
    return dl([
      ["Settlement ladder", ladder.length ? el("ol", { class: "ladder" }, ladder.map((x) => el("li", { text: x }))) : "none"],
      ["Settlement floor", `${money(p.settlement_floor, currency)}, paid within ${p.settlement_pay_within_days} days`],
      ["Longest plan", `${p.max_plan_months} months (at least ${money(p.min_installment, currency)} a month)`],
      ["Smallest instalment", money(p.smallest_allowed_installment, currency)],
      p.hardship_max_plan_months ? ["Hardship plan", `up to ${p.hardship_max_plan_months} months`] : null,
      ["Promise to pay", `within ${p.promise_max_days} days`],
    ]);
  }

  function renderAuthority(data) {
    const box = $("authority");
    if (!data.authority) {
      fill(box, el("p", { class: "muted", text: "Nothing may be offered until the account is known." }));
      return;
    }
    const c = data.account.currency;
    const above = data.authority_above;
    fill(box,
      el("p", {}, "What you may offer now, at the ", el("strong", { text: data.authority.tier }), " tier:"),
      authorityBlock(data.authority, c),
      above ? [el("h3", { text: `Needs a ${above.tier}` }),
        el("p", { text: `Beyond the limits above, up to: a settlement of ${money(above.settlement_floor, c)}, `
          + `a plan of ${above.max_plan_months} months, an instalment of ${money(above.smallest_allowed_installment, c)}.` })]
        : el("p", { class: "muted", text: "No tier above yours: terms beyond these cannot be agreed." }));
  }

  function renderCompose(data) {
    const compose = data.compose || {};
    const closed = data.handoff.status === "closed";
    const mine = data.handoff.assigned_to === me.login || me.role === "supervisor";
    let hint = "";
    if (closed) hint = "This conversation has been handed back.";
    else if (data.handoff.status === "open") hint = "Take the conversation to write to the debtor.";
    else if (!mine) hint = `This conversation is with ${data.handoff.assigned_to}.`;
    else if (compose.explanation) hint = compose.explanation;
    else if (!compose.verified) hint = "The person is not verified: say nothing about the debt (its amount, creditor or existence).";
    composeHint.textContent = hint;
    const usable = !closed && data.handoff.status === "assigned" && mine && compose.allowed !== false;
    message.disabled = !usable;
    $("send").disabled = !usable;
    const cease = $("send-cease");
    cease.hidden = !(usable && compose.rule === "cease" && data.cease_confirmation);
  }

  function renderNotes(notes) {
    fill($("notes"), notes.length ? notes.map((n) => el("li", {},
      el("p", { class: "meta" }, el("span", { class: "sender", text: n.author }), " ", time(n.at)),
      el("p", { class: "text", text: n.text }))) : el("li", { class: "muted", text: "No notes yet." }));
  }

  function approvalLine(a) {
    const decided = a.status === "pending" ? "waiting for a supervisor"
      : `${a.status} by ${a.decided_by}${a.decision_note ? `: ${a.decision_note}` : ""}`;
    return el("li", { "data-approval-id": a.id, "data-status": a.status },
      el("strong", { text: `${sentence(a.kind)}: ` }), a.summary, ` (asked by ${a.requested_by}) – `,
      el("span", { class: `badge status-${a.status}`, text: decided }));
  }

  function renderAudit(events) {
    fill($("audit-body"), events.length ? el("table", { class: "small audit-table" },
      el("caption", { class: "visually-hidden", text: "Audit log, oldest first" }),
      el("thead", {}, el("tr", {}, ["When", "Who", "What", "Details"].map((t) => el("th", { scope: "col", text: t })))),
      el("tbody", {}, events.map((e) => el("tr", {}, el("td", {}, time(e.at, { full: true })), el("td", { text: e.actor }),
        el("td", { text: words(e.action) }), el("td", { class: "details", text: JSON.stringify(e.details || {}) })))))
      : el("p", { class: "muted", text: "Nothing recorded." }));
    $("audit").querySelector("summary").textContent = `Audit log (${events.length})`;
  }

  function renderDispositions(list) {
    const select = $("disposition");
    if (select.options.length) return;
    for (const d of list) select.append(el("option", { value: d, text: sentence(d) }));
  }

  function renderForms(data) {
    const working = data.handoff.status === "assigned" && (data.handoff.assigned_to === me.login || me.role === "supervisor");
    for (const id of ["agreement-form", "hand-back-form"]) {
      for (const control of $(id).elements) control.disabled = !working;
    }
    if (working) kindChanged();
  }

  function render(data) {
    panel = data;
    renderSummary(data.handoff);
    renderAccount(data);
    renderContact(data.contact);
    renderAuthority(data);
    renderCompose(data);
    renderNotes(data.notes || []);
    const approvals = data.approvals || [];
    fill($("approval-requests"), approvals.length ? approvals.map(approvalLine)
      : el("li", { class: "muted", text: "None." }));
    renderAudit(data.audit || []);
    renderDispositions(data.dispositions || []);
    renderForms(data);
  }

  async function loadPanel() {
    const result = await api("GET", `/api/handoffs/${handoffId}`);
    if (result.ok) {
      render(result.data);
      return;
    }
    if (result.status === 401) return;
    pageMessage.textContent = result.status === 403
      ? `You can no longer see this conversation: ${result.data.error || "it is with someone else"}.`
      : (result.data.error || "The conversation could not be loaded.");
    for (const form of document.querySelectorAll("form:not(.logout)")) {
      for (const control of form.elements) control.disabled = true;
    }
  }

  // --- actions --------------------------------------------------------------------------------------------

  async function send(text) {
    messageError.textContent = "";
    message.removeAttribute("aria-invalid");
    const result = await api("POST", `/api/handoffs/${handoffId}/messages`, { text });
    if (result.ok) {
      message.value = "";
      loadTranscript();
      return true;
    }
    if (result.status === 401) return false;
    messageError.textContent = result.data.explanation || result.data.error || "The message was not sent.";
    message.setAttribute("aria-invalid", "true");
    message.focus();
    return false;
  }

  $("message-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (message.disabled) return;
    $("send").disabled = true;
    try {
      await send(message.value);
    } finally {
      $("send").disabled = message.disabled;
      if (!message.disabled) message.focus(); // the disabled button dropped the focus: back to writing
    }
  });

  $("send-cease").addEventListener("click", () => {
    if (panel && panel.cease_confirmation) send(panel.cease_confirmation);
  });

  $("take").addEventListener("click", async () => {
    const result = await api("POST", `/api/handoffs/${handoffId}/take`);
    pageMessage.textContent = result.ok ? "You have taken this conversation."
      : (result.data.by ? `${result.data.by} has already taken this conversation.` : result.data.error);
    await loadPanel();
    if (result.ok) message.focus();
  });

  const DATE_FIELD = { plan: "first_due", settlement: "pay_by", promise: "pay_on", pay_in_full: "pay_on" };

  function kindChanged() {
    const kind = $("agreement-kind").value;
    for (const field of $("agreement-form").querySelectorAll("[data-kinds]")) {
      const shown = field.dataset.kinds.split(" ").includes(kind);
      field.hidden = !shown;
      for (const control of field.querySelectorAll("input")) control.disabled = !shown;
    }
  }

  $("agreement-kind").addEventListener("change", kindChanged);

  $("agreement-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = $("agreement-kind").value;
    const body = {
      kind, note: $("agreement-note").value, agreed_by_phone: $("agreement-by-phone").checked,
    };
    if (kind === "plan") {
      if ($("agreement-months").value) body.months = Number($("agreement-months").value);
      if ($("agreement-monthly").value.trim()) body.monthly = $("agreement-monthly").value.trim();
    }
    if (kind === "settlement" || kind === "promise") body.amount = $("agreement-amount").value.trim();
    if ($("agreement-date").value) body[DATE_FIELD[kind]] = $("agreement-date").value;
    const outcome = $("agreement-outcome");
    outcome.className = "outcome";
    outcome.textContent = "Sending…";
    $("agreement-submit").disabled = true;
    const result = await api("POST", `/api/handoffs/${handoffId}/agreements`, body);
    $("agreement-submit").disabled = false;
    const d = result.data;
    if (!result.ok) {
      outcome.className = "outcome refused";
      outcome.textContent = `Refused: ${d.error || "the terms could not be submitted"}`;
      return;
    }
    if (d.outcome === "offer_sent") outcome.textContent = `Offer sent to the debtor: “${d.text}” Waiting for their yes or no.`;
    else if (d.outcome === "recorded") {
      outcome.textContent = `Recorded: ${d.summary}` + (d.sent_to_debtor ? " The debtor was sent the terms."
        : ` The terms were not sent to the debtor${d.not_sent_because ? `: ${d.not_sent_because}` : ""}.`);
    } else if (d.outcome === "approval_requested") {
      outcome.textContent = `Approval requested from a supervisor (beyond your authority: ${(d.problems || []).join("; ")}).`;
    }
    outcome.classList.add(d.outcome);
    loadPanel();
    loadTranscript();
  });

  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("note-text");
    const result = await api("POST", `/api/handoffs/${handoffId}/notes`, { text: text.value });
    $("note-error").textContent = result.ok ? "" : (result.data.error || "The note was not saved.");
    if (result.ok) {
      text.value = "";
      loadPanel();
    }
  });

  $("disposition").addEventListener("change", () => {
    $("callback-field").hidden = $("disposition").value !== "callback";
  });

  $("hand-back-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const disposition = $("disposition").value;
    const body = { disposition, note: $("hand-back-note").value, callback_at: null };
    if (disposition === "callback") {
      const local = $("callback-at").value;
      const moment = local ? new Date(local) : null; // datetime-local is in the browser's zone
      if (!moment || Number.isNaN(moment.getTime())) {
        $("hand-back-error").textContent = "Give the callback time.";
        $("callback-at").focus();
        return;
      }
      body.callback_at = moment.toISOString();
    }
    $("hand-back").disabled = true;
    const result = await api("POST", `/api/handoffs/${handoffId}/hand-back`, body);
    if (result.ok) {
      window.location.assign("/");
      return;
    }
    $("hand-back").disabled = false;
    $("hand-back-error").textContent = result.data.error || "The conversation could not be handed back.";
  });

  const assignForm = $("assign-form");
  if (assignForm) {
    assignForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = await api("POST", `/api/handoffs/${handoffId}/assign`, { login: $("assign-login").value });
      $("assign-outcome").textContent = result.ok ? `Assigned to ${result.data.assigned_to}.`
        : (result.data.error || "Not reassigned.");
      loadPanel();
    });
  }

  const disputeForm = $("dispute-form");
  if (disputeForm) {
    disputeForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reference = $("dispute-tools").dataset.reference;
      const result = await api("POST", `/api/disputes/${encodeURIComponent(reference)}/resolve`,
        { outcome: $("dispute-outcome").value, note: $("dispute-note").value });
      $("dispute-outcome-message").textContent = result.ok
        ? `Dispute ${result.data.reference} ${result.data.outcome}; the account is now ${words(result.data.status)}.`
        : (result.data.error || "The dispute was not resolved.");
      loadPanel();
    });
  }

  // --- live -----------------------------------------------------------------------------------------------

  connect(`/api/events?handoff=${encodeURIComponent(handoffId)}`, {
    message: (payload) => {
      if (String(payload.handoff_id) === handoffId && payload.message) showMessage(payload.message);
    },
    panel: (payload) => {
      if (String(payload.handoff_id) === handoffId) loadPanel();
    },
    approval: (payload) => {
      if (String(payload.handoff_id) !== handoffId) return;
      if (payload.status && payload.status !== "pending") {
        const outcome = $("agreement-outcome");
        outcome.className = `outcome ${payload.status}`;
        outcome.textContent = payload.status === "approved"
          ? `Approved by ${payload.decided_by}: ${payload.summary || "the terms"} are recorded.`
          : `Rejected by ${payload.decided_by}: ${payload.decision_note || "no reason given"}.`;
      }
      loadPanel();
    },
  }, () => { loadPanel(); loadTranscript(); });

  loadPanel();
  loadTranscript();
})();
