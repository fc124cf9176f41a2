/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  function announce(text, kind) {
    var region = document.getElementById("flash");
    if (!region) { return; }
    region.innerHTML = "";
    var p = document.createElement("p");
    p.className = "notice notice-" + (kind || "error");
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

  /* The session's end (WCAG 2.2.1, RGAA 13.1). The server writes on <body> how many seconds
     the session has left (data-session-remaining) and how long before the end to warn
     (data-session-warn); every response repeats the time left in a header. Two minutes
     before the end, the warning opens with focus on « Rester connecté » (a form post: htmx
     sends it, 204 and the new time left come back); focus then returns where it was. Other
     tabs of the portal share the latest end through localStorage, so an active tab keeps an
     idle one from warning for nothing. At the end, the warning says the session is closed
     and offers to log in again, back to this page; nothing is sent by itself. */
  var session = (function () {
    var body = document.body;
    var warning = document.getElementById("session-warning");
    var left = parseInt(body && body.getAttribute("data-session-remaining"), 10);
    if (!warning || isNaN(left)) { return null; }
    var warnMs = (parseInt(body.getAttribute("data-session-warn"), 10) || 120) * 1000;
    var KEY = "ecp-session-ends";
    var form = document.getElementById("session-extend-form");
    var button = document.getElementById("session-extend");
    var title = document.getElementById("session-warning-title");
    var login = document.getElementById("session-login");
    var endsAt = Date.now() + left * 1000;
    var timer = null;
    var ticker = null;
    var returnTo = null;
    var state = "closed";

    function shared() {
      try { return parseInt(window.localStorage.getItem(KEY), 10) || 0; } catch (e) { return 0; }
    }
    function share() {
      try { window.localStorage.setItem(KEY, String(endsAt)); } catch (e) { /* private mode */ }
    }
    function here() { return window.location.pathname + window.location.search; }

    function words(ms) {
      if (ms <= 60000) { return "moins d’une minute"; }
      return "moins de " + Math.ceil(ms / 60000) + " minutes";
    }

    function showState(name) {
      var parts = warning.querySelectorAll("[data-session-state]");
      for (var i = 0; i < parts.length; i++) {
        var wanted = parts[i].getAttribute("data-session-state");
        /* The title has no "final" version: the warning's stands for both. */
        var show = wanted === name || (name === "final" && wanted === "warning" && parts[i].parentNode === title);
        parts[i].hidden = !show;
      }
    }

    function update() {
      var text = words(endsAt - Date.now());
      var spots = warning.querySelectorAll("[data-session-left]");
      for (var i = 0; i < spots.length; i++) {
        if (spots[i].textContent !== text) { spots[i].textContent = text; }
      }
    }

    function open(name) {
      if (state === "closed") {
        returnTo = document.activeElement;
        warning.hidden = false;
      }
      state = name;
      showState(name);
      update();
      var next = form && form.querySelector("input[name=next]");
      if (next) { next.value = here(); }
      if (login) { login.href = login.getAttribute("data-login") + "?next=" + encodeURIComponent(here()).replace(/%2F/g, "/"); }
      clearInterval(ticker);
      if (name !== "ended") { ticker = setInterval(tick, 1000); }
      var target = name === "warning" ? button : title;
      if (target) { target.focus(); }
    }

    function close(restoreFocus) {
      var inside = warning.contains(document.activeElement);
      warning.hidden = true;
      state = "closed";
      clearInterval(ticker);
      if (restoreFocus || inside) {
        var back = returnTo && document.contains(returnTo) && returnTo !== document.body ? returnTo : document.getElementById("main");
        if (back) { back.focus(); }
      }
      returnTo = null;
    }

    function check() {
      var other = shared();
      if (other > endsAt) { endsAt = other; }
      var now = Date.now();
      if (now >= endsAt) { open("ended"); return; }
      if (endsAt - now > warnMs) {
        if (state !== "closed") { close(false); }
        schedule();
        return;
      }
      var extendable = body.getAttribute("data-session-final") !== "true";
      open(extendable ? "warning" : "final");
    }

    function tick() {
      if (Date.now() >= endsAt || shared() > endsAt) { check(); } else { update(); }
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(check, Math.max(0, endsAt - warnMs - Date.now()));
    }

    /* What the server said about the time left (a response header or the extension). */
    function heard(seconds, extended) {
      if (isNaN(seconds)) { return; }
      endsAt = Date.now() + seconds * 1000;
      share();
      if (extended && seconds * 1000 <= warnMs) {
        /* The 12-hour limit is near: staying does not help any more. */
        body.setAttribute("data-session-final", "true");
      }
      if (state !== "closed" && state !== "ended" && endsAt - Date.now() > warnMs) {
        close(extended);
        if (extended) { announce("Vous restez connecté.", "success"); }
      }
      schedule();
    }

    window.addEventListener("storage", function (event) {
      if (event.key === KEY && state !== "ended") { check(); }
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && state !== "ended") { check(); }
    });
    share();
    schedule();
    return { heard: heard };
  })();

  document.addEventListener("htmx:afterRequest", function (event) {
    if (!session || !event.detail.xhr) { return; }
    var extended = event.detail.elt && event.detail.elt.id === "session-extend-form";
    var value = parseInt(event.detail.xhr.getResponseHeader("ECP-Session-Remaining"), 10);
    if (event.detail.successful || extended) { session.heard(value, extended && event.detail.xhr.status === 204); }
  });

  /* « Tout sélectionner »: without JavaScript a link that reloads the list with every box
     ticked; here a button that ticks (or unticks) the boxes of its form in place and says how
     many are ticked. */
  function selectAllLabel(link, boxes) {
    var all = boxes.length > 0;
    for (var i = 0; i < boxes.length; i++) { if (!boxes[i].checked) { all = false; } }
    link.textContent = all ? "Tout désélectionner" : "Tout sélectionner";
    link.setAttribute("aria-pressed", all ? "true" : "false");
  }
  function selectAll(link) {
    var form = document.getElementById(link.getAttribute("data-select-all"));
    if (!form) { return; }
    var boxes = form.querySelectorAll('input[type="checkbox"][name="' + link.getAttribute("data-select-name") + '"]');
    var tick = link.getAttribute("aria-pressed") !== "true";
    var count = 0;
    for (var i = 0; i < boxes.length; i++) { boxes[i].checked = tick; if (tick) { count++; } }
    selectAllLabel(link, boxes);
    var words = count > 1 ? link.getAttribute("data-select-many") : link.getAttribute("data-select-one");
    announce(count === 0 ? "Aucune sélection." : count + " " + words + ".", "info");
  }
  function prepareSelectAll(root) {
    var links = (root.querySelectorAll ? root : document).querySelectorAll("[data-select-all]");
    for (var i = 0; i < links.length; i++) {
      var link = links[i];
      var form = document.getElementById(link.getAttribute("data-select-all"));
      link.setAttribute("role", "button");
      if (form) { selectAllLabel(link, form.querySelectorAll('input[type="checkbox"][name="' + link.getAttribute("data-select-name") + '"]')); }
    }
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-select-all]") : null;
    if (!link) { return; }
    event.preventDefault();
    selectAll(link);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== " ") { return; }
    var link = event.target.closest ? event.target.closest("[data-select-all]") : null;
    if (!link) { return; }
    event.preventDefault();
    selectAll(link);
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.form || box.type !== "checkbox") { return; }
    var link = box.form.querySelector("[data-select-all]");
    if (link) { selectAllLabel(link, box.form.querySelectorAll('input[type="checkbox"][name="' + link.getAttribute("data-select-name") + '"]')); }
  });
  prepareSelectAll(document);
  document.addEventListener("htmx:afterSettle", function (event) { prepareSelectAll(event.detail.elt || document); });

  /* Pointage: « Tous présents » marks every child of its list present in the page, without a
     request (without JavaScript the button submits the page's form and the server does it);
     the list's status says so, and the list still has to be saved. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-all-present]") : null;
    var list = button && document.getElementById(button.getAttribute("data-all-present"));
    if (!list) { return; }
    event.preventDefault();
    var radios = list.querySelectorAll("input[type=radio][value=present]");
    for (var i = 0; i < radios.length; i++) { radios[i].checked = true; }
    var status = list.querySelector("[role=status]");
    if (status) {
      var n = radios.length;
      var p = document.createElement("p");
      p.className = "notice";
      p.textContent = n + (n > 1 ? " enfants marqués présents" : " enfant marqué présent") +
        " : enregistrez la liste pour valider le pointage.";
      status.innerHTML = "";
      status.appendChild(p);
    }
  });

  /* After a swap, move focus to what the server marked as the result, so keyboard and
     screen-reader users land on it instead of the top of the page. The server's part, for
     any page: `data-focus` on the element to focus (a tabindex is added when it needs one),
     a top-level <title> in the fragment (htmx makes it the page's title) and the live region
     #flash swapped out of band (partials/flash_oob.html, with `announce` for a sentence read
     out only). When a swap leaves focus on <body> with nothing marked (the focused element
     was replaced), focus goes to the swapped content's first heading, else to <main>. */
  function focusOn(el) {
    if (!el.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA|SUMMARY)$/.test(el.tagName)) {
      el.setAttribute("tabindex", "-1");
    }
    el.focus();
  }

  var lostFocusCheck = null;
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.detail.elt || document;
    var focusTarget = root.querySelector ? root.querySelector("[data-focus]") : null;
    if (!focusTarget && root.hasAttribute && root.hasAttribute("data-focus")) { focusTarget = root; }
    if (focusTarget) {
      focusOn(focusTarget);
      return;
    }
    /* Every swapped element (the target and the out-of-band ones) settles: decide once, after
       them all, from the target's content. */
    var target = event.detail.target;
    if (lostFocusCheck || !target) { return; }
    lostFocusCheck = window.setTimeout(function () {
      lostFocusCheck = null;
      var active = document.activeElement;
      if (active && active !== document.body && document.contains(active)) { return; }
      /* An outerHTML swap replaced the target: its successor has its id. */
      var within = document.contains(target) ? target : (target.id && document.getElementById(target.id)) || document.getElementById("main");
      var heading = within && within.querySelector ? within.querySelector("h1, h2, h3") : null;
      var fallback = heading || document.getElementById("main");
      if (fallback) { focusOn(fallback); }
    }, 0);
  });
  /* Invoices to pay (partials/payments/invoice_choice.html): the total of the ticked boxes,
     said politely each time it changes. The server computes it again on the next page. */
  function money(cents) {
    try {
      return new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" }).format(cents / 100);
    } catch (e) {
      return (cents / 100).toFixed(2).replace(".", ",") + "\u00a0€";
    }
  }
  function chosenTotal(root) {
    var box = root.querySelector ? root.querySelector("[data-pay-choices]") : null;
    var out = root.querySelector ? root.querySelector("[data-chosen-total]") : null;
    if (!box || !out || box.hasAttribute("data-total-bound")) { return; }
    box.setAttribute("data-total-bound", "");
    function update() {
      var inputs = box.querySelectorAll("input[type=checkbox][data-cents]");
      var cents = 0, count = 0;
      for (var i = 0; i < inputs.length; i++) {
        if (inputs[i].checked) { cents += parseInt(inputs[i].getAttribute("data-cents"), 10) || 0; count += 1; }
      }
      out.textContent = count === 0
        ? "Aucune facture cochée : cochez au moins une facture."
        : "Total choisi : " + money(cents) + " (" + count + " facture" + (count > 1 ? "s" : "") + ")";
      out.hidden = false;
    }
    box.addEventListener("change", update);
    update();
  }
  chosenTotal(document);
  document.addEventListener("htmx:afterSettle", function () { chosenTotal(document); });
})();
