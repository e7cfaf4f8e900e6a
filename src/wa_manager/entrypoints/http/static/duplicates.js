// wa-manager: the Merge confirmation of Settings › Possible duplicates.
// Loaded as a static file (the Content-Security-Policy forbids inline scripts); the
// merge is a POST to the API with the CSRF token from <meta name="csrf-token">.
// Text from the server is only ever put in the page with textContent.
"use strict";

(function () {
  const dialog = document.getElementById("merge-dialog");
  if (!dialog) return;
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };
  const byId = (id) => document.getElementById(id);
  let current = null;

  function chosen() {
    if (!current) return null;
    const keepFirst = byId("merge-keep-first").checked;
    return keepFirst
      ? { survivor: current.firstId, merged: current.secondId, survivorLabel: current.firstLabel, mergedLabel: current.secondLabel }
      : { survivor: current.secondId, merged: current.firstId, survivorLabel: current.secondLabel, mergedLabel: current.firstLabel };
  }

  function describe() {
    const choice = chosen();
    if (!choice) return;
    byId("merge-summary").textContent =
      `${choice.mergedLabel} will be merged into ${choice.survivorLabel}.`;
    byId("merge-viewers").textContent =
      `Afterwards ${current.viewers} will see ${choice.survivorLabel}: everyone who could see either contact.`;
  }

  for (const button of document.querySelectorAll("[data-merge]")) {
    button.addEventListener("click", () => {
      current = {
        firstId: Number(button.dataset.firstId),
        secondId: Number(button.dataset.secondId),
        firstLabel: button.dataset.firstLabel,
        secondLabel: button.dataset.secondLabel,
        viewers: button.dataset.viewers,
      };
      byId("merge-first-label").textContent = current.firstLabel;
      byId("merge-second-label").textContent = current.secondLabel;
      const keepFirst = Number(button.dataset.survivorDefault) === current.firstId;
      byId("merge-keep-first").checked = keepFirst;
      byId("merge-keep-second").checked = !keepFirst;
      byId("merge-error").hidden = true;
      describe();
      dialog.showModal();
    });
  }
  byId("merge-keep-first").addEventListener("change", describe);
  byId("merge-keep-second").addEventListener("change", describe);
  for (const closer of dialog.querySelectorAll("[data-close-dialog]")) {
    closer.addEventListener("click", () => dialog.close());
  }

  byId("merge-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const choice = chosen();
    if (!choice) return;
    const confirm = byId("merge-confirm");
    confirm.disabled = true;
    let response = null;
    let data = null;
    try {
      response = await fetch(`/api/contacts/${choice.merged}/merge`, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ into: choice.survivor }),
      });
      data = await response.json();
    } catch (failed) {
      data = null;
    }
    confirm.disabled = false;
    if (response && response.ok && data && data.wa_id) {
      window.location.assign(`/settings/contact-links?search=${encodeURIComponent(data.wa_id)}`);
      return;
    }
    const message = data && data.error && data.error.message
      ? data.error.message
      : "The merge did not happen. Reload the page and try again.";
    const box = byId("merge-error");
    box.textContent = `Could not merge: ${message}`;
    box.hidden = false;
  });
})();
