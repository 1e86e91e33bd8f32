/* collective.cron dashboard: confirmations, select-all, runner names and a
 * live explanation of the periodicity. No dependency. */
(function () {
  "use strict";

  function ready(callback) {
    if (document.readyState !== "loading") {
      callback();
    } else {
      document.addEventListener("DOMContentLoaded", callback);
    }
  }

  function confirmations() {
    document.querySelectorAll("button.cron-confirm").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
  }

  function selectAll() {
    document.querySelectorAll("input.cron-select-all").forEach(function (box) {
      box.addEventListener("change", function () {
        box.closest("table")
          .querySelectorAll('input[name="uids_to_delete"]')
          .forEach(function (row) { row.checked = box.checked; });
      });
    });
  }

  function runnerNames() {
    var input = document.getElementById("form-widgets-name");
    if (input && document.getElementById("cron-runner-names")) {
      input.setAttribute("list", "cron-runner-names");
      input.setAttribute("autocomplete", "off");
    }
  }

  function explanation() {
    var layout = document.getElementById("layout-contents");
    var periodicity = document.getElementById("form-widgets-periodicity");
    var box = document.getElementById("cron-explanation");
    if (!layout || !periodicity || !box) {
      return;
    }
    var zone = document.getElementById("form-widgets-timezone");
    var url = layout.getAttribute("data-explain-url");
    var timer = null;
    var text = box.querySelector(".cron-explanation-text");
    var list = box.querySelector(".cron-explanation-next");
    var zoneLabel = box.querySelector(".cron-explanation-zone");
    periodicity.insertAdjacentElement("afterend", box);

    function show(data) {
      box.hidden = false;
      list.replaceChildren();
      if (!data.ok) {
        box.classList.replace("alert-info", "alert-danger");
        text.textContent = data.error;
        zoneLabel.parentElement.hidden = true;
        return;
      }
      box.classList.replace("alert-danger", "alert-info");
      text.textContent = data.explanation;
      zoneLabel.textContent = data.timezone;
      zoneLabel.parentElement.hidden = false;
      data.next.forEach(function (moment) {
        var item = document.createElement("li");
        item.textContent = moment;
        list.appendChild(item);
      });
    }

    function refresh() {
      if (!periodicity.value.trim()) {
        box.hidden = true;
        return;
      }
      var query = new URLSearchParams({ periodicity: periodicity.value });
      if (zone && zone.value && zone.value !== "--NOVALUE--") {
        query.set("timezone", zone.value);
      }
      fetch(url + "?" + query.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) { return response.json(); })
        .then(show)
        .catch(function () { box.hidden = true; });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 250);
    }

    periodicity.addEventListener("input", later);
    if (zone) {
      zone.addEventListener("change", later);
    }
    refresh();
  }

  // After an action the page comes back with a message: keyboard and screen
  // reader users start from it (the next Tab goes on in the page), or from
  // the first field in error of a form.
  function focusAfterAction() {
    var page = document.querySelector(".collective-cron");
    if (!page) {
      return;
    }
    var target = page.querySelector(
      ".invalid-feedback, .fieldErrorBox:not(:empty), .field.error"
    );
    if (target) {
      var field = target.closest(".field, .mb-3, .form-group");
      var control = field && field.querySelector("input, select, textarea");
      if (control) {
        control.focus();
        return;
      }
    }
    var message = document.querySelector(".portalMessage");
    if (message) {
      message.setAttribute("tabindex", "-1");
      message.focus();
    }
  }

  ready(function () {
    focusAfterAction();
    confirmations();
    selectAll();
    runnerNames();
    explanation();
  });
})();
