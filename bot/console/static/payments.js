/* The payments no account took (supervisors): each with what its file said and why it matched nothing, and a form
   to assign it to an account by reference. The server refuses another currency and an unknown account; the row
   says why. */
"use strict";

(function () {
  const { el, fill, api, money } = window.Console;
  const $ = (id) => document.getElementById(id);
  const rows = $("unmatched-rows");
  const summary = $("payments-summary");
  const announce = $("payments-announce");
  const failure = $("payments-error");

  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
  const dateText = (iso) => (iso ? dateFormat.format(new Date(`${String(iso).slice(0, 10)}T00:00:00Z`)) : "–");

  function row(p) {
    const inputId = `assign-ref-${p.id}`;
    const status = el("p", { class: "outcome", role: "status", "data-testid": "assign-status" });
    const input = el("input", { id: inputId, name: "account_ref", type: "text", maxlength: 64, autocomplete: "off",
      autocapitalize: "characters", spellcheck: "false", value: p.account_ref_given || "", "data-testid": "assign-ref" });
    const button = el("button", { type: "submit", "data-testid": "assign" }, "Assign");

    async function assign(event) {
      event.preventDefault();
      const accountRef = input.value.trim();
      if (!accountRef) {
        status.className = "outcome refused";
        status.textContent = "Give the reference of the account this payment is for.";
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      input.removeAttribute("aria-invalid");
      button.disabled = true;
      const result = await api("POST", `/api/payments/${p.id}/assign`, { account_ref: accountRef });
      button.disabled = false;
      if (result.ok) {
        announce.textContent = `Payment ${p.reference} (${money(p.amount, p.currency)}) assigned to ${result.data.payment.account_ref}.`;
        load();
      } else if (result.status !== 401) {
        status.className = "outcome refused";
        status.textContent = result.data.error || "The payment could not be assigned.";
        input.setAttribute("aria-invalid", "true");
      }
    }

    return el("tr", { "data-payment-id": p.id, "data-testid": "unmatched-row" },
      el("td", { text: dateText(p.paid_on) }),
      el("td", { class: "amount", text: p.currency ? money(p.amount, p.currency) : `${p.amount} (currency not given)` }),
      el("th", { scope: "row", class: "reference", text: p.reference }),
      el("td", { text: p.account_ref_given || "–" }),
      el("td", { class: "remittance", text: p.remittance || "–" }),
      el("td", { text: p.why || "–" }),
      el("td", {}, el("form", { class: "assign-form", novalidate: true, onsubmit: assign },
        el("label", { for: inputId, class: "visually-hidden", text: `Account reference for payment ${p.reference}` }),
        el("div", { class: "send-row" }, input, button)), status));
  }

  async function load() {
    const result = await api("GET", "/api/payments/unmatched");
    if (!result.ok) {
      if (result.status !== 401) failure.textContent = result.data.error || "The payments could not be loaded.";
      return;
    }
    failure.textContent = "";
    const list = result.data.payments || [];
    summary.textContent = list.length === 1 ? "1 payment waiting for an account." : `${list.length} payments waiting for an account.`;
    $("unmatched-wrap").hidden = !list.length;
    $("unmatched-empty").hidden = Boolean(list.length);
    const focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest("tr") : null;
    fill(rows, list.map(row));
    if (focused && !rows.contains(focused)) document.getElementById("main").focus();
  }

  load();
})();
