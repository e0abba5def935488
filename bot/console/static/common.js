/* The console's shared helpers: the JSON API (with the session's CSRF token), the live event stream, building
   DOM nodes (text only: the page enforces Trusted Types, nothing is ever parsed as HTML), and formatting times
   in the person's own zone and amounts in the account's currency. */
"use strict";

(function () {
  const meta = (name) => {
    const element = document.querySelector(`meta[name="${name}"]`);
    return element ? element.getAttribute("content") || "" : "";
  };

  const csrf = meta("csrf-token");
  const me = { login: meta("staff-login"), role: meta("staff-role") };

  /** An element with attributes and children (strings become text nodes, null/false are skipped). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Replace an element's children. */
  function fill(node, ...children) {
    node.replaceChildren();
    return append(node, children);
  }

  /** The JSON API: {ok, status, data}; a lost session goes back to the login page. */
  async function api(method, url, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = csrf;
      if (body !== undefined) {
        options.headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { ok: false, status: 0, data: { error: "The console cannot be reached. Check the connection." } };
    }
    if (response.status === 401) {
      toLogin();
      return { ok: false, status: 401, data: { error: "Your session has ended." } };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = { error: `The server answered ${response.status}.` };
    }
    return { ok: response.ok, status: response.status, data: data || {} };
  }

  function toLogin() {
    const next = window.location.pathname + window.location.search;
    window.location.assign(`/login?next=${encodeURIComponent(next)}`);
  }

  /** The live event stream; `handlers` maps event names to functions of the parsed payload. */
  function connect(url, handlers, reconnected) {
    const source = new EventSource(url);
    const all = Object.assign({ queue: () => {} }, handlers);
    let opened = false;
    source.addEventListener("open", () => {
      // The stream is closed every few minutes and reopened (through authentication again): what was said in
      // between is fetched again by the page.
      if (opened && reconnected) reconnected();
      opened = true;
    });
    for (const [name, handler] of Object.entries(all)) {
      source.addEventListener(name, (event) => {
        let payload;
        try {
          payload = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (name === "queue") updateApprovalsCount(payload);
        handler(payload);
      });
    }
    source.addEventListener("error", async () => {
      if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
      const check = await api("GET", "/api/queue");
      if (check.status === 401) return;
      setTimeout(() => {
        connect(url, handlers, reconnected);
        if (reconnected) reconnected();
      }, 3000);
    });
    return source;
  }

  function updateApprovalsCount(payload) {
    const count = document.getElementById("approvals-count");
    if (!count || payload.approvals_pending === null || payload.approvals_pending === undefined) return;
    count.textContent = payload.approvals_pending ? `(${payload.approvals_pending} pending)` : "";
  }

  const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

  /** A <time> in the person's zone (today: the time; otherwise the date and time). */
  function time(iso, options) {
    if (!iso) return el("span", { text: "–" });
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return el("span", { text: iso });
    const today = new Date().toDateString() === moment.toDateString();
    const text = options && options.full ? dateTime.format(moment) : (today ? timeOnly : dateTime).format(moment);
    return el("time", { datetime: moment.toISOString(), title: dateTime.format(moment), text });
  }

  /** An amount (a decimal string) in the account's currency, for reading only. */
  function money(amount, currency) {
    if (amount === null || amount === undefined || amount === "") return "–";
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(Number(amount));
    } catch (error) {
      return `${amount} ${currency || ""}`.trim();
    }
  }

  /** How long since `iso`, in words: "45 s", "4 min 12 s", "2 h 05 min". */
  function waited(iso, now) {
    const seconds = Math.max(0, Math.floor(((now || Date.now()) - new Date(iso).getTime()) / 1000));
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
    return `${Math.floor(hours / 24)} days`;
  }

  const CHANNELS = { socketio: "Web chat", twilio: "SMS", rest: "API" };
  const words = (code) => String(code || "").replace(/_/g, " ");
  const sentence = (code) => { const w = words(code); return w.charAt(0).toUpperCase() + w.slice(1); };

  window.Console = { el, append, fill, api, connect, time, money, waited, me, csrf, CHANNELS, words, sentence };
})();
