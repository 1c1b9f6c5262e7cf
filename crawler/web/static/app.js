// Keyboard shortcuts for the review app. A static file because the CSP allows no inline
// script; no eval, no network. An element with data-key="k" is what key k does: a button or
// link is clicked, a text box is focused. The queue adds j/k (move), x (select) and o (open).
"use strict";

(() => {
  const TYPING = /^(INPUT|TEXTAREA|SELECT)$/;
  const typing = (element) =>
    element !== null && (element.isContentEditable || TYPING.test(element.tagName));

  const rows = () => Array.from(document.querySelectorAll("tr[data-alert-id]"));
  let current = -1;

  const select = (index) => {
    const all = rows();
    if (all.length === 0) return;
    current = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((row, i) => row.classList.toggle("current", i === current));
    all[current].scrollIntoView({ block: "nearest" });
  };

  const currentRow = () => (current >= 0 ? rows()[current] : undefined);

  const queueKey = (key) => {
    if (key === "j") select(current + 1);
    else if (key === "k") select(current - 1);
    else if (key === "x") {
      const box = currentRow()?.querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (key === "o") {
      currentRow()?.querySelector("a.open")?.click();
    } else return false;
    return true;
  };

  const needsReason = (target) => {
    if (!target.hasAttribute("data-needs-reason")) return false;
    const reason = target.form?.querySelector("[name=reason]");
    if (!reason || reason.value.trim() !== "") return false;
    reason.focus();
    reason.setAttribute("aria-invalid", "true");
    return true;
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const active = document.activeElement;
    if (typing(active)) {
      if (event.key === "Escape") active.blur();
      return;
    }
    const key = event.key;
    if (rows().length > 0 && queueKey(key)) {
      event.preventDefault();
      return;
    }
    const target = document.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (target === null) return;
    event.preventDefault();
    if (typing(target)) target.focus();
    else if (!needsReason(target)) target.click();
  });
})();
