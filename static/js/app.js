/* Service desk: keyboard shortcuts, live priority, caller lookup, small form helpers.
 *
 * No framework, no external requests: everything reads data the server put in the page
 * (data-* attributes and <script type="application/json"> blocks). */
(function () {
  "use strict";

  function isTyping(el) {
    if (!el || el === document.body) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function submitForm(form) {
    if (!form) return;
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  }

  /* --- global shortcuts: n / Alt+N new ticket, / queue search ------------------------- */
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented) return;
    var body = document.body;
    var newUrl = body.getAttribute("data-new-ticket-url");
    var typing = isTyping(e.target);
    if (newUrl && e.altKey && !e.ctrlKey && !e.metaKey && e.code === "KeyN") {
      e.preventDefault();
      window.location.assign(newUrl);
      return;
    }
    if (typing || e.altKey || e.ctrlKey || e.metaKey) return;
    if (newUrl && (e.key === "n" || e.key === "N") && !e.shiftKey) {
      e.preventDefault();
      window.location.assign(newUrl);
    } else if (e.key === "/") {
      var search = document.getElementById("queue-search");
      if (search) {
        e.preventDefault();
        search.focus();
        search.select();
      }
    }
  });

  /* --- Enter submits: selects and radios too; Ctrl/Cmd+Enter from a textarea ----------- */
  document.querySelectorAll("form[data-enter-submit]").forEach(function (form) {
    form.addEventListener("keydown", function (e) {
      if (e.key !== "Enter" || e.isComposing) return;
      var t = e.target;
      if (t.tagName === "TEXTAREA") {
        if (e.ctrlKey || e.metaKey) {
          e.preventDefault();
          submitForm(form);
        }
        return;
      }
      if (t.tagName === "SELECT" || (t.tagName === "INPUT" && (t.type === "radio" || t.type === "checkbox"))) {
        e.preventDefault();
        submitForm(form);
      }
    });
  });

  /* --- live priority from the impact x urgency matrix ------------------------------ */
  var PRIORITY_CLASSES = { 1: "text-bg-danger", 2: "text-bg-warning", 3: "text-bg-info", 4: "text-bg-secondary" };

  document.querySelectorAll("form[data-priority-form]").forEach(function (form) {
    var dataEl = form.querySelector("script.priority-matrix");
    if (!dataEl) return;
    var matrix;
    try {
      matrix = JSON.parse(dataEl.textContent);
    } catch (err) {
      return;
    }
    var impact = form.querySelector("[data-priority-input=impact]");
    var urgency = form.querySelector("[data-priority-input=urgency]");
    var override = form.querySelector("[data-priority-override]");
    var reason = form.querySelector("[data-priority-reason]");
    var badge = form.querySelector("[data-priority-live]");
    var source = form.querySelector("[data-priority-source]");
    if (!impact || !urgency || !badge) return;
    var blankLabel = override && override.options.length ? override.options[0].text : "";

    function update() {
      var computed = matrix.cells[impact.value + "-" + urgency.value];
      var chosen = override && override.value ? parseInt(override.value, 10) : null;
      var effective = chosen || computed;
      badge.textContent = effective ? "P" + effective + " · " + matrix.words[String(effective)] : "—";
      Object.keys(PRIORITY_CLASSES).forEach(function (p) { badge.classList.remove(PRIORITY_CLASSES[p]); });
      if (effective) badge.classList.add(PRIORITY_CLASSES[effective]);
      var overridden = chosen !== null && chosen !== computed;
      if (source) {
        source.textContent = overridden
          ? "overridden (matrix says P" + computed + ") — give a reason"
          : "from the impact × urgency matrix";
      }
      if (override && override.options.length && computed) {
        override.options[0].text = blankLabel + " (P" + computed + ")";
      }
      if (reason) {
        reason.required = overridden;
        reason.closest(".mb-3").classList.toggle("reason-needed", overridden);
      }
    }

    [impact, urgency, override].forEach(function (el) {
      if (el) {
        el.addEventListener("change", update);
        el.addEventListener("input", update);
      }
    });
    update();
  });

  /* --- assignee choices follow the chosen group ---------------------------------------- */
  document.querySelectorAll("form").forEach(function (form) {
    var group = form.querySelector("[data-group-select]");
    var assignee = form.querySelector("[data-assignee-select]");
    if (!group || !assignee) return;

    function filter() {
      var gid = group.value;
      Array.prototype.forEach.call(assignee.options, function (opt) {
        if (!opt.value) return;
        var groups = (opt.getAttribute("data-groups") || "").split(" ");
        var member = !gid || groups.indexOf(gid) !== -1;
        opt.hidden = !member;
        opt.disabled = !member;
      });
      var selected = assignee.options[assignee.selectedIndex];
      if (selected && selected.disabled) assignee.value = "";
    }

    group.addEventListener("change", filter);
    filter();
  });

  /* --- status form: resolution fields only when resolving -------------------------------- */
  document.querySelectorAll("form[data-status-form]").forEach(function (form) {
    var select = form.querySelector("[data-status-select]");
    var blocks = form.querySelectorAll("[data-show-when-status]");
    if (!select) return;

    function toggle() {
      blocks.forEach(function (block) {
        var wanted = block.getAttribute("data-show-when-status");
        var hasError = block.querySelector(".is-invalid") !== null;
        block.hidden = select.value !== wanted && !hasError;
      });
    }

    select.addEventListener("change", toggle);
    toggle();
  });

  /* --- caller lookup on the intake form --------------------------------------------- */
  var lookup = document.querySelector("[data-caller-lookup]");
  if (lookup) {
    var url = lookup.getAttribute("data-caller-lookup");
    var fields = {
      email: lookup.querySelector("[data-caller-field=email]"),
      name: lookup.querySelector("[data-caller-field=name]"),
      phone: lookup.querySelector("[data-caller-field=phone]")
    };
    var list = document.getElementById("caller-matches");
    var status = document.getElementById("caller-status");
    var defaultStatus = status ? status.textContent : "";
    var timer = null;
    var lastQuery = "";
    var requestNo = 0;

    function hideList() {
      list.hidden = true;
      list.replaceChildren();
    }

    function pick(item) {
      fields.email.value = item.email;
      fields.name.value = item.name;
      fields.phone.value = item.phone || "";
      hideList();
      if (status) status.textContent = "Existing caller: " + item.name + " <" + item.email + ">" + (item.role !== "requester" ? " (" + item.role + ")" : "");
      var next = document.getElementById("channel");
      if (next) next.focus();
    }

    function render(items) {
      list.replaceChildren();
      if (!items.length) {
        list.hidden = true;
        if (status) status.textContent = lastQuery ? "No existing caller matches: a new one is created from the e-mail and name." : defaultStatus;
        return;
      }
      items.forEach(function (item) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "list-group-item list-group-item-action py-1";
        btn.setAttribute("role", "option");
        var strong = document.createElement("strong");
        strong.textContent = item.name;
        var rest = document.createElement("span");
        rest.className = "text-body-secondary ms-2";
        rest.textContent = item.email + (item.phone ? " · " + item.phone : "");
        btn.append(strong, rest);
        btn.addEventListener("click", function () { pick(item); });
        btn.addEventListener("keydown", function (e) {
          var sib = null;
          if (e.key === "ArrowDown") sib = btn.nextElementSibling;
          else if (e.key === "ArrowUp") sib = btn.previousElementSibling;
          else if (e.key === "Escape") { hideList(); fields.email.focus(); return; }
          if (sib) { e.preventDefault(); sib.focus(); }
        });
        list.appendChild(btn);
      });
      list.hidden = false;
      if (status) status.textContent = items.length + " existing caller" + (items.length > 1 ? "s" : "") + " match — press ↓ to choose, or keep typing for a new one.";
    }

    function search(text) {
      text = text.trim();
      if (text.length < 2) { lastQuery = ""; render([]); return; }
      if (text === lastQuery) return;
      lastQuery = text;
      var mine = ++requestNo;
      fetch(url + "?q=" + encodeURIComponent(text), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (r) {
        return r.ok ? r.json() : { items: [] };
      }).then(function (data) {
        if (mine === requestNo) render(data.items || []);
      }).catch(function () {
        if (mine === requestNo) render([]);
      });
    }

    Object.keys(fields).forEach(function (key) {
      var input = fields[key];
      if (!input) return;
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { search(input.value); }, 250);
      });
      input.addEventListener("keydown", function (e) {
        if (e.key === "ArrowDown" && !list.hidden && list.firstElementChild) {
          e.preventDefault();
          list.firstElementChild.focus();
        } else if (e.key === "Escape" && !list.hidden) {
          hideList();
        }
      });
    });
  }

  /* --- copy buttons (API token) --------------------------------------------------------- */
  document.querySelectorAll("[data-copy-target]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var input = document.getElementById(btn.getAttribute("data-copy-target"));
      if (!input) return;
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(function () { btn.textContent = "Copied"; },
          function () { btn.textContent = "Press Ctrl+C"; });
      } else {
        btn.textContent = "Press Ctrl+C";
      }
    });
  });
})();
