/* The call screen: find an account, choose a number, start the call (the contact rules may refuse it, and the
   refusal names the rule); then, while on the phone, what is said (typed here, or heard on the line and pushed by
   the server), the checklist, the warnings with what to do, what may be offered at this person's tier (each a
   one-click agreement), suggested replies, the actions a call may need, and the end of the call with a summary
   the person edits. Everything comes from the JSON API and is built as DOM nodes (the page enforces Trusted
   Types). `/calls?call=ID` reopens a call. */
"use strict";

(function () {
  const { el, fill, api, connect, time, money, me, words, sentence } = window.Console;
  const $ = (id) => document.getElementById(id);

  // What the person did wrong rather than what the debtor said: shown apart (SPEC section 8).
  const AGENT_SLIPS = new Set(["not_verified", "no_disclosure", "outside_hours"]);
  const OUTCOMES = { no_answer: "No answer", voicemail: "Voicemail", wrong_party: "Wrong party", conversation: "Conversation" };
  const RULES = {
    stopped: "Collection is stopped",
    paused: "Collection is paused",
    opted_out: "The debtor opted out",
    outside_hours: "Outside the calling hours (08:00–21:00, the debtor's time)",
    attempts: "At most 7 call attempts in 7 days",
    recent_conversation: "No call within 7 days after a phone conversation",
    wrong_number: "Wrong number",
    unknown_number: "Number not on file",
  };
  const CHECKS = ["verified", "disclosure_given", "validation_notice"];

  const announce = $("calls-announce");
  const refusal = $("refusal");
  const utterances = $("utterances");
  const utteranceBox = $("utterance");

  let chosen = null; // the account chosen in the search results
  let call = null; // the open call (CALL of the API)
  let seen = new Set(); // utterances shown, so the call's list and the live stream never show one twice
  let warnings = []; // WARNING objects, newest first, one per code
  let offersShown = ""; // the offers last drawn (redrawn only when they change, so the focus stays put)

  // --- small helpers -----------------------------------------------------------------------------------

  /** A result line (class "outcome": coloured by `kind`, recorded or refused; hidden while empty). */
  function say(node, text, kind) {
    node.className = kind ? `outcome ${kind}` : "outcome";
    node.textContent = text || "";
  }

  function failure(result, fallback) {
    return (result.data && (result.data.explanation || result.data.error)) || fallback;
  }

  async function busy(button, work) {
    if (button) button.disabled = true;
    try {
      return await work();
    } finally {
      if (button) button.disabled = Boolean(call && call.ended_at && button.closest("#call"));
    }
  }

  function dl(node, pairs) {
    return fill(node, pairs.filter(Boolean).map(([term, value]) => [
      el("dt", { text: term }), el("dd", {}, value === null || value === undefined || value === "" ? "–" : value)]));
  }

  /** The debtor's local time as the server gives it (an ISO time with its offset, or already words). */
  function localTime(value, zone) {
    if (!value) return "–";
    const match = /^\d{4}-\d{2}-\d{2}T(\d{2}:\d{2})/.exec(value);
    const clock = match ? match[1] : value;
    return zone ? `${clock} (${zone})` : clock;
  }

  function speakerLabel(u) {
    if (u.speaker === "debtor") return "Debtor";
    if (!call || !call.agent || call.agent === me.login) return "You";
    return `Agent ${call.agent}`;
  }

  // --- finding the account and starting the call ----------------------------------------------------------------

  function holdsOf(account) {
    const holds = account.holds || [];
    return holds.length ? holds.map((h) => el("span", { class: "badge hold", text: words(h) })) : null;
  }

  function result(account) {
    const phones = account.phones || [];
    const button = el("button", {
      type: "button", class: "result", "aria-pressed": "false", "data-testid": "result",
      "data-account-ref": account.account_ref,
      onclick: () => choose(account, button),
    },
    el("span", { class: "result-name", text: account.name || account.account_ref }),
    el("span", { class: "result-ref", text: account.account_ref }),
    el("span", { class: "result-facts" },
      `${money(account.balance, account.currency)}, ${words(account.status)}`,
      phones.length ? `, ${phones.length === 1 ? "1 number" : `${phones.length} numbers`}` : ", no number on file"),
    holdsOf(account));
    return el("li", {}, button);
  }

  async function search(query) {
    const status = $("search-status");
    const list = $("results");
    refusal.replaceChildren();
    if (!query.trim()) {
      status.textContent = "Type a reference, a phone number or a name.";
      $("search").focus();
      return;
    }
    status.textContent = "Searching…";
    const found = await busy($("search-button"), () => api("GET", `/api/accounts?q=${encodeURIComponent(query.trim())}`));
    if (!found.ok) {
      status.textContent = failure(found, "The search failed.");
      return;
    }
    const accounts = found.data.accounts || [];
    fill(list, accounts.map(result));
    list.hidden = accounts.length === 0;
    status.textContent = accounts.length === 0 ? "No account matches."
      : accounts.length === 1 ? "1 account found." : `${accounts.length} accounts found.`;
    $("start-form").hidden = true;
    chosen = null;
    if (accounts.length === 1) choose(accounts[0], list.querySelector("button.result"), { quiet: true });
  }

  function choose(account, button, options) {
    chosen = account;
    for (const other of $("results").querySelectorAll("button.result")) other.setAttribute("aria-pressed", String(other === button));
    refusal.replaceChildren();
    $("chosen-name").textContent = `${account.name || ""} (${account.account_ref})`;
    $("chosen-facts").textContent = `Balance ${money(account.balance, account.currency)}, ${words(account.status)}`
      + ((account.holds || []).length ? `; holds: ${account.holds.map(words).join(", ")}` : "");
    const phones = account.phones || [];
    fill($("phone-choices"), phones.length ? phones.map((phone, index) => el("div", { class: "choice" },
      el("input", { type: "radio", name: "phone", id: `phone-${index}`, value: phone, checked: index === 0,
        "data-testid": "phone-choice" }),
      el("label", { for: `phone-${index}`, text: phone })))
      : el("p", { class: "muted", text: "No phone number is on file for this account." }));
    $("start-call").disabled = phones.length === 0;
    $("start-form").hidden = false;
    if (!(options && options.quiet)) $("start-call").focus();
  }

  function showRefusal(data) {
    const rule = data.rule || "";
    fill(refusal,
      el("p", { class: "refusal-title" }, el("strong", { text: rule ? "Call not allowed: " : "Call not allowed." }),
        rule ? RULES[rule] || sentence(rule) : null),
      el("p", { class: "refusal-text", text: data.explanation || data.error || "The call may not be made now." }),
      rule ? el("p", { class: "refusal-rule muted", text: `Rule: ${rule}` }) : null);
    refusal.dataset.rule = rule;
  }

  async function startCall() {
    if (!chosen) return;
    const picked = $("start-form").querySelector("input[name=phone]:checked");
    if (!picked) return;
    refusal.replaceChildren();
    delete refusal.dataset.rule;
    const started = await busy($("start-call"), () => api("POST", "/api/calls",
      { account_ref: chosen.account_ref, phone: picked.value }));
    if (!started.ok) {
      if (started.status !== 401) showRefusal(started.data || {});
      return;
    }
    open(started.data.call);
    // The call takes the screen: the search stays, its results and the chosen account go until the next search.
    $("results").hidden = true;
    $("start-form").hidden = true;
    $("search-status").textContent = "";
    chosen = null;
    announce.textContent = `Call started to ${started.data.call.phone}. If you reach voicemail, read only the voicemail text.`;
    $("call-heading").focus();
  }

  // --- the call ------------------------------------------------------------------------------------------------

  function open(data) {
    if (!call || String(call.id) !== String(data.id)) {
      seen = new Set();
      warnings = [];
      offersShown = "";
      utterances.replaceChildren();
      fill($("suggestions"), el("li", { class: "muted", text: "Replies are suggested as the call goes on." }));
      for (const id of ["verify-message", "agreement-result", "dispute-result", "flag-result", "contact-result",
        "outcome-message", "end-error", "utterance-error"]) $(id).textContent = "";
      $("end-note").value = "";
    }
    history.replaceState(null, "", `/calls?call=${encodeURIComponent(data.id)}`);
    render(data);
  }

  function render(data) {
    call = data;
    $("call").hidden = false;
    const account = data.account || {};
    const zone = account.debtor ? account.debtor.timezone : "";
    $("call-debtor").textContent = data.debtor_name || data.account_ref;
    document.title = `Call with ${data.debtor_name || data.account_ref} – Collections console`;
    fill($("call-state"), data.ended_at
      ? [el("span", { class: "badge", text: "Ended" }), " ", time(data.ended_at),
        `: ${OUTCOMES[data.outcome] || words(data.outcome) || "no outcome"}, ${words(data.disposition) || "no disposition"}`]
      : [el("span", { class: "badge live", text: "On the call" }), " since ", time(data.started_at)]);
    dl($("call-facts"), [
      ["Number", el("span", { class: "strong", "data-testid": "call-phone", text: data.phone })],
      ["Debtor's local time", el("span", { "data-testid": "debtor-local-time", text: localTime(data.debtor_local_time, zone) })],
      ["Account", data.account_ref],
      ["Balance", account.balance ? money(account.balance, account.currency) : "–"],
      ["Agent", data.agent === me.login ? `you (${me.login})` : data.agent],
    ]);
    for (const button of document.querySelectorAll(".outcome-button")) {
      button.setAttribute("aria-pressed", String(button.dataset.outcome === data.outcome));
    }
    $("voicemail-text").textContent = data.voicemail || "";
    $("voicemail-box").hidden = !data.voicemail;
    renderChecklist(data.checklist || {});
    for (const u of data.utterances || []) showUtterance(u);
    warnings = [];
    addWarnings(chronological(data), { quiet: true });
    renderOffers(data.offers, account.currency);
    renderAccount(account);
    if (data.outcome) $("end-outcome").value = data.outcome;
    if (data.disposition) $("end-disposition").value = data.disposition;
    const ended = Boolean(data.ended_at);
    for (const control of $("call").querySelectorAll("button, input, select, textarea")) control.disabled = ended;
    $("calls-summary").textContent = ended ? "The call has ended. Find the next account above."
      : `On the call with ${data.debtor_name || data.account_ref}.`;
  }

  async function reload() {
    if (!call) return;
    const loaded = await api("GET", `/api/calls/${encodeURIComponent(call.id)}`);
    if (loaded.ok) render(loaded.data.call);
  }

  // --- the checklist ----------------------------------------------------------------------------------------

  function renderChecklist(checklist) {
    for (const item of CHECKS) {
      const done = Boolean(checklist[item]);
      const row = $(`check-${item}`);
      row.dataset.done = String(done);
      fill($(`check-${item}-state`), el("span", { class: done ? "badge ok" : "badge warn", text: done ? "Done" : "Not yet" }));
      const tick = $(`tick-${item}`);
      if (tick) tick.hidden = done;
    }
    $("verify-form").hidden = Boolean(checklist.verified);
  }

  async function tick(item, button) {
    const ticked = await busy(button, () => api("POST", `/api/calls/${call.id}/checklist`, { item }));
    $("checklist-error").textContent = ticked.ok ? "" : failure(ticked, "The checklist could not be updated.");
    if (ticked.ok) render(ticked.data.call);
  }

  // --- what is said --------------------------------------------------------------------------------------

  function utteranceKey(u) {
    const at = u.at ? new Date(u.at).getTime() : "";
    return [u.speaker, at, u.text || ""].join("\u0000");
  }

  function chip(code) {
    const slip = AGENT_SLIPS.has(code);
    return el("span", { class: `chip ${slip ? "slip" : "warning"}`, "data-code": code, text: sentence(code) });
  }

  function showUtterance(u) {
    const key = utteranceKey(u);
    if (seen.has(key)) return;
    seen.add(key);
    const codes = u.warnings || [];
    // The model reads the debtor's words; what it makes of the collector's own is noise on this screen.
    const intent = u.speaker === "debtor" && u.intent ? (u.intent === "nlu_fallback" ? "unclear" : words(u.intent)) : "";
    utterances.append(el("div", {
      class: `utterance from-${u.speaker}`, "data-speaker": u.speaker, "data-testid": "utterance",
      "data-source": u.source || "",
    },
    el("p", { class: "meta" }, el("span", { class: "sender", text: speakerLabel(u) }), " ", time(u.at),
      u.source === "transcription" ? el("span", { class: "source", text: " · from the line" }) : null),
    el("p", { class: "text", text: u.text || "" }),
    intent || codes.length ? el("p", { class: "chips" },
      intent ? el("span", { class: "chip intent", "data-intent": u.intent, text: `Intent: ${intent}` }) : null,
      codes.map(chip)) : null));
    utterances.scrollTop = utterances.scrollHeight;
  }

  function applyAssist(payload) {
    if (payload.utterance) {
      showUtterance(payload.utterance);
      if (call) call.utterances = [...(call.utterances || []), payload.utterance];
    }
    if (payload.checklist) {
      renderChecklist(payload.checklist);
      if (call) call.checklist = payload.checklist;
    }
    if (payload.warning_details && payload.warning_details.length) {
      addWarnings(payload.warning_details);
      if (call) call.warnings_raised = [...(call.warnings_raised || []), ...payload.warning_details];
    }
    if ("offers" in payload) {
      if (call) call.offers = payload.offers;
      renderOffers(payload.offers, call && call.account ? call.account.currency : undefined);
    }
    if (payload.suggestions) renderSuggestions(payload.suggestions);
  }

  async function sendUtterance() {
    const error = $("utterance-error");
    const text = utteranceBox.value.trim();
    error.textContent = "";
    utteranceBox.removeAttribute("aria-invalid");
    if (!call || !text) {
      if (!text) {
        error.textContent = "Type what was said.";
        utteranceBox.setAttribute("aria-invalid", "true");
      }
      utteranceBox.focus();
      return;
    }
    const speaker = $("utterance-form").querySelector("input[name=speaker]:checked").value;
    const answered = await busy($("utterance-send"), () => api("POST", "/api/assist",
      { call_id: String(call.id), account_ref: call.account_ref, speaker, text }));
    if (answered.ok) {
      utteranceBox.value = "";
      applyAssist(answered.data);
    } else if (answered.status !== 401) {
      error.textContent = failure(answered, "What was said could not be sent.");
      utteranceBox.setAttribute("aria-invalid", "true");
    }
    utteranceBox.focus();
  }

  // --- warnings ----------------------------------------------------------------------------------------

  /** The call's warnings in the order they were raised (by the utterances that raised them), so that the newest
      comes first on the screen after a reload too. */
  function chronological(data) {
    const details = new Map((data.warnings_raised || []).map((w) => [w.code, w]));
    const ordered = [...details.values()].filter((w) => !(data.utterances || []).some((u) => (u.warnings || []).includes(w.code)));
    for (const u of data.utterances || []) {
      for (const code of u.warnings || []) if (details.has(code)) ordered.push(details.get(code));
    }
    return ordered;
  }

  function addWarnings(details, options) {
    const fresh = [];
    for (const w of details) {
      if (!w || !w.code) continue;
      warnings = [w, ...warnings.filter((known) => known.code !== w.code)];
      fresh.push(w);
    }
    fill($("warnings"), warnings.length ? warnings.map((w) => {
      const slip = AGENT_SLIPS.has(w.code);
      return el("li", { class: `warning-item ${slip ? "slip" : "heard"}`, "data-code": w.code, "data-testid": "warning" },
        el("p", { class: "warning-title" },
          el("span", { class: "warning-kind", text: slip ? "Your slip" : "Debtor" }), " ",
          el("strong", { text: w.title || sentence(w.code) })),
        el("p", { class: "warning-action" }, el("span", { class: "visually-hidden", text: "What to do: " }), w.action || ""));
    }) : el("li", { class: "muted none", text: "No warnings on this call." }));
    if (fresh.length && !(options && options.quiet)) {
      $("warnings-alert").textContent = `Warning: ${fresh.map((w) => w.title || sentence(w.code)).join("; ")}`;
    }
  }

  // --- offers and agreements -------------------------------------------------------------------------------

  function recordButton(label, extra, terms, testid) {
    return el("button", {
      type: "button", class: "record", "data-testid": testid,
      "data-amount": terms.amount || terms.monthly || "",
      onclick: (event) => agree(terms, event.currentTarget),
    }, label, extra ? el("span", { class: "record-extra", text: extra }) : null);
  }

  function renderOffers(offers, currency) {
    const drawn = JSON.stringify(offers || null);
    if (drawn === offersShown) return;
    offersShown = drawn;
    const box = $("offers");
    if (!offers) {
      fill(box, el("p", { class: "muted", "data-testid": "no-offers",
        text: "Nothing may be offered yet: offers appear once the debtor is verified, and not while a hold or a warning stops talk of the debt." }));
      return;
    }
    const c = offers.currency || currency;
    const ladder = offers.settlement_ladder || [];
    const plans = offers.plans || [];
    const promiseDate = el("input", { id: "promise-date", type: "date", max: offers.promise_latest || null });
    const promiseAmount = el("input", { id: "promise-amount", type: "text", inputmode: "decimal", autocomplete: "off" });
    const otherAmount = el("input", { id: "settlement-other", type: "text", inputmode: "decimal", autocomplete: "off",
      "aria-describedby": "settlement-other-hint" });
    fill(box,
      el("p", { class: "offers-tier" }, "At the ", el("strong", { text: offers.tier }), " tier, on a balance of ",
        el("strong", { class: "amount", text: money(offers.balance, c) }), "."),
      el("h3", { text: "Settlement" }),
      ladder.length ? el("ul", { class: "ladder-buttons", "data-testid": "settlement-ladder" }, ladder.map((step) => el("li", {},
        recordButton(`Record settlement ${money(step.amount, c)}`, ` (${step.discount_pct}% off)`,
          { kind: "settlement", amount: step.amount }, "record-settlement"))))
        : el("p", { class: "muted", text: "No settlement at your tier." }),
      offers.settlement_floor ? el("p", { class: "hint", text: `Lowest you may agree: ${money(offers.settlement_floor, c)}.` }) : null,
      el("form", { class: "inline-form", novalidate: true, onsubmit: (event) => {
        event.preventDefault();
        const amount = otherAmount.value.trim().replace(/[$£€,\s]/g, "");
        if (amount) agree({ kind: "settlement", amount }, event.submitter || event.target.querySelector("button"));
        else otherAmount.focus();
      } },
      el("label", { for: "settlement-other", text: "Another settlement amount" }),
      el("div", { class: "send-row" }, otherAmount, el("button", { type: "submit", class: "secondary", text: "Record" })),
      el("p", { class: "hint", id: "settlement-other-hint", text: "Beyond your tier it goes to a supervisor for approval." })),
      el("h3", { text: "Payment plans" }),
      plans.length ? el("ul", { class: "ladder-buttons", "data-testid": "plans" }, plans.map((plan) => el("li", {},
        recordButton(`Record plan: ${plan.months} × ${money(plan.monthly, c)}`,
          plan.first_due ? ` (first due ${plan.first_due})` : "",
          { kind: "plan", months: plan.months, ...(plan.first_due ? { first_due: plan.first_due } : {}) }, "record-plan"))))
        : el("p", { class: "muted", text: "When the debtor names a monthly amount, the nearest plans appear here." }),
      el("h3", { text: "Promise to pay" }),
      el("p", { "data-testid": "promise-latest" }, "A promise may be dated up to ",
        el("strong", { text: offers.promise_latest || "–" }), "."),
      el("form", { class: "inline-form promise-form", novalidate: true, onsubmit: (event) => {
        event.preventDefault();
        const amount = promiseAmount.value.trim().replace(/[$£€,\s]/g, "");
        if (!amount) { promiseAmount.focus(); return; }
        agree({ kind: "promise", amount, ...(promiseDate.value ? { pay_on: promiseDate.value } : {}) },
          event.submitter || event.target.querySelector("button"));
      } },
      el("div", { class: "two" },
        el("div", {}, el("label", { for: "promise-amount", text: "Amount" }), promiseAmount),
        el("div", {}, el("label", { for: "promise-date", text: "Pay on" }), promiseDate)),
      el("button", { type: "submit", class: "secondary", text: "Record promise" })),
      el("h3", { text: "Needs a supervisor" }),
      el("p", { "data-testid": "needs-supervisor", text: offers.needs_supervisor || "Nothing beyond the terms above can be agreed." }),
      offers.supervisor_floor ? el("p", { class: "hint", text: `A supervisor may approve a settlement down to ${money(offers.supervisor_floor, c)}.` }) : null);
    if (call && call.ended_at) for (const control of box.querySelectorAll("button, input")) control.disabled = true;
  }

  async function agree(terms, button) {
    const outcome = $("agreement-result");
    say(outcome, "Recording…");
    const done = await busy(button, () => api("POST", `/api/calls/${call.id}/agreements`, terms));
    const d = done.data || {};
    if (!done.ok) {
      say(outcome, `Not recorded: ${failure(done, "the terms could not be recorded")}`, "refused");
      return;
    }
    if (d.result === "recorded") say(outcome, `Recorded: ${d.summary || sentence(terms.kind)}`, "recorded");
    else if (d.result === "approval_requested") {
      say(outcome, `Sent to a supervisor for approval${(d.problems || []).length ? ` (beyond your authority: ${d.problems.join("; ")})` : ""}.`,
        "approval_requested");
    }
    if (d.call) render(d.call);
    reload(); // the account as a fresh read gives it: the new agreement in its list
  }

  // --- suggested replies -----------------------------------------------------------------------------

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (error) {
      const scratch = el("textarea", { class: "visually-hidden", "aria-hidden": "true", tabindex: "-1" });
      scratch.value = text;
      document.body.append(scratch);
      scratch.select();
      let copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (ignored) {
        copied = false;
      }
      scratch.remove();
      return copied;
    }
  }

  function renderSuggestions(list) {
    fill($("suggestions"), list.length ? list.map((text, index) => el("li", { class: "suggestion", "data-testid": "suggestion" },
      el("p", { class: "suggestion-text", text }),
      el("button", { type: "button", class: "secondary copy", onclick: async (event) => {
        const button = event.currentTarget;
        const copied = await copy(text);
        $("copy-status").textContent = copied ? `Reply ${index + 1} copied.` : "Could not copy: select the text instead.";
        button.textContent = copied ? "Copied" : "Copy";
        button.append(el("span", { class: "visually-hidden", text: ` reply ${index + 1}` }));
      } }, "Copy", el("span", { class: "visually-hidden", text: ` reply ${index + 1}` }))))
      : el("li", { class: "muted", text: "No reply to suggest." }));
  }

  // --- the account -------------------------------------------------------------------------------------------

  function agreementLines(a) {
    const c = a.currency;
    const who = (x) => `authorised by ${x.authorized_by} (${x.authorized_actor || "–"})${x.requested_by ? `, requested by ${x.requested_by}` : ""}`;
    return [
      ...(a.settlements || []).map((s) => el("li", { class: `status-${s.status}` }, el("strong", { text: "Settlement " }),
        `${s.status}: ${money(s.amount, c)} (${s.discount_pct}% off) by ${s.pay_by}, ${who(s)}`)),
      ...(a.plans || []).map((p) => el("li", { class: `status-${p.status}` }, el("strong", { text: "Plan " }),
        `${p.status}: ${money(p.total, c)} in ${(p.installments || []).length} instalments, ${who(p)}`)),
      ...(a.promises || []).map((p) => el("li", { class: `status-${p.status}` }, el("strong", { text: "Promise " }),
        `${p.status}: ${money(p.amount, c)} on ${p.pay_on}, ${who(p)}`)),
    ];
  }

  function renderAccount(a) {
    const box = $("call-account");
    if (!a || !a.account_ref) {
      fill(box, el("p", { class: "muted", text: "The account could not be shown." }));
      return;
    }
    const c = a.currency;
    const flags = Object.entries(a.flags || {}).filter(([, on]) => on).map(([name]) => words(name));
    const open = (a.disputes || []).filter((d) => d.status === "open");
    const agreements = agreementLines(a);
    const facts = dl(el("dl", { class: "facts" }), [
      ["Reference", a.account_ref],
      ["Status", words(a.status)],
      ["Balance", el("span", { class: "amount strong", "data-testid": "call-balance", text: money(a.balance, c) })],
      ["Creditor", a.creditor ? a.creditor.name : ""],
      ["Original creditor", a.original_creditor || "–"],
      ["Holds", flags.length || open.length
        ? [...flags.map((f) => el("span", { class: "badge hold", text: f })),
          ...open.map((d) => el("span", { class: "badge hold", text: `dispute ${d.reference}` }))] : "none"],
      ["Dispute period ends", a.validation_ends_on],
    ]);
    fill(box, facts,
      el("h3", { text: "Agreements" }),
      agreements.length ? el("ul", { class: "agreements", "data-testid": "call-agreements" }, agreements)
        : el("p", { class: "muted", "data-testid": "call-agreements", text: "No agreements." }),
      el("h3", { text: "Contact points" }),
      (a.contact_points || []).length ? el("ul", { class: "contact-points" }, a.contact_points.map((p) => el("li", {},
        `${p.kind}: ${p.value} (${p.status}${p.verified ? ", verified" : ""})`)))
        : el("p", { class: "muted", text: "None on file." }));
  }

  // --- actions -----------------------------------------------------------------------------------------

  async function action(path, body, button, node, success) {
    say(node, "Saving…");
    const done = await busy(button, () => api("POST", `/api/calls/${call.id}/${path}`, body));
    if (!done.ok) {
      say(node, `Not done: ${failure(done, "the server refused it")}`, "refused");
      return null;
    }
    say(node, success(done.data), "recorded");
    if (done.data.call) render(done.data.call);
    reload(); // a fresh read of the account: its holds, flags and contact points after the change
    return done.data;
  }

  $("dispute-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await action("dispute", { reason: $("dispute-reason").value, details: $("dispute-details").value },
      $("open-dispute"), $("dispute-result"),
      (d) => `Dispute ${d.reference || ""} opened: collection is paused until it is resolved.`);
    if (done) $("dispute-details").value = "";
  });

  $("flag-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const flag = $("flag-kind").value;
    action("flags", { flag }, $("set-flag"), $("flag-result"),
      () => `Flag set: ${words(flag)}. Say nothing more about the debt on this call.`);
  });

  $("contact-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("contact-value");
    if (!value.value.trim()) {
      value.setAttribute("aria-invalid", "true");
      value.focus();
      return;
    }
    value.removeAttribute("aria-invalid");
    const done = await action("contact-points", { kind: $("contact-kind").value, value: value.value.trim() },
      $("add-contact"), $("contact-result"),
      (d) => ((d.added || []).length ? `Added: ${d.added.map((x) => (typeof x === "string" ? x : x.value || JSON.stringify(x))).join(", ")}.`
        : "Already on file: nothing added."));
    if (done) value.value = "";
  });

  for (const button of document.querySelectorAll(".outcome-button")) {
    button.addEventListener("click", async () => {
      const outcome = button.dataset.outcome;
      const done = await action("outcome", { outcome }, button, $("outcome-message"),
        () => `Outcome: ${OUTCOMES[outcome]}.`);
      if (done) $("end-outcome").value = outcome;
    });
  }

  for (const item of ["disclosure_given", "validation_notice"]) {
    $(`tick-${item}`).addEventListener("click", (event) => tick(item, event.currentTarget));
  }

  $("verify-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = $("verify-message");
    const reference = $("verify-reference").value.trim();
    const dob = $("verify-dob").value;
    if (!reference || !dob) {
      say(message, "Enter the reference and the date of birth the debtor gives.", "refused");
      (reference ? $("verify-dob") : $("verify-reference")).focus();
      return;
    }
    const checked = await busy($("verify"), () => api("POST", `/api/calls/${call.id}/verify`,
      { reference, date_of_birth: dob }));
    if (!checked.ok) {
      say(message, failure(checked, "The identity could not be checked."), "refused");
      return;
    }
    say(message, checked.data.message || (checked.data.verified ? "Verified." : "Not verified."),
      checked.data.verified ? "recorded" : "refused");
    if (checked.data.call) render(checked.data.call);
    if (checked.data.verified) utteranceBox.focus();
  });

  // --- the end of the call -----------------------------------------------------------------------------------

  $("draft-summary").addEventListener("click", async (event) => {
    const drafted = await busy(event.currentTarget, () => api("GET", `/api/calls/${call.id}/summary`));
    if (!drafted.ok) {
      $("end-error").textContent = failure(drafted, "The summary could not be drafted.");
      return;
    }
    $("end-error").textContent = "";
    $("end-note").value = drafted.data.draft || "";
    $("end-note").focus();
  });

  $("end-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ended = await busy($("end-call"), () => api("POST", `/api/calls/${call.id}/end`, {
      outcome: $("end-outcome").value, disposition: $("end-disposition").value, note: $("end-note").value,
    }));
    if (!ended.ok) {
      $("end-error").textContent = failure(ended, "The call could not be ended.");
      return;
    }
    $("end-error").textContent = "";
    render(ended.data.call);
    announce.textContent = "Call ended; the summary is saved as a note on the account.";
    $("start-form").hidden = true;
    $("search").focus();
  });

  // --- wiring ------------------------------------------------------------------------------------------

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search($("search").value);
  });

  $("start-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startCall();
  });

  $("utterance-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendUtterance();
  });

  connect("/api/events", {
    assist: (payload) => {
      if (call && String(payload.call_id) === String(call.id)) applyAssist(payload);
    },
  }, () => reload());

  const reopen = new URLSearchParams(window.location.search).get("call");
  if (reopen && /^\d{1,16}$/.test(reopen)) {
    api("GET", `/api/calls/${reopen}`).then((loaded) => {
      if (loaded.ok) open(loaded.data.call);
      else if (loaded.status !== 401) announce.textContent = failure(loaded, "That call could not be opened.");
    });
  } else {
    $("search").focus();
  }
})();
