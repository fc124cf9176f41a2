/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("flash");
    if (!region) { return; }
    region.innerHTML = "";
    var p = document.createElement("p");
    p.className = "notice notice-error";
    p.textContent = text;
    region.appendChild(p);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target) { target.setAttribute("aria-busy", "true"); }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var target = event.detail.target;
    if (target) { target.removeAttribute("aria-busy"); }
  });

  document.addEventListener("htmx:sendError", function () {
    announce("La connexion au serveur a échoué. Vérifiez votre connexion puis réessayez.");
  });

  /* After a swap, move focus to what the server marked as the result, so keyboard and
     screen-reader users land on it instead of the top of the page. */
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.detail.elt || document;
    var focusTarget = root.querySelector ? root.querySelector("[data-focus]") : null;
    if (!focusTarget && root.hasAttribute && root.hasAttribute("data-focus")) { focusTarget = root; }
    if (focusTarget) {
      if (!focusTarget.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(focusTarget.tagName)) {
        focusTarget.setAttribute("tabindex", "-1");
      }
      focusTarget.focus();
    }
  });
})();
