// Small progressive enhancements; htmx does the rest. Everything here also works without it.
(function () {
  "use strict";

  // Flyout Menu: the toggle is a link to #flyout (CSS :target opens it without JavaScript);
  // here it also closes on Escape and on a click outside, and reports its state to assistive tech.
  function flyout() { return document.getElementById("flyout"); }
  function toggle() { return document.querySelector(".flyout-toggle"); }

  function setOpen(open) {
    var menu = flyout();
    if (!menu) return;
    menu.classList.toggle("open", open);
    var button = toggle();
    if (button) button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = menu.querySelector("ul a");
      if (first) first.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var menu = flyout();
    if (!menu) return;
    if (event.target.closest(".flyout-toggle")) {
      event.preventDefault();
      setOpen(!menu.classList.contains("open"));
    } else if (event.target.closest(".flyout-close")) {
      event.preventDefault();
      setOpen(false);
      if (toggle()) toggle().focus();
    } else if (menu.classList.contains("open") && !event.target.closest("#flyout")) {
      setOpen(false);
    }
  });

  document.addEventListener("keydown", function (event) {
    var menu = flyout();
    if (event.key === "Escape" && menu && menu.classList.contains("open")) {
      setOpen(false);
      if (toggle()) toggle().focus();
    }
    // WAI-ARIA tabs: arrow keys move between tabs, Home/End jump to the ends.
    var tab = event.target.closest && event.target.closest('[role="tab"]');
    if (!tab) return;
    var tabs = Array.prototype.slice.call(tab.parentElement.querySelectorAll('[role="tab"]'));
    var index = tabs.indexOf(tab);
    var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    tabs[(next + tabs.length) % tabs.length].focus();
  });

  // Filter bars: leave empty fields out of the request, so the URL pushed to the history (a deep
  // link) names only the filters in use: ?action=commented, not ?q=&actor=&action=commented&…
  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    if (detail.verb !== "get" || !detail.elt.matches || !detail.elt.matches("form.filters")) return;
    var empty = [];
    detail.formData.forEach(function (value, key) {
      if (value === "" && detail.formData.getAll(key).every(function (v) { return v === ""; })) {
        empty.push(key);
      }
    });
    empty.forEach(function (key) { delete detail.parameters[key]; });
  });

  // Settings controls (a grant checkbox, a scope select) save themselves. When a save fails —
  // the server refuses, or the network is down — keep the control, put it back to what is
  // really saved, and say why in the status line, with a button to try again.
  function savedControl(form) {
    return form.querySelector("input[type=checkbox][data-grant], select[data-scope]");
  }

  function revert(control) {
    if (control.type === "checkbox") control.checked = !control.checked;
    else control.value = control.getAttribute("data-saved");
  }

  function reportFailure(form, reason) {
    var control = savedControl(form);
    var status = document.getElementById("settings-status");
    if (!control || !status) return;
    var wanted = control.type === "checkbox" ? control.checked : control.value;
    revert(control);
    status.textContent = "Not saved: " + reason + " ";
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "small";
    retry.textContent = "Try again";
    retry.addEventListener("click", function () {
      if (control.type === "checkbox") control.checked = wanted;
      else control.value = wanted;
      status.textContent = "Saving…";
      htmx.trigger(form, "change");
    });
    status.appendChild(retry);
    retry.focus();
  }

  function settingsForm(event) {
    var form = event.detail.elt;
    return form && form.matches && form.matches("form.toggle, form.scope") ? form : null;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = settingsForm(event);
    if (!form || !event.detail.isError) return;
    event.detail.shouldSwap = false;  // the refusal must not take the control's place
    var text = new DOMParser().parseFromString(event.detail.xhr.responseText, "text/html");
    var alert = text.querySelector(".alert, .error-page p, p");
    reportFailure(form, (alert ? alert.textContent : "the server refused it").trim());
  });

  document.addEventListener("htmx:sendError", function (event) {
    var form = settingsForm(event);
    if (form) reportFailure(form, "the server could not be reached.");
  });

  // Progress: while the panel or its results are being fetched (a tab, a filter, "show"),
  // they are marked busy, dimmed, with a bar at the top of the page. htmx itself only marks
  // the element that made the request.
  var pending = 0;
  function busyTarget(event) {
    var target = event.detail.target;
    return target && (target.id === "panel" || target.id === "feed-results") ? target : null;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = busyTarget(event);
    if (!target) return;
    pending += 1;
    target.setAttribute("aria-busy", "true");
    document.documentElement.classList.add("loading");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var target = busyTarget(event);
    if (!target) return;
    pending = Math.max(0, pending - 1);
    target.removeAttribute("aria-busy");
    if (!pending) document.documentElement.classList.remove("loading");
  });

  // Back and Forward: the page for the URL is fetched again (no history cache). Until it
  // arrives, the content on screen belongs to another URL: hide it rather than show it there.
  document.addEventListener("htmx:historyCacheMiss", function () {
    var panel = document.getElementById("panel");
    if (panel) panel.classList.add("stale");
    document.documentElement.classList.add("loading");
  });

  // On a phone, the filters other than Search fold behind one "Filters" button, unless some
  // are in use; the first row then shows on the first screen.
  function foldFilters(root) {
    if (!window.matchMedia("(max-width: 640px)").matches) return;
    (root || document).querySelectorAll("details[data-fold-on-phone]").forEach(function (fold) {
      if (!fold.hasAttribute("data-active")) fold.removeAttribute("open");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { foldFilters(); });
  document.addEventListener("htmx:afterSettle", function (event) { foldFilters(event.detail.elt); });

  // Close the flyout once htmx has swapped in a new panel.
  document.addEventListener("htmx:afterSwap", function () { setOpen(false); });
})();
