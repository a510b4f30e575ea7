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
    // A space left after a term (a suggestion taken) is not part of the query.
    if (typeof detail.parameters.q === "string") detail.parameters.q = detail.parameters.q.trim();
  });

  // Search box and controls, two views of one state. The box holds the whole query (the URL's
  // q); picking a control rewrites that control's qualifier in the box, before htmx reads the
  // form; each answer says what every control shows for the query (#feed-state), so typing a
  // qualifier sets its control. Values are set in place: a control keeps the focus.
  function quoteTerm(value) {
    if (value && !/[\s"\\]/.test(value) && value.indexOf(":") === -1 && value.charAt(0) !== "-") {
      return value;
    }
    return '"' + value.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
  }

  function withoutKey(query, key) {
    var term = new RegExp("(^|\\s)-?" + key + ':(?:"(?:[^"\\\\]|\\\\.)*"?|\\S*)', "gi");
    return query.replace(term, " ").replace(/\s+/g, " ").trim();
  }

  function dateTerm(form) {
    var from = form.querySelector('[data-bound="from"]');
    var to = form.querySelector('[data-bound="to"]');
    var start = from ? from.value : "", end = to ? to.value : "";
    if (start && end) return "created:" + (start === end ? start : start + ".." + end);
    if (start) return "created:>=" + start;
    if (end) return "created:<=" + end;
    return "";
  }

  document.addEventListener("change", function (event) {
    var control = event.target;
    var form = control.closest && control.closest("form[data-search-form]");
    if (!form || !control.hasAttribute("data-key")) return;
    var box = form.querySelector("input[name=q]");
    var key = control.getAttribute("data-key");
    var term = "";
    if (key === "created") term = dateTerm(form);
    else if (control.tagName === "INPUT") {
      term = control.value.trim() ? key + ":" + quoteTerm(control.value.trim()) : "";
    } else if (control.selectedOptions && control.selectedOptions[0]) {
      term = control.selectedOptions[0].getAttribute("data-term") || "";
    }
    var query = withoutKey(box.value, key);
    box.value = term ? (query ? query + " " + term : term) : query;
  }, true);  // capture: before htmx, listening on the form, reads the box

  // A request made by a control sends that control's parameter (?action=edited, as the
  // bar always wrote it), the rest of the query staying in q; typing sends q alone.
  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    var form = detail.elt;
    var trigger = detail.triggeringEvent;
    if (!form.matches || !form.matches("form[data-search-form]") || !trigger || trigger.type !== "change") return;
    var control = trigger.target;
    if (!control || !control.hasAttribute || !control.hasAttribute("data-key")) return;
    var key = control.getAttribute("data-key");
    var rest = withoutKey(form.querySelector("input[name=q]").value, key);
    Object.keys(detail.parameters).forEach(function (name) { delete detail.parameters[name]; });
    if (rest) detail.parameters.q = rest;
    var fields = key === "created" ? form.querySelectorAll('[data-key="created"]') : [control];
    Array.prototype.forEach.call(fields, function (field) {
      if (field.value.trim()) detail.parameters[field.name] = field.value.trim();
    });
  });

  function followState(state) {
    var form = state && state.closest("form[data-search-form]");
    if (!form) return;
    var controls;
    try { controls = JSON.parse(state.getAttribute("data-controls") || "{}"); } catch (e) { return; }
    Object.keys(controls).forEach(function (name) {
      var control = form.querySelector('[name="' + name + '"]');
      if (!control || control.value === controls[name]) return;
      if (control.tagName === "SELECT" && !control.querySelector('option[value="' + CSS.escape(controls[name]) + '"]')) {
        control.value = "";
      } else {
        control.value = controls[name];
      }
    });
  }
  document.addEventListener("htmx:afterSettle", function () {
    followState(document.getElementById("feed-state"));
  });

  // Export links follow the filter bar: the box (which holds the whole query on a search
  // form, as the bar sends it) or, on a bar without one, every field in use.
  function followExport(form) {
    var links = form.querySelectorAll("a[data-export-format]");
    if (!links.length) return;
    var filters = new URLSearchParams();
    if (form.matches("[data-search-form]")) {
      var query = form.querySelector("input[name=q]").value.trim();
      if (query) filters.append("q", query);
    } else {
      new FormData(form).forEach(function (value, key) { if (value !== "") filters.append(key, value); });
    }
    Array.prototype.forEach.call(links, function (link) {
      var params = new URLSearchParams([["format", link.getAttribute("data-export-format")]]);
      filters.forEach(function (value, key) { params.append(key, value); });
      link.href = link.getAttribute("data-export-base") + "?" + params.toString();
    });
  }
  function exportFollows(event) {
    var form = event.target.closest && event.target.closest("form.filters");
    if (form) followExport(form);
  }
  document.addEventListener("input", exportFollows);
  document.addEventListener("change", exportFollows);  // bubbling: after the box is rewritten

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
    status.classList.add("failed");
    status.textContent = "Not saved: " + reason + " ";
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "small";
    retry.textContent = "Try again";
    retry.addEventListener("click", function () {
      if (control.type === "checkbox") control.checked = wanted;
      else control.value = wanted;
      status.classList.remove("failed");
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

  // A list's requests that fail (a tab, a filter, the next page): the server's error page
  // never takes the rows' place, the URL and the selected tab stay as they were (htmx pushes
  // the URL only with a swap), and a message where the rows are says what happened, with Try
  // again. A 4xx is the app's own answer (a refused filter, a tab no longer granted): shown.
  // Any other GET answered 5xx (a poll, a fragment) keeps what is on screen, quietly.
  var LIST_TARGETS = { panel: "This tab did not load", "feed-results": "The list did not update",
    "load-more": "The next page did not load" };
  function listTarget(detail) {
    var target = detail && detail.target;
    if (!target || !detail.requestConfig || detail.requestConfig.verb !== "get") return null;
    return LIST_TARGETS[target.id] ? target : null;
  }
  function clearFailure() {
    var old = document.getElementById("request-failed");
    if (old) old.remove();
  }
  function showFailure(detail, reason) {
    var target = listTarget(detail);
    if (!target) return;
    clearFailure();
    var box = document.createElement(target.id === "load-more" ? "li" : "div");
    box.id = "request-failed";
    box.className = "request-failed";
    box.setAttribute("role", "alert");
    box.appendChild(document.createTextNode(LIST_TARGETS[target.id] + ": " + reason + " "));
    var retry = document.createElement("button");
    retry.type = "button";
    retry.textContent = "Try again";
    var verb = detail.requestConfig.verb, path = detail.pathInfo.finalRequestPath;
    // Asked again as its element asked (its swap, its URL for the history).
    var elt = detail.requestConfig.elt;
    var source = elt && document.body.contains(elt) ? elt : target;
    retry.addEventListener("click", function () {
      box.remove();
      htmx.ajax(verb, path, { source: source, target: target });
    });
    box.appendChild(retry);
    target.parentNode.insertBefore(box, target);
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!detail.xhr || !detail.requestConfig) return;
    if (detail.xhr.status < 500 || detail.requestConfig.verb !== "get") return;
    detail.shouldSwap = false;
    showFailure(detail, "the server failed (" + detail.xhr.status + "). Nothing changed.");
  });
  document.addEventListener("htmx:sendError", function (event) {
    showFailure(event.detail, "the server could not be reached. Nothing changed.");
  });
  document.addEventListener("htmx:timeout", function (event) {
    showFailure(event.detail, "the server took too long. Nothing changed.");
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;  // none for a history restore
    if (target && (target.id === "panel" || LIST_TARGETS[target.id])) clearFailure();
  });
  // "Load more" is a link for browsers without JavaScript; here it asks for the next page in
  // place (after a failed scroll, say) instead of leaving the list.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#load-more a");
    if (!link) return;
    event.preventDefault();
    var sentinel = document.getElementById("load-more");
    htmx.ajax("get", link.getAttribute("href"), { source: sentinel, target: sentinel });
  });
  // The same URL twice in a row (typing, then Enter) is one entry of the history, not two.
  document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var history = event.detail.history;
    if (history && history.type === "push" && history.path === location.pathname + location.search) {
      history.type = "replace";
    }
  });

  // A tab clicked is marked at once (aria-busy, "pending") while its panel loads: on a slow
  // network the reader sees their click taken before the answer arrives.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var tab = event.detail.elt;
    if (!tab || !tab.matches || !tab.matches('[role="tab"]')) return;
    document.querySelectorAll('[role="tab"].pending').forEach(function (other) {
      other.classList.remove("pending");
      other.removeAttribute("aria-busy");
    });
    tab.classList.add("pending");
    tab.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var tab = event.detail.elt;
    if (!tab || !tab.matches || !tab.matches('[role="tab"]')) return;
    tab.classList.remove("pending");
    tab.removeAttribute("aria-busy");
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
  // The mark is on <html>, not on the panel: a swap still in flight for the old page (a row
  // that polls for itself, the "N new" banner) may replace the panel, and with it a class.
  document.addEventListener("htmx:historyCacheMiss", function () {
    document.documentElement.classList.add("stale", "loading");
  });
  function restored() { document.documentElement.classList.remove("stale", "loading"); }
  document.addEventListener("htmx:historyRestore", restored);
  document.addEventListener("htmx:historyCacheMissLoadError", restored);

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

  // Close the flyout once htmx has swapped in a new panel; not when a poll (the "new events"
  // banner, every 15 s) refreshes a part of the page under an open menu.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "panel") setOpen(false);
  });
})();

// Copy buttons (a new API token, shown once): copy the named field's text and say so in the
// status beside it. The clipboard API needs a secure context (https, localhost); elsewhere the
// text is selected and copied the older way, or left selected for Ctrl+C.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!field) return;
    function say(copied) {
      if (status) {
        status.textContent = copied
          ? "Copied to the clipboard."
          : "Could not copy by itself: the token is selected, press Ctrl+C (⌘C) to copy it.";
      }
      if (!copied) { field.focus(); field.select(); }
    }
    function copyBySelection() {
      field.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      if (copied) button.focus();
      say(copied);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { say(true); }, copyBySelection);
    } else {
      copyBySelection();
    }
  });
})();

// Row density (the switch beside the title): the choice is saved for the viewer, then the page
// changes in place; the filter card folds with compact rows (unless a control filters) and
// opens again with comfortable ones. If the save fails, nothing changes and the switch says so.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-density-switch]");
    if (!form || !window.fetch) return;
    event.preventDefault();
    var button = event.submitter;
    if (!button || !button.value) return;
    var data = new FormData(form);
    data.set("density", button.value);
    fetch(form.action, {method: "POST", body: data, headers: {"HX-Request": "true"}, credentials: "same-origin"})
      .then(function (answer) {
        if (!answer.ok) throw new Error(String(answer.status));
        var stream = form.closest(".stream");
        if (stream) stream.setAttribute("data-density", button.value);
        form.querySelectorAll("button[name=density]").forEach(function (other) {
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        });
        form.querySelector(".density-status").textContent = "";
        document.querySelectorAll("details.more-filters").forEach(function (fold) {
          if (button.value === "compact" && !fold.hasAttribute("data-active")) fold.removeAttribute("open");
          if (button.value !== "compact" && !window.matchMedia("(max-width: 640px)").matches) fold.setAttribute("open", "");
        });
      })
      .catch(function () {
        form.querySelector(".density-status").textContent = "Not saved: the server did not answer. Try again.";
      });
  });
})();

// Search suggestions: the box of a search form is an ARIA combobox. The word at the caret
// brings the keys that start with it (act → actor:, action:) and, after a key, that key's
// values as the filter bar's own controls offer them (actor:da → actor:"Dana Scully"): the
// controls are the one source, so a suggestion never names what the viewer's controls do not.
// Arrow keys move, Enter or a click takes one, Escape closes; a value taken searches at once.
(function () {
  "use strict";
  var LIMIT = 8;
  var counter = 0;

  function boxOf(target) {
    return target && target.matches && target.matches("form[data-search-form] input[name=q]") ? target : null;
  }

  function listOf(box) {
    var list = document.getElementById(box.getAttribute("aria-controls") || "");
    if (list) return list;
    list = document.createElement("ul");
    list.id = box.id + "-suggestions";
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Search suggestions");
    list.hidden = true;
    // Beside the box's label, not in it: the options must not become part of the box's name.
    var label = box.closest("label") || box;
    label.parentNode.insertBefore(list, label.nextSibling);
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-expanded", "false");
    box.setAttribute("aria-controls", list.id);
    return list;
  }

  // The word at the caret: its start, an optional "-", its key and the value typed so far.
  function wordAt(box) {
    var before = box.value.slice(0, box.selectionStart == null ? box.value.length : box.selectionStart);
    var match = /(-?)([A-Za-z_]+:(?:"[^"]*|\S*)|\S*)$/.exec(before);
    var word = match[2];
    var colon = word.indexOf(":");
    return {
      start: before.length - match[0].length,
      end: before.length,
      minus: match[1],
      key: colon > 0 ? word.slice(0, colon).toLowerCase() : null,
      typed: (colon > 0 ? word.slice(colon + 1) : word).replace(/^"/, "").toLowerCase()
    };
  }

  function startsAWord(text, typed) {
    if (!typed) return true;
    text = text.toLowerCase();
    return text.indexOf(typed) === 0 || text.indexOf(" " + typed) !== -1 || text.indexOf("@" + typed) !== -1;
  }

  function controlLabel(form, key) {
    var control = form.querySelector('[data-key="' + key + '"]');
    var label = control && control.closest("label");
    return label ? label.firstChild.textContent.trim() : "";
  }

  function candidates(form, word) {
    var found = [];
    if (word.key) {
      form.querySelectorAll('select[data-key="' + CSS.escape(word.key) + '"] option[data-term]').forEach(function (option) {
        var label = option.textContent.trim();
        var term = option.getAttribute("data-term");
        if (startsAWord(label, word.typed) || startsAWord(term.slice(term.indexOf(":") + 1).replace(/"/g, ""), word.typed)) {
          found.push({insert: term, label: label, hint: controlLabel(form, word.key), value: true});
        }
      });
    } else {
      (form.getAttribute("data-keys") || "").split(" ").forEach(function (key) {
        if (key && key.indexOf(word.typed) === 0) {
          found.push({insert: key + ":", label: key + ":", hint: controlLabel(form, key) || (key === "created" ? "a day or days" : ""), value: false});
        }
      });
    }
    return found.slice(0, LIMIT);
  }

  function close(box) {
    var list = document.getElementById(box.getAttribute("aria-controls") || "");
    if (list) { list.hidden = true; list.innerHTML = ""; }
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
  }

  function show(box, always) {
    var form = box.closest("form");
    var word = wordAt(box);
    if (!always && !word.key && !word.typed) { close(box); return; }
    var found = candidates(form, word);
    var list = listOf(box);
    list.innerHTML = "";
    if (!found.length) { close(box); return; }
    found.forEach(function (item) {
      var option = document.createElement("li");
      option.id = list.id + "-" + (++counter);
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.setAttribute("data-insert", word.minus + item.insert);
      if (item.value) option.setAttribute("data-value", "");
      var name = document.createElement("span");
      name.textContent = item.label;
      option.appendChild(name);
      if (item.hint) {
        var hint = document.createElement("span");
        hint.className = "suggestion-hint";
        hint.textContent = item.hint;
        option.appendChild(hint);
      }
      list.appendChild(option);
    });
    // Under the box (the form is the list's positioned ancestor).
    list.style.top = box.offsetTop + box.offsetHeight + 2 + "px";
    list.style.left = box.offsetLeft + "px";
    list.style.width = box.offsetWidth + "px";
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
    box.removeAttribute("aria-activedescendant");
  }

  function move(box, step) {
    var list = listOf(box);
    var options = Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
    if (!options.length) return;
    var current = options.findIndex(function (option) { return option.getAttribute("aria-selected") === "true"; });
    var next = current === -1 ? (step > 0 ? 0 : options.length - 1) : (current + step + options.length) % options.length;
    options.forEach(function (option, index) { option.setAttribute("aria-selected", index === next ? "true" : "false"); });
    box.setAttribute("aria-activedescendant", options[next].id);
    options[next].scrollIntoView({block: "nearest"});
  }

  function take(box, option) {
    var word = wordAt(box);
    var insert = option.getAttribute("data-insert");
    var isValue = option.hasAttribute("data-value");
    var after = box.value.slice(word.end).replace(/^\S*/, "");  // the rest of a word being edited
    var text = box.value.slice(0, word.start) + insert + (isValue ? " " : "");
    box.value = text + after.replace(/^\s+/, "");
    box.setSelectionRange(text.length, text.length);
    close(box);
    box.dispatchEvent(new Event("input", {bubbles: true}));
    if (isValue) box.form.requestSubmit();
    else show(box, true);
  }

  // Each search box becomes a combobox once the page (or a panel swapped in) has it.
  function prepare(root) {
    (root || document).querySelectorAll("form[data-search-form] input[name=q]").forEach(listOf);
  }
  document.addEventListener("DOMContentLoaded", function () { prepare(); });
  document.addEventListener("htmx:afterSettle", function (event) { prepare(event.detail.elt); });

  document.addEventListener("input", function (event) {
    var box = boxOf(event.target);
    if (box) show(box, false);
  });

  document.addEventListener("keydown", function (event) {
    var box = boxOf(event.target);
    if (!box) return;
    var open = box.getAttribute("aria-expanded") === "true";
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) show(box, true);
      move(box, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      close(box);
    } else if ((event.key === "Enter" || event.key === "Tab") && open && box.getAttribute("aria-activedescendant")) {
      var chosen = document.getElementById(box.getAttribute("aria-activedescendant"));
      if (chosen) { event.preventDefault(); take(box, chosen); }
    }
  });

  // A click takes a suggestion; mousedown keeps the focus in the box.
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest(".suggestions [role=option]");
    if (!option) return;
    event.preventDefault();
    var box = document.querySelector('[aria-controls="' + option.parentNode.id + '"]');
    if (box) take(box, option);
  });

  document.addEventListener("focusout", function (event) {
    var box = boxOf(event.target);
    if (box) close(box);
  });
})();
