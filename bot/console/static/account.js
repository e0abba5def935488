/* An account: where it stands, its payments, and each agreement as a picture on a time line (SVG built node by
   node: the page enforces Trusted Types, nothing is ever parsed as markup) with the same facts in a table beside
   it. A plan's instalments, or a settlement's or promise's one date, are marks whose shape and colour say their
   state (due: hollow circle; paid: green disc with a tick; late: amber diamond; missed: red square with a cross);
   the grace window after each unpaid due date is a band, today a dashed line, payments received ticks under the
   axis. `/accounts` alone is the finder. */
"use strict";

(function () {
  const { el, fill, api, money, words, sentence } = window.Console;
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const DAY = 86400000;

  const page = $("account-page");
  const ref = page.dataset.accountRef || "";
  const failure = $("account-error");
  const summary = $("account-summary");

  // --- small helpers -------------------------------------------------------------------------------------

  /** An SVG element with attributes and children (strings become text nodes). */
  function svg(tag, attributes, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.setAttribute("class", value);
      else if (name === "dataset") Object.entries(value).forEach(([k, v]) => node.setAttribute(`data-${k}`, String(v)));
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Days since 1970 of an ISO date ("2026-10-16", or the date of a date-time). */
  function dayOf(iso) {
    if (!iso) return null;
    const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
    return Math.floor(Date.UTC(y, m - 1, d) / DAY);
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
  const monthFormat = new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" });
  const dayText = (day) => (day === null ? "–" : dateFormat.format(new Date(day * DAY)));
  const dateText = (iso) => dayText(dayOf(iso));

  function dl(pairs) {
    return el("dl", { class: "facts" }, pairs.filter(Boolean).map(([term, value]) => [el("dt", { text: term }), el("dd", {}, value)]));
  }

  function apiPath(reference) {
    return `/api/accounts/${reference.split("/").map(encodeURIComponent).join("/")}`;
  }

  function accountPath(reference) {
    return `/accounts/${reference.split("/").map(encodeURIComponent).join("/")}`;
  }

  // --- the states of a mark ------------------------------------------------------------------------------

  // How a state looks: the instalment's status, or a settlement's or promise's.
  const LOOKS = {
    scheduled: "due", due: "due", pending: "due",
    paid: "paid", kept: "paid", completed: "paid",
    late: "late",
    missed: "missed", broken: "missed",
    cancelled: "void", superseded: "void",
  };
  const LOOK_WORDS = {
    due: "Due, not yet paid",
    paid: "Paid",
    late: "Late: unpaid, within the grace window",
    missed: "Missed: unpaid after the grace window",
    void: "No longer owed: the agreement ended",
  };
  const STATUS_WORDS = {
    scheduled: "not yet due", due: "due today", pending: "pending", paid: "paid", kept: "kept", late: "late",
    missed: "missed", broken: "broken", cancelled: "cancelled", superseded: "superseded", completed: "completed",
    active: "active",
  };
  const IN_FORCE = new Set(["active", "pending"]);

  /** The mark of one state at (x, y), radius r: shape and colour both say the state. */
  function markShape(look, x, y, r) {
    const t = r * 0.5;
    if (look === "paid") {
      return [svg("circle", { class: "shape", cx: x, cy: y, r }),
        svg("path", { class: "glyph", d: `M${x - t} ${y} L${x - t * 0.2} ${y + t * 0.8} L${x + t} ${y - t * 0.7}` })];
    }
    if (look === "late") {
      return [svg("path", { class: "shape", d: `M${x} ${y - r * 1.2} L${x + r * 1.2} ${y} L${x} ${y + r * 1.2} L${x - r * 1.2} ${y} Z` })];
    }
    if (look === "missed") {
      return [svg("rect", { class: "shape", x: x - r, y: y - r, width: 2 * r, height: 2 * r, rx: 1.5 }),
        svg("path", { class: "glyph", d: `M${x - t} ${y - t} L${x + t} ${y + t} M${x + t} ${y - t} L${x - t} ${y + t}` })];
    }
    return [svg("circle", { class: "shape", cx: x, cy: y, r: r - 1 })]; // due and void: hollow
  }

  /** The key to the pictures, once for the page: each look, the grace window, today, a payment. */
  function legend(graceDays) {
    const swatch = (...children) => svg("svg", { class: "swatch", viewBox: "0 0 24 24", width: 24, height: 24,
      "aria-hidden": "true", focusable: "false" }, children);
    const items = ["due", "paid", "late", "missed", "void"].map((look) => el("li", {},
      swatch(svg("g", { class: `mark look-${look}` }, markShape(look, 12, 12, 8))), LOOK_WORDS[look]));
    items.push(el("li", {}, swatch(svg("rect", { class: "grace", x: 1, y: 6, width: 22, height: 12 })),
      `Grace window: ${graceDays} day${graceDays === 1 ? "" : "s"} after a due date`));
    items.push(el("li", {}, swatch(svg("line", { class: "today", x1: 12, y1: 1, x2: 12, y2: 23 })), "Today (the debtor's date)"));
    items.push(el("li", {}, swatch(svg("path", { class: "payment", d: "M12 5 L18 17 L6 17 Z" })), "Payment received"));
    fill($("legend"), items);
  }

  // --- the agreements --------------------------------------------------------------------------------------

  /** Every agreement of the account, those in force first, then the latest first; each with its marks. */
  function agreementsOf(a) {
    const found = [];
    (a.plans || []).forEach((p) => {
      const marks = (p.installments || []).map((i, n) => ({
        label: `Instalment ${n + 1}`, day: dayOf(i.due_on), amount: i.amount, status: i.status,
        paid: i.paid, paidOn: i.paid_on, grace: true,
      }));
      const count = marks.length;
      found.push({
        kind: "plan", status: p.status, start: dayOf(p.created_at) ?? (marks[0] && marks[0].day), ended: dayOf(p.ended_on),
        endReason: p.end_reason, marks,
        title: `Payment plan: ${count} instalment${count === 1 ? "" : "s"}, ${money(p.total, a.currency)} in all`,
        who: p,
      });
    });
    (a.settlements || []).forEach((s) => found.push({
      kind: "settlement", status: s.status, start: dayOf(s.pay_by), ended: dayOf(s.ended_on), marks: [{
        label: "Settlement", day: dayOf(s.pay_by), amount: s.amount, status: s.status, grace: false,
      }], title: `Settlement: ${money(s.amount, a.currency)} by ${dateText(s.pay_by)} (${s.discount_pct}% off)`, who: s,
    }));
    (a.promises || []).forEach((p) => found.push({
      kind: "promise", status: p.status, start: dayOf(p.pay_on), ended: dayOf(p.ended_on), marks: [{
        label: "Promise", day: dayOf(p.pay_on), amount: p.amount, status: p.status, grace: false,
      }], title: `Promise to pay ${money(p.amount, a.currency)} on ${dateText(p.pay_on)}`, who: p,
    }));
    const last = (g) => Math.max(...g.marks.map((m) => m.day ?? 0), g.start ?? 0);
    return found.sort((x, y) => (IN_FORCE.has(y.status) - IN_FORCE.has(x.status)) || last(y) - last(x));
  }

  /** The look of a mark: its state, and "void" for what an ended plan no longer asks. */
  function lookOf(agreement, mark) {
    const look = LOOKS[mark.status] || "due";
    return look === "due" && !IN_FORCE.has(agreement.status) ? "void" : look;
  }

  /** The time line of one agreement as an SVG picture (role img, labelled with its summary in words). */
  function timeline(agreement, a, index) {
    const { today, grace_days: grace } = a.timeline;
    const todayDay = dayOf(today);
    const days = agreement.marks.map((m) => m.day).filter((d) => d !== null);
    if (!days.length) return null;
    const graceOf = (m) => (m.grace ? grace : 0);
    let first = Math.min(...days, agreement.start ?? days[0]);
    let last = Math.max(...agreement.marks.map((m) => m.day + graceOf(m)));
    // Today is shown when it is near: an agreement in force, or one that ended in the last four months.
    const showToday = IN_FORCE.has(agreement.status) || (todayDay - last <= 120 && todayDay >= first - 120);
    if (showToday) {
      first = Math.min(first, todayDay);
      last = Math.max(last, todayDay);
    }
    const pad = Math.max(4, Math.round((last - first) * 0.04));
    first -= pad;
    last += pad;
    const W = 960, LEFT = 24, RIGHT = 24, MARK_Y = 44, AXIS_Y = 72, H = 112;
    const x = (day) => LEFT + ((day - first) / Math.max(1, last - first)) * (W - LEFT - RIGHT);
    const sorted = [...days].sort((p, q) => p - q);
    const gaps = sorted.slice(1).map((d, i) => x(d) - x(sorted[i]));
    const r = Math.max(3, Math.min(8, gaps.length ? Math.min(...gaps) / 2.6 : 8));

    const layers = { bands: [], marks: [], ticks: [], payments: [], today: [] };
    const payments = (a.payments || []).filter((p) => dayOf(p.paid_on) >= first && dayOf(p.paid_on) <= last);

    // The axis, and the first of each month on it (every few months when there are many).
    const months = [];
    const from = new Date(first * DAY);
    let cursor = Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1);
    while (cursor / DAY <= last) {
      months.push(cursor / DAY);
      const c = new Date(cursor);
      cursor = Date.UTC(c.getUTCFullYear(), c.getUTCMonth() + 1, 1);
    }
    const step = Math.max(1, Math.ceil(months.length / 12));
    months.forEach((day, n) => {
      layers.ticks.push(svg("line", { class: "tick", x1: x(day), y1: AXIS_Y, x2: x(day), y2: AXIS_Y + 5 }));
      if (n % step === 0) {
        layers.ticks.push(svg("text", { class: "month", x: x(day), y: AXIS_Y + 30, "text-anchor": "middle" },
          monthFormat.format(new Date(day * DAY))));
      }
    });

    agreement.marks.forEach((m) => {
      const look = lookOf(agreement, m);
      if (m.grace && grace > 0 && look !== "paid" && look !== "void") {
        layers.bands.push(svg("rect", { class: "grace", x: x(m.day), y: MARK_Y - 12, width: Math.max(1, x(m.day + grace) - x(m.day)),
          height: 24, dataset: { testid: "grace" } }));
      }
      const when = m.paidOn ? `, paid ${dateText(m.paidOn)}` : "";
      layers.marks.push(svg("g", {
        class: `mark look-${look}`, dataset: { testid: "mark", status: m.status, look, due: dayText(m.day) },
      }, svg("title", {}, `${m.label}: ${money(m.amount, a.currency)} due ${dayText(m.day)}, ${STATUS_WORDS[m.status] || words(m.status)}${when}`),
      markShape(look, x(m.day), MARK_Y, r)));
    });

    payments.forEach((p) => {
      const px = x(dayOf(p.paid_on));
      layers.payments.push(svg("path", { class: "payment", d: `M${px} ${AXIS_Y + 2} L${px + 5} ${AXIS_Y + 12} L${px - 5} ${AXIS_Y + 12} Z`,
        dataset: { testid: "payment-tick" } }, svg("title", {}, `Payment of ${money(p.amount, a.currency)} received ${dateText(p.paid_on)} (${p.reference})`)));
    });

    if (showToday) {
      const tx = x(todayDay);
      const anchor = tx < LEFT + 30 ? "start" : tx > W - RIGHT - 30 ? "end" : "middle";
      layers.today.push(svg("line", { class: "today", x1: tx, y1: 18, x2: tx, y2: AXIS_Y + 14, dataset: { testid: "today" } }),
        svg("text", { class: "today-label", x: tx, y: 13, "text-anchor": anchor }, "Today"));
    }

    const counts = {};
    agreement.marks.forEach((m) => { const look = lookOf(agreement, m); counts[look] = (counts[look] || 0) + 1; });
    const countWords = ["paid", "late", "missed", "due", "void"].filter((k) => counts[k])
      .map((k) => `${counts[k]} ${{ paid: "paid", late: "late", missed: "missed", due: "due, not yet paid", void: "no longer owed" }[k]}`);
    const span = days.length > 1 ? `from ${dayText(sorted[0])} to ${dayText(sorted[sorted.length - 1])}` : `on ${dayText(sorted[0])}`;
    const label = `Time line of the ${agreement.kind} (${STATUS_WORDS[agreement.status] || words(agreement.status)}): `
      + `${agreement.marks.length === 1 ? "one payment due" : `${agreement.marks.length} instalments due`} ${span}; `
      + `${countWords.join(", ")}; ${payments.length} payment${payments.length === 1 ? "" : "s"} received in this stretch`
      + `${showToday ? `; today is ${dayText(todayDay)}` : ""}.`;

    return svg("svg", {
      class: "timeline", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, focusable: "false",
      preserveAspectRatio: "xMidYMid meet", dataset: { testid: "timeline", kind: agreement.kind, index },
    },
    svg("line", { class: "axis", x1: LEFT, y1: AXIS_Y, x2: W - RIGHT, y2: AXIS_Y }),
    layers.ticks, layers.bands, layers.today, layers.payments, layers.marks);
  }

  /** The same facts as the picture, as a table. */
  function factsTable(agreement, a, index) {
    const grace = a.timeline.grace_days;
    const head = ["What", "Due", "Amount", "State", "Paid", "Paid on"];
    if (agreement.kind === "plan") head.push("Grace ends");
    const rows = agreement.marks.map((m) => {
      const look = lookOf(agreement, m);
      const cells = [
        el("th", { scope: "row", text: m.label }),
        el("td", { text: dayText(m.day) }),
        el("td", { class: "amount", text: money(m.amount, a.currency) }),
        el("td", {}, el("span", { class: `state look-${look}`, text: sentence(STATUS_WORDS[m.status] || m.status) }),
          look === "void" && m.status !== "cancelled" && m.status !== "superseded" ? " (no longer owed)" : null),
        el("td", { class: "amount", text: m.paid !== undefined ? money(m.paid, a.currency) : "–" }),
        el("td", { text: m.paidOn ? dateText(m.paidOn) : "–" }),
      ];
      if (agreement.kind === "plan") cells.push(el("td", { text: dayText(m.day + grace) }));
      return el("tr", { dataset: { status: m.status } }, cells);
    });
    return el("div", { class: "table-wrap" }, el("table", { class: "small timeline-table", "data-testid": "timeline-table", id: `timeline-table-${index}` },
      el("caption", { text: `${sentence(agreement.kind)}: what was due and what was paid` }),
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows)));
  }

  function agreementSection(agreement, a, index) {
    const who = agreement.who;
    const headingId = `agreement-${index}-heading`;
    const ended = agreement.ended !== null && agreement.ended !== undefined
      ? `${words(agreement.status)} on ${dayText(agreement.ended)}${agreement.endReason ? `: ${agreement.endReason}` : ""}` : null;
    const picture = timeline(agreement, a, index);
    return el("article", { class: `agreement agreement-${agreement.status}`, "aria-labelledby": headingId,
      "data-testid": "agreement", dataset: { kind: agreement.kind, status: agreement.status } },
    el("h3", { id: headingId }, agreement.title, " ",
      el("span", { class: `badge status-${agreement.status}`, text: STATUS_WORDS[agreement.status] || words(agreement.status) })),
    dl([
      ["Authorised by", `${who.authorized_by || "–"} (${who.authorized_actor || "–"})${who.requested_by ? `, requested by ${who.requested_by}` : ""}`],
      agreement.kind === "plan" && who.created_at ? ["Agreed", dateText(who.created_at)] : null,
      ended ? ["Ended", ended] : null,
    ]),
    picture ? el("figure", { class: "timeline-figure" }, picture) : el("p", { class: "muted", text: "No dates to draw." }),
    factsTable(agreement, a, index));
  }

  // --- the page ------------------------------------------------------------------------------------------

  function standing(a) {
    const flags = Object.entries(a.flags || {}).filter(([, on]) => on).map(([name]) => words(name));
    const c = a.currency;
    fill($("standing"),
      [["Debtor", a.debtor ? a.debtor.name : "–"],
        ["Status", el("span", { class: `badge status-${a.status}`, "data-testid": "account-status", text: words(a.status) })],
        ["Balance", el("span", { class: "amount strong", "data-testid": "account-balance", text: money(a.balance, c) })],
        ["Paid", el("span", { class: "amount", "data-testid": "account-paid", text: money(a.paid, c) })],
        ["Written off", el("span", { class: "amount", "data-testid": "account-written-off", text: money(a.written_off, c) })],
        ["Placed", `principal ${money(a.principal, c)}, interest ${money(a.interest, c)}, fees ${money(a.fees, c)}, on ${dateText(a.placed_on)}`],
        ["Creditor", a.creditor ? a.creditor.name : "–"],
        ["Original creditor", a.original_creditor || "–"],
        ["Holds", flags.length ? flags.map((f) => el("span", { class: "badge hold", text: f })) : "none"],
      ].map(([term, value]) => [el("dt", { text: term }), el("dd", {}, value)]));
  }

  function paymentsTable(a) {
    const list = a.payments || [];
    if (!list.length) return el("p", { class: "muted", "data-testid": "no-payments", text: "No payment has been received." });
    return el("div", { class: "table-wrap" }, el("table", { "data-testid": "payments-table" },
      el("caption", { text: `${list.length} payment${list.length === 1 ? "" : "s"} received, oldest first` }),
      el("thead", {}, el("tr", {}, ["Paid on", "Amount", "Reference"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, list.map((p) => el("tr", {},
        el("td", { text: dateText(p.paid_on) }), el("td", { class: "amount", text: money(p.amount, a.currency) }),
        el("td", { text: p.reference }))))));
  }

  function render(a) {
    $("account-body").hidden = false;
    summary.textContent = `${a.debtor ? a.debtor.name : ""} · ${words(a.status)} · balance ${money(a.balance, a.currency)}`;
    standing(a);
    legend(a.timeline.grace_days);
    const agreements = agreementsOf(a);
    fill($("agreements"), agreements.length ? agreements.map((g, n) => agreementSection(g, a, n))
      : el("p", { class: "muted", "data-testid": "no-agreements", text: "No agreement has been made on this account." }));
    fill($("payments"), paymentsTable(a));
  }

  async function load() {
    summary.textContent = "Loading the account…";
    const result = await api("GET", apiPath(ref));
    if (!result.ok) {
      if (result.status !== 401) {
        summary.textContent = "";
        failure.textContent = result.data.error || "The account could not be loaded.";
      }
      return;
    }
    failure.textContent = "";
    render(result.data);
  }

  // --- the finder --------------------------------------------------------------------------------------------

  async function find(query) {
    const status = $("account-find-status");
    const results = $("account-results");
    if (query.trim().length < 2) {
      status.textContent = "Type at least two characters.";
      return;
    }
    status.textContent = "Searching…";
    const result = await api("GET", `/api/accounts?q=${encodeURIComponent(query)}`);
    if (!result.ok) {
      status.textContent = result.data.error || "The search failed.";
      return;
    }
    const found = result.data.accounts || [];
    status.textContent = found.length ? `${found.length} account${found.length === 1 ? "" : "s"} found.` : "No account matches.";
    results.hidden = !found.length;
    fill(results, found.map((acc) => el("li", {}, el("a", { href: accountPath(acc.account_ref), "data-testid": "account-result" },
      el("span", { class: "result-name", text: acc.name }),
      el("span", { class: "result-ref", text: `${acc.account_ref} · ${words(acc.status)} · ${money(acc.balance, acc.currency)}` })))));
  }

  $("account-find").addEventListener("submit", (event) => {
    event.preventDefault();
    find($("account-query").value);
  });

  const legalForm = $("legal-form");
  if (legalForm) {
    legalForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = $("legal-status");
      status.textContent = "Moving the account to legal…";
      const result = await api("POST", "/api/legal", { account_ref: ref, note: $("legal-note").value });
      if (!result.ok) {
        status.textContent = result.data.error || "The account could not be moved to legal.";
        return;
      }
      const moved = result.data.moved;
      status.textContent = `Moved to legal: ${moved.why}. Case bundle: ${moved.files.join(", ")}.`;
      load();
    });
  }

  if (ref) load();
  else {
    summary.textContent = "Find an account to see its payments and the time line of each agreement.";
    $("account-query").focus();
  }
})();
