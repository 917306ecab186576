/* Knowledge base: live suggestions on the intake form and the portal's "report a problem".
 *
 * A section with data-kb-suggest="<url>" inside a form watches the form's title and
 * description; ~250 ms after the last keystroke it fetches <url>?title=&description=
 * (an HTML fragment the server rendered and escaped) and shows it. Intake ("intake" mode):
 * "Link" keeps the article in hidden kb_link inputs, "Resolved with this article" sets
 * kb_resolve and submits the form. Portal mode: "This solved it" posts a deflection; the text
 * searched travels with the ticket otherwise (kb_query / kb_results).
 * Keyboard: Alt+K jumps to the first suggestion; Up/Down move between suggestions. */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;
  var MIN_CHARS = 3;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function submitForm(form) {
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  }

  function setup(section) {
    var form = section.closest("form");
    if (!form) return;
    var mode = section.getAttribute("data-kb-mode");
    var url = section.getAttribute("data-kb-suggest");
    var box = section.querySelector("[data-kb-results-box]");
    var title = form.querySelector('[name="title"]');
    var description = form.querySelector('[name="description"]');
    var service = form.querySelector('[name="service_id"]');
    var linkedBox = section.querySelector("[data-kb-linked]");
    var timer = null;
    var controller = null;
    var lastKey = null;

    function text() {
      return ((title ? title.value : "") + "\n" + (description ? description.value : "")).trim();
    }

    function linkedIds() {
      var ids = {};
      if (!linkedBox) return ids;
      linkedBox.querySelectorAll("[data-kb-linked-id]").forEach(function (el) {
        ids[el.getAttribute("data-kb-linked-id")] = el;
      });
      return ids;
    }

    function markLinked() {
      var ids = linkedIds();
      box.querySelectorAll("[data-kb-article]").forEach(function (item) {
        var button = item.querySelector("[data-kb-link]");
        if (!button) return;
        var on = Object.prototype.hasOwnProperty.call(ids, item.getAttribute("data-kb-article"));
        button.setAttribute("aria-pressed", on ? "true" : "false");
        button.textContent = on ? "Linked \u2713" : "Link";
        button.classList.toggle("active", on);
      });
    }

    function fetchNow() {
      var value = text();
      var params = new URLSearchParams();
      if (title) params.set("title", title.value);
      if (description) params.set("description", description.value);
      if (service && service.value) params.set("service_id", service.value);
      var key = params.toString();
      if (value.length < MIN_CHARS || key === lastKey) return;
      lastKey = key;
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      box.setAttribute("aria-busy", "true");
      fetch(url + "?" + key, {
        credentials: "same-origin",
        headers: { "Accept": "text/html" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (!response.ok) throw new Error("suggestions answered " + response.status);
        return response.text();
      }).then(function (html) {
        box.innerHTML = html;  // server-rendered, every user text escaped
        box.setAttribute("aria-busy", "false");
        markLinked();
        if (mode === "portal") {
          var list = box.querySelector("[data-kb-results]");
          var query = form.querySelector("[data-kb-query-input]");
          var results = form.querySelector("[data-kb-results-input]");
          if (query) query.value = value.slice(0, 256);
          if (results) results.value = list ? list.getAttribute("data-kb-results") : "0";
        }
      }).catch(function (err) {
        box.setAttribute("aria-busy", "false");
        if (err && err.name === "AbortError") return;
        lastKey = null;  // try again on the next keystroke
      });
    }

    function schedule() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(fetchNow, DEBOUNCE_MS);
    }

    [title, description].forEach(function (el) {
      if (el) el.addEventListener("input", schedule);
    });
    if (service) service.addEventListener("change", schedule);

    function toggleLink(item) {
      var id = item.getAttribute("data-kb-article");
      var ids = linkedIds();
      if (Object.prototype.hasOwnProperty.call(ids, id)) {
        ids[id].remove();
      } else {
        var badge = document.createElement("span");
        badge.className = "badge text-bg-primary me-1";
        badge.setAttribute("data-kb-linked-id", id);
        badge.textContent = item.getAttribute("data-kb-number") + " linked";
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "kb_link";
        input.value = id;
        badge.appendChild(input);
        linkedBox.appendChild(badge);
      }
      markLinked();
    }

    function solved(item) {
      var post = document.createElement("form");
      post.method = "post";
      post.action = section.getAttribute("data-kb-solved-url");
      post.hidden = true;
      var fields = {
        csrf_token: csrfToken(),
        article_id: item.getAttribute("data-kb-article"),
        q: text().slice(0, 256),
        kb_results: String(box.querySelectorAll("[data-kb-article]").length)
      };
      Object.keys(fields).forEach(function (name) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = fields[name];
        post.appendChild(input);
      });
      document.body.appendChild(post);
      post.submit();
    }

    box.addEventListener("click", function (e) {
      var button = e.target.closest("button");
      if (!button || !box.contains(button)) return;
      var item = button.closest("[data-kb-article]");
      if (!item) return;
      if (button.hasAttribute("data-kb-link")) {
        toggleLink(item);
      } else if (button.hasAttribute("data-kb-resolve")) {
        var input = section.querySelector("[data-kb-resolve-input]");
        input.value = item.getAttribute("data-kb-article");
        submitForm(form);
      } else if (button.hasAttribute("data-kb-solved")) {
        solved(item);
      }
    });

    // If the form comes back with errors, the resolve choice must not stick silently.
    form.addEventListener("input", function (e) {
      var input = section.querySelector("[data-kb-resolve-input]");
      if (input && e.target !== input) input.value = "";
    });

    // Keyboard: Alt+K to the first suggestion; Up/Down between suggestions.
    form.addEventListener("keydown", function (e) {
      if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === "KeyK") {
        var first = box.querySelector("[data-kb-article] button");
        if (first) {
          e.preventDefault();
          first.focus();
        }
        return;
      }
      if ((e.key === "ArrowDown" || e.key === "ArrowUp") && box.contains(e.target)) {
        var items = Array.prototype.slice.call(box.querySelectorAll("[data-kb-article]"));
        var index = items.indexOf(e.target.closest("[data-kb-article]"));
        var next = items[index + (e.key === "ArrowDown" ? 1 : -1)];
        if (next) {
          e.preventDefault();
          next.querySelector("button").focus();
        }
      }
    });

    if (text().length >= MIN_CHARS) fetchNow();  // a form re-rendered with errors
  }

  document.querySelectorAll("[data-kb-suggest]").forEach(setup);
})();
