// wa-manager web UI: the Sync WhatsApp button, the Link Users dialog and the
// conversation page (its thread kept current by polling, replies, Retry, Load earlier).
// Loaded as a static file (the Content-Security-Policy forbids inline scripts);
// every state-changing request carries the CSRF token from <meta name="csrf-token">.
// Text from the server is only ever put in the page with textContent, never as HTML.
"use strict";

(function () {
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  async function api(method, url, body, extraHeaders) {
    const headers = { Accept: "application/json", ...(extraHeaders || {}) };
    if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (networkError) {
      return { ok: false, status: 0, data: null };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (notJson) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  // What went wrong, in words a person understands: a title and what to do.
  const ADVICE = {
    upstream_rejected:
      "UltraMsg refused the request. Check ULTRAMSG_INSTANCE_ID and ULTRAMSG_TOKEN, " +
      "and that the instance is paid for and its phone is connected.",
    upstream_unavailable:
      "UltraMsg could not be reached or is overloaded. Nothing was changed; try again in a minute.",
    upstream_bad_response:
      "UltraMsg answered with something that is not a chat list. Nothing was changed; try again later.",
    upstream_error: "UltraMsg failed. Nothing was changed; try again later.",
    not_configured:
      "UltraMsg is not set up on this server: set ULTRAMSG_INSTANCE_ID and ULTRAMSG_TOKEN and restart it.",
    sync_already_running: "A sync is already running. Wait a moment, then press Sync WhatsApp again.",
  };

  function explainFailure(result, action) {
    const error = result.data && result.data.error ? result.data.error : {};
    const said = typeof error.message === "string" ? error.message : "";
    if (result.status === 0) {
      return { title: `Could not ${action}`, advice: "The wa-manager server did not answer. Check your connection and try again.", said: "" };
    }
    if (result.status === 401) {
      return { title: "Your session has ended", advice: "Sign in again to continue.", said: "", signIn: true };
    }
    if (result.status === 403) {
      return { title: `Could not ${action}`, advice: "This page has expired or you are not allowed to do this. Reload the page and try again.", said };
    }
    const advice = ADVICE[error.code] || "Something went wrong on the server. Try again; if it keeps failing, check the server log.";
    return { title: `Could not ${action}`, advice, said };
  }

  function element(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function failureBox(failure) {
    const box = element("div", { class: "alert alert-error", "data-sync-error": "" }, [
      element("h2", { text: failure.title }),
      element("p", { text: failure.advice }),
    ]);
    if (failure.said) {
      box.append(element("p", { class: "detail" }, ["Details: ", element("q", { dir: "auto", text: failure.said })]));
    }
    if (failure.signIn) {
      box.append(element("p", {}, [element("a", { href: "/login?next=" + encodeURIComponent(location.pathname + location.search), text: "Sign in" })]));
    }
    return box;
  }

  // -- Sync WhatsApp ------------------------------------------------------------

  function formatDuration(ms) {
    if (ms < 1000) return `${ms}\u00a0ms`;
    return `${(ms / 1000).toFixed(1)}\u00a0s`;
  }

  function reportBox(report) {
    const figures = [
      ["Created", report.created_contacts],
      ["Updated", report.updated_contacts],
      ["Skipped", report.skipped],
      ["Fetched", report.fetched],
      ["Took", formatDuration(report.duration_ms)],
    ];
    const list = element("dl", { class: "report" });
    for (const [label, value] of figures) {
      list.append(element("div", { "data-figure": label.toLowerCase() }, [
        element("dt", { text: label }),
        element("dd", { text: String(value) }),
      ]));
    }
    const summary =
      `${report.created_contacts} created, ${report.updated_contacts} updated, ` +
      `${report.skipped} skipped in ${formatDuration(report.duration_ms)}.`;
    return element("div", { class: "alert alert-success", "data-sync-report": "" }, [
      element("h2", { text: "Sync finished" }),
      element("p", { text: summary }),
      list,
    ]);
  }

  // Re-read this page and swap in its fresh contact list and "last synced" line.
  async function refreshContacts() {
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of ["contacts", "last-sync", "sync-history"]) {
        const now = document.getElementById(id);
        const next = fresh.getElementById(id);
        if (now && next) now.replaceWith(document.adoptNode(next));
      }
    } catch (ignored) {
      // The report is shown either way; a reload shows the list.
    }
  }

  // A sync of several numbers answers {"reports": [...]}: one line per number.
  function reportsBox(reports) {
    const failed = reports.filter((item) => item.error);
    const lines = reports.map((item) => element("li", {
      "data-instance-report": item.instance_id,
      text: item.error
        ? `${item.instance_id}: failed: ${item.error}`
        : `${item.instance_id}: ${item.created_contacts} created, ${item.updated_contacts} updated, ` +
          `${item.skipped} skipped in ${formatDuration(item.duration_ms)}.`,
    }));
    const kind = failed.length ? "alert-error" : "alert-success";
    const heading = failed.length ? `Sync finished; ${failed.length} of ${reports.length} numbers failed` : "Sync finished";
    return element("div", { class: `alert ${kind}`, "data-sync-report": "" }, [
      element("h2", { text: heading }),
      element("ul", {}, lines),
    ]);
  }

  async function runSync(button) {
    if (button.getAttribute("aria-busy") === "true") return;
    const result = document.getElementById("sync-result");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    result.replaceChildren(element("p", { class: "hint", text: "Syncing WhatsApp contacts from UltraMsg…" }));
    try {
      const answer = await api("POST", button.dataset.syncUrl);
      if (answer.ok && answer.data) {
        await refreshContacts();
        result.replaceChildren(answer.data.reports ? reportsBox(answer.data.reports) : reportBox(answer.data));
      } else {
        result.replaceChildren(failureBox(explainFailure(answer, "sync WhatsApp")));
      }
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  // -- Settings › WhatsApp numbers -------------------------------------------------

  async function showNumberStatuses(table) {
    const answer = await api("GET", table.dataset.statusUrl);
    const cells = table.querySelectorAll("[data-status-of]");
    if (!(answer.ok && answer.data)) {
      const failure = explainFailure(answer, "check UltraMsg");
      for (const cell of cells) cell.textContent = `Unknown. ${failure.advice}`;
      return;
    }
    const entries = answer.data.instances || [answer.data];
    for (const cell of cells) {
      const entry = entries.find((item) => item.instance_id === cell.dataset.statusOf);
      cell.dataset.connected = String(Boolean(entry && entry.connected));
      const said = entry ? String(entry.explanation || entry.error || "") : "";
      cell.textContent = said ? said.charAt(0).toUpperCase() + said.slice(1) : "Unknown";
    }
  }

  async function syncNumber(button) {
    if (button.getAttribute("aria-busy") === "true") return;
    const instance = button.dataset.syncInstance;
    const line = document.querySelector(`[data-sync-result-of="${CSS.escape(instance)}"]`);
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    line.textContent = "Syncing…";
    try {
      const answer = await api("POST", `/api/whatsapp-contacts?instance=${encodeURIComponent(instance)}`);
      if (answer.ok && answer.data) {
        const report = answer.data;
        line.textContent = `${report.fetched} fetched, ${report.created_contacts} created, ` +
          `${report.updated_contacts} updated in ${formatDuration(report.duration_ms)}.`;
        const last = document.querySelector(`[data-last-sync-of="${CSS.escape(instance)}"]`);
        if (last) last.textContent = "just now";
      } else {
        const failure = explainFailure(answer, "sync this number");
        line.textContent = [failure.said, failure.advice].filter(Boolean).join(" ");
      }
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  // -- Link Users dialog --------------------------------------------------------

  const linkState = { contactId: null, opener: null, users: [] };

  function userCheckbox(user, checked) {
    const box = element("input", { type: "checkbox", name: "user_ids", value: String(user.id) });
    box.checked = checked;
    const label = element("label", {}, [box, element("span", { dir: "auto", text: user.username })]);
    if (user.role === "admin") label.append(element("span", { class: "badge badge-admin", text: "admin" }));
    return label;
  }

  function showDialogError(message) {
    const error = document.getElementById("link-dialog-error");
    error.textContent = message;
    error.hidden = !message;
  }

  async function openLinkDialog(button) {
    const dialog = document.getElementById("link-dialog");
    const list = document.getElementById("link-dialog-users");
    const save = document.getElementById("link-save");
    linkState.contactId = button.dataset.linkUsers;
    linkState.opener = button;
    document.getElementById("link-dialog-contact").textContent = button.dataset.contactLabel;
    list.replaceChildren(element("p", { class: "muted", text: "Loading users…" }));
    showDialogError("");
    save.disabled = true;
    dialog.showModal();
    loadLinkHistory(linkState.contactId);

    const [users, linked] = await Promise.all([
      api("GET", "/api/users"),
      api("GET", `/api/contacts/${encodeURIComponent(linkState.contactId)}/users`),
    ]);
    if (!users.ok || !linked.ok) {
      list.replaceChildren();
      const failure = explainFailure(users.ok ? linked : users, "load the users");
      showDialogError(`${failure.title}. ${failure.advice}`);
      return;
    }
    linkState.users = users.data.items;
    const chosen = new Set(linked.data.user_ids);
    if (linkState.users.length === 0) {
      list.replaceChildren(element("p", { class: "muted", text: "No users yet. Add one with: wa-manager users add NAME --role user" }));
    } else {
      list.replaceChildren(...linkState.users.map((user) => userCheckbox(user, chosen.has(user.id))));
    }
    save.disabled = false;
  }

  // The audit trail of the contact's links, oldest first, as plain text lines.
  async function loadLinkHistory(contactId) {
    const list = document.getElementById("link-dialog-history");
    if (!list) return;
    const answer = await api("GET", `/api/contacts/${encodeURIComponent(contactId)}/links/history`);
    if (!answer.ok || !answer.data) {
      list.replaceChildren(element("li", { text: "The history could not be loaded." }));
      return;
    }
    const events = answer.data.items;
    if (events.length === 0) {
      list.replaceChildren(element("li", { text: "Nobody was ever linked to this contact." }));
      return;
    }
    list.replaceChildren(...events.map((item) => {
      const when = new Date(item.at).toLocaleString();
      const who = item.username || `user #${item.user_id}`;
      const by = item.actor ? `by ${item.actor}` : "from the command line";
      const what = item.action === "link" ? "linked" : "unlinked";
      return element("li", { dir: "auto", "data-link-event": item.action, text: `${when}: ${who} ${what} ${by}` });
    }));
  }

  // -- UltraMsg instance status ---------------------------------------------------

  async function showInstanceStatus(line) {
    const answer = await api("GET", line.dataset.statusUrl);
    if (answer.ok && answer.data) {
      const state = answer.data;
      line.dataset.connected = String(state.connected);
      line.textContent = `UltraMsg ${state.explanation}.`; // the explanation starts with the state
    } else {
      line.dataset.connected = "false";
      const failure = explainFailure(answer, "check UltraMsg");
      line.textContent = `UltraMsg status unknown. ${failure.advice}`;
    }
  }

  function showLinkedUsers(contactId, userIds) {
    const row = document.querySelector(`tr[data-contact-id="${CSS.escape(contactId)}"]`);
    const cell = row && row.querySelector("[data-linked-users]");
    if (!cell) return;
    const names = linkState.users.filter((user) => userIds.includes(user.id)).map((user) => user.username);
    cell.replaceChildren(
      ...(names.length
        ? names.map((name) => element("span", { class: "chip", dir: "auto", text: name }))
        : [element("span", { class: "muted", text: "Nobody yet" })]),
    );
  }

  async function saveLinks(event) {
    event.preventDefault();
    const dialog = document.getElementById("link-dialog");
    const save = document.getElementById("link-save");
    const ids = [...dialog.querySelectorAll('input[name="user_ids"]:checked')].map((box) => Number(box.value));
    save.disabled = true;
    save.setAttribute("aria-busy", "true");
    try {
      const answer = await api("PUT", `/api/contacts/${encodeURIComponent(linkState.contactId)}/users`, { user_ids: ids });
      if (!answer.ok) {
        const failure = explainFailure(answer, "save the links");
        showDialogError(`${failure.title}. ${failure.advice}${failure.said ? " (" + failure.said + ")" : ""}`);
        return;
      }
      showLinkedUsers(linkState.contactId, answer.data.user_ids);
      loadLinkHistory(linkState.contactId);
      dialog.close();
    } finally {
      save.disabled = false;
      save.removeAttribute("aria-busy");
    }
  }

  // -- the conversation page ----------------------------------------------------
  //
  // The server renders the newest messages; from then on this keeps the thread
  // current by polling the JSON API (the database is the truth, whichever server
  // process answers). Each poll asks for the newest page with the ETag of the last
  // answer, so an unchanged thread costs a bodiless 304. Messages are placed by
  // (created_at, id), oldest at the top, like the API orders them.

  const POLL_MS = 3000;
  const POLL_SIZE = 50;
  const EARLIER_SIZE = 50;
  const WALK_SIZE = 200;
  const MAX_WALK_PAGES = 20;
  const MAX_HISTORY = 1000;
  const HISTORY_STEP = 100;
  // The same words as STATUS_LABELS and TYPE_LABELS in thread_page.py.
  const STATUS_LABELS = { queued: "Sending", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not sent" };
  const TYPE_LABELS = {
    image: "Photo", video: "Video", ptt: "Voice message", audio: "Audio", document: "Document",
    sticker: "Sticker", location: "Location", vcard: "Contact card", revoked: "This message was deleted",
  };

  const thread = {
    root: null, list: null, messagesUrl: "", historyUrl: "", earlierCursor: null,
    etag: null, timer: null, polling: false, stopped: false, sending: false, unanswered: null,
  };

  // Only http(s) addresses become links: a javascript: or data: URL stays text.
  function webLink(url) {
    if (!url) return null;
    try {
      const protocol = new URL(url.trim()).protocol;
      return protocol === "http:" || protocol === "https:" ? url : null;
    } catch (notAUrl) {
      return null;
    }
  }

  const typeLabel = (type) => TYPE_LABELS[type] || "Attachment";

  function authorLabel(message) {
    if (message.direction !== "in" || !message.author) return null;
    return message.sender_name || message.author.split("@")[0];
  }

  function localTime(iso) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return iso;
    return moment.toLocaleString(undefined, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  // What a message looks like depends on these fields only.
  const signature = (m) => JSON.stringify([m.status, m.error, m.body, m.media_url, m.type, m.author, m.sender_name, m.created_at]);

  // The same markup as templates/_message.html.
  function messageNode(m) {
    const bubble = element("div", { class: "bubble" });
    const author = authorLabel(m);
    if (author) bubble.append(element("p", { class: "message-author", dir: "auto", text: author }));
    if (m.body) bubble.append(element("p", { class: "message-body", dir: "auto", text: m.body }));
    if (m.media_url) {
      const link = webLink(m.media_url);
      bubble.append(element("p", { class: "message-media" }, [
        link
          ? element("a", { href: link, target: "_blank", rel: "noopener noreferrer nofollow", text: `Open ${typeLabel(m.type).toLowerCase()}` })
          : typeLabel(m.type) + " ",
        ...(link ? [] : [element("span", { class: "muted", text: "(no web link)" })]),
      ]));
    } else if (!m.body) {
      bubble.append(element("p", { class: "message-placeholder", text: typeLabel(m.type) }));
    }
    const meta = element("p", { class: "message-meta" }, [element("time", { datetime: m.created_at, text: localTime(m.created_at) })]);
    if (m.direction === "out") {
      const label = STATUS_LABELS[m.status] || m.status;
      meta.append(" ", element("span", { class: "ticks", role: "img", "aria-label": label, title: label, "data-ticks": m.status }));
    }
    bubble.append(meta);
    if (m.status === "failed") {
      bubble.append(
        element("p", { class: "message-error", dir: "auto", text: `Not sent: ${m.error || "UltraMsg did not take it"}` }),
        element("button", { type: "button", class: "button button-small", "data-retry-message": String(m.id), text: "Retry" }),
      );
    }
    const node = element("li", {
      class: `message message-${m.direction}`, id: `message-${m.id}`, "data-message-id": String(m.id),
      "data-status": m.status, "data-created-at": m.created_at,
    }, [bubble]);
    node.dataset.signature = signature(m);
    return node;
  }

  const keyOf = (node) => [Date.parse(node.dataset.createdAt), Number(node.dataset.messageId)];
  const earlier = (a, b) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

  // Put a new message where its time says, searching from the newest end.
  function place(node) {
    const key = keyOf(node);
    let after = thread.list.lastElementChild;
    while (after && earlier(key, keyOf(after))) after = after.previousElementSibling;
    if (after) after.after(node);
    else thread.list.prepend(node);
  }

  const nearBottom = () => window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 120;
  const toBottom = () => window.scrollTo(0, document.documentElement.scrollHeight);

  // Add new messages and redraw changed ones; the new ones, in the order given.
  function merge(items) {
    const added = [];
    for (const m of items) {
      const shown = document.getElementById(`message-${m.id}`);
      if (shown && shown.dataset.signature === signature(m)) continue;
      const node = messageNode(m);
      if (shown) {
        const hadFocus = shown.contains(document.activeElement);
        shown.replaceWith(node);
        if (hadFocus) document.getElementById("reply-body").focus();
      } else {
        place(node);
        added.push(m);
      }
    }
    document.getElementById("thread-empty").hidden = thread.list.children.length > 0;
    return added;
  }

  function announce(added) {
    const inbound = added.filter((m) => m.direction === "in");
    if (inbound.length === 0) return;
    const last = inbound[inbound.length - 1];
    const from = authorLabel(last) || document.querySelector(".thread-title h1").textContent.trim();
    document.getElementById("thread-live").textContent = inbound.length === 1
      ? `New message from ${from}: ${(last.body || typeLabel(last.type)).slice(0, 120)}`
      : `${inbound.length} new messages`;
  }

  function schedulePoll(delay) {
    clearTimeout(thread.timer);
    thread.timer = null;
    if (document.visibilityState === "visible" && !thread.stopped) thread.timer = setTimeout(poll, delay);
  }

  // Polling cannot go on (signed out, or access taken away): say so, once.
  function stopPolling(reason) {
    thread.stopped = true;
    showReplyError(reason);
  }

  // One look at the newest page (a 304 while nothing changed); when all of it is
  // new, older pages follow until a message already shown (no gap in the thread).
  async function poll() {
    if (thread.polling || thread.stopped) return;
    thread.polling = true;
    try {
      const headers = { Accept: "application/json" };
      if (thread.etag) headers["If-None-Match"] = thread.etag;
      const response = await fetch(`${thread.messagesUrl}?limit=${POLL_SIZE}`, { headers, credentials: "same-origin" });
      if (response.status === 401 || response.status === 404) {
        stopPolling(response.status === 401
          ? "Your session has ended: sign in again to see new messages."
          : "You can no longer see this conversation: reload the page.");
        return;
      }
      if (response.status === 304 || !response.ok) return;
      const data = await response.json();
      const hadMessages = thread.list.children.length > 0;
      const follow = nearBottom();
      let added = merge(data.items);
      let cursor = data.next_cursor;
      for (let pages = 0; hadMessages && cursor && added.length === data.items.length && pages < MAX_WALK_PAGES; pages += 1) {
        const older = await api("GET", `${thread.messagesUrl}?limit=${WALK_SIZE}&cursor=${encodeURIComponent(cursor)}`);
        if (!older.ok) break;
        const more = merge(older.data.items);
        added = added.concat(more);
        cursor = more.length === older.data.items.length ? older.data.next_cursor : null;
      }
      thread.etag = response.headers.get("ETag");
      if (added.length && follow) toBottom();
      announce(added);
    } catch (offline) {
      // The next poll tries again.
    } finally {
      thread.polling = false;
      schedulePoll(POLL_MS);
    }
  }

  function showReplyError(text) {
    const line = document.getElementById("reply-error");
    line.textContent = text;
    line.hidden = !text;
  }

  function failureLine(failure) {
    return `${failure.title}. ${failure.advice}${failure.said ? ` (${failure.said})` : ""}`;
  }

  // 32 random hex digits (crypto.randomUUID needs HTTPS; this works over plain HTTP too).
  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  async function sendReply(event) {
    event.preventDefault();
    if (thread.sending) return;
    const box = document.getElementById("reply-body");
    const button = document.getElementById("reply-send");
    const text = box.value;
    if (!text.trim()) {
      showReplyError("Write a message first.");
      box.focus();
      return;
    }
    // A new key per attempt; the same one again only after an attempt that got no
    // answer (it may have reached the server), so nothing is ever sent twice.
    const key = thread.unanswered && thread.unanswered.text === text ? thread.unanswered.key : newKey();
    thread.sending = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    box.readOnly = true;
    showReplyError("");
    try {
      const answer = await api("POST", thread.messagesUrl, { body: text }, { "Idempotency-Key": key });
      if (answer.ok && answer.data) {
        thread.unanswered = null;
        box.value = "";
        merge([answer.data]);
        toBottom();
      } else {
        thread.unanswered = answer.status === 0 ? { text, key } : null;
        let line = failureLine(explainFailure(answer, "send the message"));
        if (answer.status === 502) line += " It is kept in the thread as not sent: press Retry there, or Send again.";
        showReplyError(line);
        poll();
      }
    } finally {
      thread.sending = false;
      button.disabled = false;
      button.removeAttribute("aria-busy");
      box.readOnly = false;
      box.focus();
    }
  }

  async function retryMessage(button) {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = "Retrying…";
    const answer = await api("POST", `/api/messages/${encodeURIComponent(button.dataset.retryMessage)}/retry`);
    if (answer.ok && answer.data) {
      merge([answer.data]);
      showReplyError("");
    } else {
      showReplyError(failureLine(explainFailure(answer, "send the message again")));
      if (button.isConnected) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        button.textContent = "Retry";
      }
      thread.etag = null; // redraw from the database: the error or status changed
      poll();
    }
  }

  function setEarlierStatus(text) {
    document.getElementById("earlier-status").textContent = text;
  }

  // Walk the stored thread from the newest page until past the oldest message
  // shown, adding what is missing (after a history fetch filled gaps and the past).
  async function walkStored() {
    const oldest = thread.list.firstElementChild ? keyOf(thread.list.firstElementChild) : null;
    let cursor = null;
    let added = [];
    for (let pages = 0; pages < MAX_WALK_PAGES; pages += 1) {
      const query = `?limit=${WALK_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const answer = await api("GET", thread.messagesUrl + query);
      if (!answer.ok) return { ok: false, answer, added };
      added = added.concat(merge(answer.data.items));
      cursor = answer.data.next_cursor;
      const items = answer.data.items;
      const last = items.length ? [Date.parse(items[items.length - 1].created_at), items[items.length - 1].id] : null;
      if (!cursor || oldest === null || (last && earlier(last, oldest))) break;
    }
    thread.earlierCursor = cursor;
    return { ok: true, added };
  }

  async function loadEarlier(button) {
    if (button.getAttribute("aria-busy") === "true") return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      if (thread.earlierCursor) {
        setEarlierStatus("Loading earlier messages…");
        const answer = await api("GET", `${thread.messagesUrl}?limit=${EARLIER_SIZE}&cursor=${encodeURIComponent(thread.earlierCursor)}`);
        if (!answer.ok) {
          setEarlierStatus(failureLine(explainFailure(answer, "load earlier messages")));
          return;
        }
        const added = merge(answer.data.items);
        thread.earlierCursor = answer.data.next_cursor;
        setEarlierStatus(
          `${added.length} earlier ${added.length === 1 ? "message" : "messages"} shown.` +
          (thread.earlierCursor ? "" : " That is all wa-manager has stored: press again to ask WhatsApp for older ones."),
        );
        return;
      }
      setEarlierStatus("Asking WhatsApp (UltraMsg) for this chat's history…");
      const limit = Math.min(MAX_HISTORY, thread.list.children.length + HISTORY_STEP);
      const fetched = await api("POST", `${thread.historyUrl}?limit=${limit}`);
      if (!fetched.ok || !fetched.data) {
        setEarlierStatus(failureLine(explainFailure(fetched, "fetch the history from WhatsApp")));
        return;
      }
      const walked = await walkStored();
      if (!walked.ok) {
        setEarlierStatus(failureLine(explainFailure(walked.answer, "load the fetched messages")));
        return;
      }
      const { fetched: count, created } = fetched.data;
      setEarlierStatus(
        created === 0
          ? `WhatsApp gave ${count} ${count === 1 ? "message" : "messages"}, none new: nothing older to show.`
          : `WhatsApp gave ${count} ${count === 1 ? "message" : "messages"}; ${created} new ${created === 1 ? "one is" : "ones are"} now shown.`,
      );
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  function startThread(root) {
    thread.root = root;
    thread.list = document.getElementById("messages");
    thread.messagesUrl = root.dataset.messagesUrl;
    thread.historyUrl = root.dataset.historyUrl;
    thread.earlierCursor = root.dataset.earlierCursor || null;
    for (const time of thread.list.querySelectorAll("time[datetime]")) time.textContent = localTime(time.getAttribute("datetime"));
    const form = document.getElementById("reply-form");
    const box = document.getElementById("reply-body");
    form.addEventListener("submit", sendReply);
    // Enter sends; Shift+Enter is a new line (Ctrl+Enter sends too); not while an IME composes.
    box.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.altKey || event.isComposing) return;
      event.preventDefault();
      form.requestSubmit();
    });
    box.addEventListener("input", () => showReplyError(""));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") poll();
      else schedulePoll(0); // clears the timer: a hidden tab does not poll
    });
    toBottom();
    schedulePoll(POLL_MS);
  }

  // -- wiring (event delegation, so swapped-in lists keep working) --------------

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const sync = target.closest("#sync-button");
    if (sync) {
      runSync(sync);
      return;
    }
    const number = target.closest("[data-sync-instance]");
    if (number) {
      syncNumber(number);
      return;
    }
    const link = target.closest("[data-link-users]");
    if (link) {
      openLinkDialog(link);
      return;
    }
    const retryButton = target.closest("[data-retry-message]");
    if (retryButton) {
      retryMessage(retryButton);
      return;
    }
    const earlierButton = target.closest("#load-earlier");
    if (earlierButton) {
      loadEarlier(earlierButton);
      return;
    }
    const close = target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
  });

  document.addEventListener("DOMContentLoaded", () => {
    const threadPage = document.getElementById("thread-page");
    if (threadPage) startThread(threadPage);
    const form = document.getElementById("link-form");
    if (form) form.addEventListener("submit", saveLinks);
    const status = document.getElementById("instance-status");
    if (status) showInstanceStatus(status);
    const numbers = document.getElementById("numbers");
    if (numbers) showNumberStatuses(numbers);
    const dialog = document.getElementById("link-dialog");
    if (dialog) {
      dialog.addEventListener("close", () => {
        if (linkState.opener && linkState.opener.isConnected) linkState.opener.focus();
      });
    }
  });
})();
