// wa-manager workflow controls (assignee picker, Resolve / Reopen) on a conversation.
// Each control is a plain form that works without JavaScript; this script sends the
// same change as PATCH /api/conversations/{id} (with the CSRF token) and updates the
// controls in place. Server text is only ever set with textContent.
"use strict";

(function () {
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  function show(section, conversation) {
    const badge = section.querySelector("[data-workflow-status]");
    if (badge) {
      badge.textContent = conversation.status;
      badge.className = "badge badge-" + conversation.status;
    }
    const picker = section.querySelector("[data-workflow-assignee]");
    if (picker) picker.value = conversation.assigned_user_id === null ? "" : String(conversation.assigned_user_id);
    const toggle = section.querySelector("[data-workflow-toggle]");
    if (toggle) {
      const resolved = conversation.status === "resolved";
      toggle.textContent = resolved ? "Reopen" : "Resolve";
      toggle.className = resolved ? "button" : "button button-primary";
      const field = toggle.form.querySelector('input[name="status"]');
      if (field) field.value = resolved ? "active" : "resolved";
    }
  }

  function say(section, text, kind) {
    const line = section.querySelector("[data-workflow-message]");
    if (!line) return;
    line.textContent = text;
    line.dataset.kind = kind;
  }

  async function send(section, form) {
    const body = {};
    const status = form.querySelector('input[name="status"]');
    const assignee = form.querySelector('select[name="assigned_user_id"]');
    if (status) body.status = status.value;
    if (assignee) body.assigned_user_id = assignee.value === "" ? null : Number(assignee.value);
    const buttons = form.querySelectorAll("button");
    buttons.forEach((button) => (button.disabled = true));
    try {
      const response = await fetch(section.dataset.api, {
        method: "PATCH",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => null);
      if (response.ok && data) {
        show(section, data);
        say(section, status ? "Status: " + data.status : "Assignment saved.", "ok");
      } else {
        const said = data && data.error && typeof data.error.message === "string" ? data.error.message : "";
        say(section, said ? "Not changed: " + said : "Not changed (HTTP " + response.status + ").", "error");
      }
    } catch (networkError) {
      say(section, "Not changed: the server did not answer. Try again.", "error");
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  }

  function start() {
    document.querySelectorAll("[data-workflow]").forEach((section) => {
      section.querySelectorAll("form[data-workflow-form]").forEach((form) => {
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          send(section, form);
        });
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
