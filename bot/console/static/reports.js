/* The operations report for a period (supervisors): the figures as tables here, and a link to the report
   document with its charts (the page `python -m bot report` writes) and to each figure's CSV file. The period is
   kept in the address (?from=&to=&currency=), so a report can be reloaded or sent to a colleague. */
"use strict";

(function () {
  const { el, fill, api, money, words } = window.Console;
  const $ = (id) => document.getElementById(id);
  const form = $("report-form");
  const from = $("report-from");
  const to = $("report-to");
  const currencyBox = $("report-currency");
  const summary = $("report-summary");
  const failure = $("report-error");
  const announce = $("report-announce");
  const DATE = /^\d{4}-\d{2}-\d{2}$/;

  const iso = (d) => d.toISOString().slice(0, 10);
  const percent = (rate) => `${(Number(rate) * 100).toFixed(1)}%`;
  const plainPercent = (pct) => `${Number(pct).toFixed(1)}%`;

  /** The exact sum of decimal strings ("12.30", "-4.5"), as a decimal string: money is never added as floats. */
  function addDecimals(values) {
    const places = Math.max(0, ...values.map((v) => (String(v).split(".")[1] || "").length));
    let total = 0n;
    for (const value of values) {
      const [whole, fraction = ""] = String(value).split(".");
      const units = BigInt(whole.replace("-", "") + fraction.padEnd(places, "0"));
      total += whole.startsWith("-") ? -units : units;
    }
    const digits = (total < 0n ? -total : total).toString().padStart(places + 1, "0");
    const text = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
    return total < 0n ? `-${text}` : text;
  }

  /** One figure: its heading, and its table (or what it says when empty). */
  function section(key, title, header, rows, numeric, empty, lead) {
    const headingId = `figure-${key}`;
    return el("section", { class: "panel report-figure", "aria-labelledby": headingId, "data-testid": `figure-${key}` },
      el("h2", { id: headingId, text: title }),
      lead && rows.length ? el("p", { text: lead }) : null,
      rows.length
        ? el("div", { class: "table-wrap" }, el("table", { class: "small" },
          el("caption", { class: "visually-hidden", text: title }),
          el("thead", {}, el("tr", {}, header.map((h) => el("th", { scope: "col", text: h })))),
          el("tbody", {}, rows.map((r) => el("tr", {}, r.map((cell, n) => (n === 0
            ? el("th", { scope: "row", text: cell })
            : el("td", { class: numeric.includes(n) ? "amount" : null, text: cell }))))))))
        : el("p", { class: "muted", text: empty }));
  }

  function render(f, query) {
    const c = f.currency;
    const m = (amount) => money(amount, c);
    const collected = f.collected_by_month_and_creditor;
    const settlements = f.agreements_by_channel.filter(([, kind]) => kind === "settlement").reduce((n, [, , count]) => n + count, 0);
    const files = new Set(f.csv_files || []);
    const figures = [
      section("collected", "Collected per month", ["Month", "Creditor", "Collected"],
        collected.map(([month, creditor, amount]) => [month, creditor, m(amount)]), [2],
        "No payments were collected in this period.",
        `Total collected: ${m(addDecimals(collected.map(([, , amount]) => amount)))}.`),
      section("recovery", "Recovery rate per creditor", ["Creditor", "Collected", "Placed balance", "Recovery rate"],
        f.recovery_rate.map(([creditor, got, placed, rate]) => [creditor, m(got), m(placed), percent(rate)]), [1, 2, 3],
        "No placed accounts to measure recovery on in this period."),
      section("agreements_by_channel", "Agreements by channel", ["Channel", "Kind", "Agreements"],
        f.agreements_by_channel.map(([channel, kind, n]) => [channel, words(kind), String(n)]), [2],
        "No agreements were made in this period."),
      section("agreements_by_tier", "Agreements by authority tier", ["Tier", "Kind", "Agreements"],
        f.agreements_by_tier.map(([tier, kind, n]) => [tier, words(kind), String(n)]), [2],
        "No agreements were made in this period."),
      section("kept_rates", "Plans and promises kept", ["Kind", "Kept", "Broken", "Pending", "Kept rate (of decided)"],
        f.kept_rates.map(([kind, kept, broken, pending, rate]) => [words(kind), String(kept), String(broken), String(pending),
          kept + broken ? percent(rate) : "none decided yet"]), [1, 2, 3, 4],
        "No plans or promises were due in this period."),
      section("discount", "Settlement discount", ["Settlements agreed", "Average discount"],
        settlements || Number(f.average_discount_pct) ? [[String(settlements), plainPercent(f.average_discount_pct)]] : [], [1],
        "No settlements were agreed in this period."),
      section("time_to_agreement", "Time to first agreement", ["Creditor", "Average days to first agreement"],
        f.days_to_first_agreement.map(([creditor, days]) => [creditor, `${Number(days).toFixed(1)} days`]), [1],
        "No first agreements were made in this period."),
      section("commission", "Commission per collector", ["Collector", "Creditor", "Collected", "Commission rate", "Commission"],
        f.commission.map(([who, creditor, got, rate, earned]) => [who, creditor, m(got), plainPercent(rate), m(earned)]), [2, 3, 4],
        "No commission was earned in this period."),
    ];
    // Each figure's CSV file, for a spreadsheet.
    figures.forEach((node) => {
      const name = `${node.dataset.testid.slice("figure-".length)}.csv`;
      if (files.has(name)) {
        node.append(el("p", { class: "files" }, "Data: ",
          el("a", { href: `/reports/csv/${name}?${query}`, download: name, "data-testid": "report-csv" }, name)));
      }
    });
    fill($("report-figures"), figures);
    $("report-view").setAttribute("href", `/reports/view?${query}`);
    $("report-body").hidden = false;
    const period = `${f.date_from} to ${f.date_to}`;
    summary.textContent = `Figures for ${period}, in ${c}.`;
    announce.textContent = `The figures for ${period} are shown.`;
  }

  async function show() {
    failure.textContent = "";
    from.removeAttribute("aria-invalid");
    to.removeAttribute("aria-invalid");
    if (!DATE.test(from.value) || !DATE.test(to.value)) {
      const bad = DATE.test(from.value) ? to : from;
      bad.setAttribute("aria-invalid", "true");
      failure.textContent = "Give the first and the last day of the period.";
      bad.focus();
      return;
    }
    if (to.value < from.value) {
      to.setAttribute("aria-invalid", "true");
      failure.textContent = "The period ends before it starts.";
      to.focus();
      return;
    }
    const query = new URLSearchParams({ from: from.value, to: to.value, currency: (currencyBox.value || "USD").trim().toUpperCase() }).toString();
    const button = $("report-show");
    button.disabled = true;
    summary.textContent = "Counting…";
    const result = await api("GET", `/api/reports?${query}`);
    button.disabled = false;
    if (!result.ok) {
      summary.textContent = "Choose the period.";
      if (result.status !== 401) failure.textContent = result.data.error || "The figures could not be computed.";
      return;
    }
    window.history.replaceState(null, "", `/reports?${query}`);
    render(result.data, query);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });

  // The period in the address, else from the first of last month to today.
  const asked = new URLSearchParams(window.location.search);
  const today = new Date();
  from.value = DATE.test(asked.get("from") || "") ? asked.get("from")
    : iso(new Date(Date.UTC(today.getFullYear(), today.getMonth() - 1, 1)));
  to.value = DATE.test(asked.get("to") || "") ? asked.get("to") : iso(new Date(Date.UTC(today.getFullYear(), today.getMonth(), today.getDate())));
  if (/^[A-Za-z]{3}$/.test(asked.get("currency") || "")) currencyBox.value = asked.get("currency").toUpperCase();
  if (asked.has("from") && asked.has("to")) show();
})();
