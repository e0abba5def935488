/*
 * The collections assistant's chat widget. Embed it on any page with
 *   <script src="https://PAGE-SERVER/widget/widget.js" data-rasa-url="https://RASA-SERVER" defer></script>
 * (optional data-title="Agency name"). It adds a launcher button and a chat panel, loads the
 * socket.io client and its styles from beside this file, and talks to Rasa's socket.io channel.
 *
 * Rules it keeps: every text it shows goes in through textContent (never as HTML); the transcript
 * lives in sessionStorage, so it survives reloads but not the tab (debt details must not stay on a
 * shared computer); a message is only sent once the server has confirmed the conversation. The server
 * issues the conversation id with a proof (bot/channels/webchat.py); both are kept in sessionStorage and
 * sent back to rejoin, since an id alone gets a new conversation.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script || window.collectionsChat) return; // not run as a classic script, or embedded twice

  const rasaUrl = (script.dataset.rasaUrl || "").replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s/]+$/.test(rasaUrl)) {
    console.error("collections chat: data-rasa-url must be the Rasa server's http(s) URL");
    return;
  }
  const title = script.dataset.title || "Chat with us";
  const assetBase = new URL(".", script.src);

  const MAX_CHARS = 1000; // the server's limit (bot/domain/inbound.py)
  const ACCOUNT_REF = /^[A-Za-z0-9][A-Za-z0-9\-_/.]{0,63}$/; // as bot/channels/webchat.py accepts
  const STORE_KEY = "collections-chat:" + rasaUrl;
  const TYPING_TIMEOUT_MS = 30000; // a lost "typing: false" must not leave the dots forever

  // The account reference of a reminder link (?ref=...): sent as metadata, and opens the chat.
  const linkRef = (function () {
    const ref = new URLSearchParams(window.location.search).get("ref");
    return ref && ACCOUNT_REF.test(ref) ? ref : null;
  })();

  // ---- state, kept in sessionStorage ----

  function freshState() {
    return { sessionId: null, sessionProof: null, messages: [], open: false };
  }

  function validMessage(m) {
    return m && (m.from === "bot" || m.from === "user") && typeof m.text === "string" &&
      (m.buttons === undefined || Array.isArray(m.buttons));
  }

  function loadState() {
    try {
      const stored = JSON.parse(window.sessionStorage.getItem(STORE_KEY));
      if (stored && Array.isArray(stored.messages) && stored.messages.every(validMessage)) {
        return {
          sessionId: typeof stored.sessionId === "string" ? stored.sessionId : null,
          sessionProof: typeof stored.sessionProof === "string" ? stored.sessionProof : null,
          messages: stored.messages,
          open: stored.open === true,
        };
      }
    } catch (error) { /* unreadable or blocked storage: start afresh */ }
    return freshState();
  }

  const state = loadState();

  function saveState() {
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (error) { /* storage full or blocked: the chat still works, it just won't survive a reload */ }
  }

  // ---- DOM (createElement and textContent only) ----

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function icon(pathData) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    svg.appendChild(path);
    return svg;
  }

  const ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
  const ICON_CLOSE = "M6 6l12 12M18 6L6 18";
  const ICON_SEND = "M3 20l18-8L3 4v6l12 2-12 2z";

  const root = el("div", "ccw");
  root.dataset.connected = "false";

  const launcher = el("button", "ccw-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-controls", "ccw-panel");
  launcher.setAttribute("aria-expanded", "false");
  launcher.append(icon(ICON_CHAT), el("span", "ccw-launcher-label", "Chat with us"));

  const panel = el("section", "ccw-panel");
  panel.id = "ccw-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title + " chat");
  panel.hidden = true;

  // A div, not <header>: the host page has its banner, and a document has one (axe: landmark-no-duplicate-banner).
  const header = el("div", "ccw-header");
  const heading = el("div", "ccw-heading");
  heading.append(el("h2", "ccw-title", title), el("p", "ccw-subtitle", "Automated assistant · secure chat"));
  const closeButton = el("button", "ccw-close");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", "Close the chat");
  closeButton.appendChild(icon(ICON_CLOSE));
  header.append(heading, closeButton);

  const status = el("div", "ccw-status", "Connecting…");
  status.setAttribute("role", "status");

  // The messages are a list (an <ol> keeps its list role, so its items are list items to assistive
  // technology); the scrolling box around it is the live log, announcing what is added, and takes the
  // keyboard focus so that the transcript can be scrolled without a mouse.
  const log = el("ol", "ccw-log");

  const typing = el("div", "ccw-typing");
  const dots = el("span", "ccw-dots");
  dots.setAttribute("aria-hidden", "true");
  dots.append(el("span"), el("span"), el("span"));
  typing.append(el("span", "ccw-visually-hidden", "The assistant is typing…"), dots);
  typing.hidden = true;

  const scroller = el("div", "ccw-scroller");
  scroller.setAttribute("role", "log");
  scroller.setAttribute("aria-live", "polite");
  scroller.setAttribute("aria-label", "Conversation");
  scroller.tabIndex = 0;
  scroller.append(log, typing);

  const form = el("form", "ccw-form");
  form.noValidate = true;
  const label = el("label", "ccw-visually-hidden", "Your message");
  label.htmlFor = "ccw-input";
  const input = el("input", "ccw-input");
  input.id = "ccw-input";
  input.type = "text";
  input.maxLength = MAX_CHARS;
  input.autocomplete = "off";
  input.placeholder = "Type your message…";
  input.enterKeyHint = "send";
  const sendButton = el("button", "ccw-send");
  sendButton.type = "submit";
  sendButton.disabled = true;
  sendButton.setAttribute("aria-label", "Send");
  sendButton.appendChild(icon(ICON_SEND));
  form.append(label, input, sendButton);

  const footnote = el("p", "ccw-footnote", "Please don't type card or bank details here.");

  panel.append(header, status, scroller, form, footnote);
  root.append(launcher, panel);

  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function renderMessage(message) {
    const item = el("li", "ccw-msg ccw-msg--" + message.from);
    const bubble = el("div", "ccw-bubble", message.text);
    item.appendChild(bubble);
    if (message.buttons && message.buttons.length) {
      const replies = el("div", "ccw-replies");
      replies.setAttribute("role", "group");
      replies.setAttribute("aria-label", "Suggested replies");
      message.buttons.forEach(function (choice) {
        const button = el("button", "ccw-reply", String(choice.title));
        button.type = "button";
        button.disabled = Boolean(message.used);
        if (message.chosen === choice.title) button.classList.add("ccw-reply--chosen");
        button.addEventListener("click", function () {
          if (message.used) return;
          message.chosen = choice.title;
          button.classList.add("ccw-reply--chosen");
          send(String(choice.payload), String(choice.title));
          input.focus({ preventScroll: true }); // the spent button loses the focus: the text box takes it
        });
        replies.appendChild(button);
      });
      item.appendChild(replies);
    }
    log.appendChild(item);
  }

  function renderAll() {
    log.replaceChildren();
    state.messages.forEach(renderMessage);
    scrollToEnd();
  }

  function addMessage(message) {
    state.messages.push(message);
    saveState();
    renderMessage(message);
    scrollToEnd();
  }

  // Buttons offer a choice for the moment they were shown: once the user answers, they are spent.
  function spendButtons() {
    let changed = false;
    state.messages.forEach(function (message) {
      if (message.buttons && message.buttons.length && !message.used) {
        message.used = true;
        changed = true;
      }
    });
    if (changed) {
      log.querySelectorAll(".ccw-reply").forEach(function (button) { button.disabled = true; });
    }
  }

  let typingTimer = null;
  function showTyping(on) {
    window.clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) {
      typingTimer = window.setTimeout(function () { typing.hidden = true; }, TYPING_TIMEOUT_MS);
      scrollToEnd();
    }
  }

  function setStatus(text) {
    status.textContent = text || "";
    status.hidden = !text;
  }

  // ---- the connection ----

  let socket = null;
  let ready = false; // the server has confirmed our conversation since the last (re)connect
  const outbox = []; // messages waiting for that confirmation

  function flush() {
    while (ready && outbox.length) {
      const message = outbox.shift();
      const data = { message: message, session_id: state.sessionId };
      if (linkRef) data.metadata = { account_ref: linkRef };
      socket.emit("user_uttered", data);
    }
  }

  // display: what the user's bubble shows (a button's title); null sends without a bubble (the opening /greet).
  function send(message, display) {
    const text = message.trim();
    if (!text || text.length > MAX_CHARS) return false;
    spendButtons();
    if (display !== null) addMessage({ from: "user", text: display === undefined ? text : display });
    outbox.push(text);
    flush();
    return true;
  }

  // A conversation with no history opens with a greeting the user doesn't see typed (once per page).
  let greeted = false;
  function greetIfNew() {
    if (!state.open || !ready || greeted || state.messages.length) return;
    greeted = true;
    send("/greet", null);
  }

  // The server's answer to session_request: {session_id, session_proof}.
  function onSessionConfirm(session) {
    const id = session && typeof session === "object" ? session.session_id : null;
    const proof = session && typeof session === "object" ? session.session_proof : null;
    if (typeof id !== "string" || typeof proof !== "string") return;
    state.sessionProof = proof;
    if (id !== state.sessionId) {
      if (state.sessionId !== null) { // the server replaced ours: what we had shown belongs to another
        state.messages = [];
        greeted = false;
        renderAll();
      }
      state.sessionId = id;
    }
    saveState();
    ready = true;
    setStatus("");
    flush();
    greetIfNew();
  }

  function onBotUttered(data) {
    if (!data || typeof data !== "object") return;
    const text = typeof data.text === "string" ? data.text : "";
    const buttons = Array.isArray(data.quick_replies) ? data.quick_replies
      .filter(function (r) { return r && typeof r.title === "string" && typeof r.payload === "string"; })
      .map(function (r) { return { title: r.title, payload: r.payload }; }) : [];
    if (!text && !buttons.length) return;
    const message = { from: "bot", text: text };
    if (buttons.length) {
      message.buttons = buttons;
      message.used = false;
    }
    addMessage(message);
  }

  function showTransport() {
    root.dataset.transport = socket.io.engine ? socket.io.engine.transport.name : "";
  }

  function connect(io) {
    // Websocket first; polling only if the websocket cannot be opened (proxies that block it).
    socket = io(rasaUrl, {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelayMax: 5000,
    });
    socket.on("connect", function () {
      root.dataset.connected = "true";
      showTransport();
      socket.io.engine.on("upgrade", showTransport);
      socket.emit("session_request", { session_id: state.sessionId, session_proof: state.sessionProof });
    });
    socket.on("disconnect", function () {
      ready = false;
      root.dataset.connected = "false";
      showTyping(false);
      setStatus("Connection lost. Reconnecting…");
    });
    socket.on("connect_error", function () {
      setStatus("Can't reach the assistant right now. Retrying…");
    });
    socket.on("session_confirm", onSessionConfirm);
    socket.on("bot_uttered", onBotUttered);
    socket.on("bot_typing", function (data) { showTyping(Boolean(data && data.typing)); });
  }

  // ---- opening and closing ----

  function setOpen(open) {
    state.open = open;
    saveState();
    panel.hidden = !open;
    root.classList.toggle("ccw--open", open);
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      scrollToEnd();
      input.focus({ preventScroll: true });
      greetIfNew();
    } else {
      launcher.focus({ preventScroll: true });
    }
  }

  launcher.addEventListener("click", function () { setOpen(!state.open); });
  closeButton.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") setOpen(false);
  });
  input.addEventListener("input", function () {
    sendButton.disabled = !input.value.trim();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (send(input.value)) {
      input.value = "";
      sendButton.disabled = true;
    }
    input.focus();
  });

  // ---- start ----

  function loadAsset(tag, url, onload) {
    const node = document.createElement(tag);
    if (tag === "link") {
      node.rel = "stylesheet";
      node.href = url;
    } else {
      node.src = trustedScriptUrl(url);
      node.async = true;
    }
    if (onload) node.addEventListener("load", onload);
    node.addEventListener("error", function () {
      setStatus("The chat could not load. Please refresh the page or call us.");
    });
    document.head.appendChild(node);
  }

  // Pages that enforce Trusted Types (ours does) accept a script URL only through a named policy;
  // this one only vouches for the socket.io client beside this file.
  let scriptPolicy = null;
  function trustedScriptUrl(url) {
    if (!window.trustedTypes) return url;
    if (!scriptPolicy) {
      scriptPolicy = window.trustedTypes.createPolicy("collections-chat", {
        createScriptURL: function (candidate) {
          if (candidate !== new URL("socket.io.min.js", assetBase).href) throw new TypeError("unexpected script");
          return candidate;
        },
      });
    }
    return scriptPolicy.createScriptURL(url);
  }

  function start() {
    document.body.appendChild(root);
    renderAll();
    setStatus("Connecting…");
    document.querySelectorAll("[data-chat-open]").forEach(function (opener) {
      opener.addEventListener("click", function () { setOpen(true); });
    });
    if (state.open || linkRef) setOpen(true);
    // Our pinned client, whatever the host page has: it sets the global `io`, which is given back.
    const hostIo = Object.prototype.hasOwnProperty.call(window, "io") ? window.io : undefined;
    loadAsset("script", new URL("socket.io.min.js", assetBase).href, function () {
      const io = window.io;
      if (hostIo === undefined) delete window.io;
      else window.io = hostIo;
      if (typeof io === "function") connect(io);
      else setStatus("The chat could not load. Please refresh the page or call us.");
    });
  }

  loadAsset("link", new URL("widget.css", assetBase).href, scrollToEnd); // a restored transcript shows its end
  window.collectionsChat = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
  };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
