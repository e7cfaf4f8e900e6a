// wa-manager inbox list: the status filter applies itself on change, and the arrow
// keys (and j/k) move between conversations; Enter opens the focused one (a link).
"use strict";

(function () {
  function start() {
    document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
      select.addEventListener("change", () => select.form && select.form.submit());
    });
    const list = document.querySelector("[data-inbox-list]");
    if (!list) return;
    list.addEventListener("keydown", (event) => {
      const down = event.key === "ArrowDown" || event.key === "j";
      const up = event.key === "ArrowUp" || event.key === "k";
      if (!down && !up) return;
      const links = Array.from(list.querySelectorAll("a.conversation-link"));
      const index = links.indexOf(document.activeElement);
      if (index < 0) return;
      const next = links[index + (down ? 1 : -1)];
      if (next) {
        next.focus();
        event.preventDefault();
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
