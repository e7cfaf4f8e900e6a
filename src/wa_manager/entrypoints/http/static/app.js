// wa-manager web UI: the Sync WhatsApp button and the Link Users dialog.
// Loaded as a static file (the Content-Security-Policy forbids inline scripts);
// every state-changing request carries the CSRF token from <meta name="csrf-token">.
// Text from the server is only ever put in the page with textContent, never as HTML.
"use strict";

(function () {
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
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
        result.replaceChildren(reportBox(answer.data));
      } else {
        result.replaceChildren(failureBox(explainFailure(answer, "sync WhatsApp")));
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

  // -- wiring (event delegation, so swapped-in lists keep working) --------------

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const sync = target.closest("#sync-button");
    if (sync) {
      runSync(sync);
      return;
    }
    const link = target.closest("[data-link-users]");
    if (link) {
      openLinkDialog(link);
      return;
    }
    const close = target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
  });

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("link-form");
    if (form) form.addEventListener("submit", saveLinks);
    const status = document.getElementById("instance-status");
    if (status) showInstanceStatus(status);
    const dialog = document.getElementById("link-dialog");
    if (dialog) {
      dialog.addEventListener("close", () => {
        if (linkState.opener && linkState.opener.isConnected) linkState.opener.focus();
      });
    }
  });
})();
