/* The queue: open and taken handoffs, oldest first, live from the server's event stream. The time each
   debtor has waited ticks here; past five minutes the row says so in words as well as in colour. The tab's
   title counts those waiting, and a new arrival is announced (and notified, if the person allowed it). */
"use strict";

(function () {
  const { el, fill, api, connect, money, waited, me, CHANNELS, sentence } = window.Console;
  const LONG_WAIT_MS = 5 * 60 * 1000;
  const TITLE = "Queue – Collections console";

  const rows = document.getElementById("queue-rows");
  const summary = document.getElementById("queue-summary");
  const empty = document.getElementById("queue-empty");
  const announce = document.getElementById("queue-announce");
  const failure = document.getElementById("queue-error");
  const notifyButton = document.getElementById("enable-notifications");

  let known = null; // ids of the open handoffs already seen (null: nothing loaded yet)

  function verification(item) {
    if (item.verified) return el("span", { class: "badge ok", text: `Verified (${item.verified_by || "yes"})` });
    return el("span", { class: "badge warn", text: "Not verified" });
  }

  function status(item) {
    if (item.status === "open") return el("span", { class: "badge open", text: "Waiting" });
    const who = item.assigned_to === me.login ? "you" : item.assigned_to;
    return el("span", { class: "badge taken", text: `Taken by ${who}` });
  }

  function action(item) {
    if (item.status === "open") {
      return el("button", {
        type: "button", class: "take", "data-testid": "take", "data-handoff-id": item.id,
        onclick: (event) => take(item, event.currentTarget),
      }, "Take");
    }
    if (item.assigned_to === me.login || me.role === "supervisor") {
      return el("a", { href: `/handoffs/${item.id}`, class: "open-link", "data-testid": "open" },
        "Open", el("span", { class: "visually-hidden", text: ` conversation ${item.id}` }));
    }
    return el("span", { class: "muted", text: "–" });
  }

  function waitedCell(item) {
    const since = item.created_at;
    const cell = el("td", { class: "waited", "data-since": since });
    tick(cell);
    return cell;
  }

  function tick(cell) {
    const since = cell.dataset.since;
    const long = Date.now() - new Date(since).getTime() >= LONG_WAIT_MS;
    cell.classList.toggle("long-wait", long);
    fill(cell, el("span", { class: "duration", text: waited(since) }),
      long ? el("span", { class: "badge long", text: "over 5 min" }) : null);
  }

  function row(item) {
    const reasons = [sentence(item.reason), ...(item.later_reasons || []).map((r) => `then ${r.replace(/_/g, " ")}`)];
    const debtor = item.account_ref
      ? [el("span", { class: "name", text: item.debtor_name || "" }), el("span", { class: "ref", text: item.account_ref })]
      : el("span", { class: "muted", text: "Not identified" });
    return el("tr", {
      "data-handoff-id": item.id, "data-testid": "queue-row", "data-status": item.status,
      class: item.status === "open" ? "row-open" : "row-taken",
    },
    waitedCell(item),
    el("td", { class: "reason" }, reasons.join(", ")),
    el("td", {}, CHANNELS[item.channel] || item.channel),
    el("td", { class: "debtor" }, debtor),
    el("td", {}, verification(item)),
    el("td", { class: "amount" }, item.balance ? money(item.balance, item.currency) : "–"),
    el("td", {}, (item.holds || []).length
      ? (item.holds || []).map((h) => el("span", { class: "badge hold", text: h.replace(/_/g, " ") }))
      : el("span", { class: "muted", text: "none" })),
    el("td", {}, status(item)),
    el("td", {}, action(item)));
  }

  function render(payload) {
    const items = payload.items || [];
    const waiting = items.filter((i) => i.status === "open");
    document.title = waiting.length ? `(${waiting.length}) ${TITLE}` : TITLE;
    summary.textContent = `${waiting.length} waiting, ${items.length - waiting.length} taken.`;
    // Keep the focused row's button where it is: rebuild, then put focus back on the same handoff's control.
    const focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("tr[data-handoff-id]") : null;
    const focusId = focused ? focused.dataset.handoffId : null;
    fill(rows, items.map(row));
    empty.hidden = items.length > 0;
    if (focusId) {
      const again = rows.querySelector(`tr[data-handoff-id="${focusId}"] button, tr[data-handoff-id="${focusId}"] a`);
      if (again) again.focus();
    }
    const ids = new Set(waiting.map((i) => String(i.id)));
    if (known !== null) {
      const fresh = waiting.filter((i) => !known.has(String(i.id)));
      if (fresh.length) arrived(fresh);
    }
    known = ids;
  }

  function arrived(fresh) {
    const first = fresh[0];
    const what = `${sentence(first.reason)} on ${CHANNELS[first.channel] || first.channel}`;
    const text = fresh.length === 1 ? `New conversation waiting: ${what}.` : `${fresh.length} new conversations waiting.`;
    announce.textContent = text;
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        const note = new Notification("Collections console", { body: text, tag: `handoff-${first.id}` });
        note.onclick = () => { window.focus(); note.close(); };
      } catch (error) { /* some browsers allow notifications only from a service worker */ }
    }
  }

  async function take(item, button) {
    button.disabled = true;
    failure.textContent = "";
    const result = await api("POST", `/api/handoffs/${item.id}/take`);
    if (result.ok) {
      window.location.assign(`/handoffs/${item.id}`);
      return;
    }
    button.disabled = false;
    failure.textContent = result.status === 409 && result.data.by
      ? `${result.data.by} has already taken that conversation.`
      : (result.data.error || "The conversation could not be taken.");
    load();
  }

  async function load() {
    const result = await api("GET", "/api/queue");
    if (result.ok) render(result.data);
    else if (result.status !== 401) failure.textContent = result.data.error || "The queue could not be loaded.";
  }

  function setUpNotifications() {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", async () => {
      try {
        await Notification.requestPermission();
      } finally {
        notifyButton.hidden = Notification.permission !== "default";
        if (Notification.permission === "granted") announce.textContent = "You will be notified of new conversations.";
      }
    });
  }

  setUpNotifications();
  load();
  connect("/api/events", { queue: render });
  setInterval(() => rows.querySelectorAll("td.waited").forEach(tick), 1000);
})();
