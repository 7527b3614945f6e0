// The nomination form checks what it can as the unit types; the service stays the judge of every rule.
(function () {
  "use strict";
  var form = document.querySelector(".nomination-form");
  if (!form) return;
  var messages = JSON.parse(form.getAttribute("data-messages"));

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return values[key] !== undefined ? values[key] : all; });
  }

  function problem(input) {
    var value = input.value.trim();
    var label = input.getAttribute("data-label") || "";
    var type = input.getAttribute("data-type");
    var max = parseInt(input.getAttribute("data-max-length") || "0", 10);
    if (!value) return input.getAttribute("data-required") ? fill(messages.required, { label: label }) : "";
    if (max && value.length > max) return fill(messages.too_long, { label: label, max: max, n: value.length });
    if (type === "phone" && !/^1[3-9]\d{9}$/.test(value)) return fill(messages.phone, { label: label });
    if (type === "url" && !/^https?:\/\/\S+$/i.test(value)) return fill(messages.url, { label: label });
    if (type === "integer" && !/^\d+$/.test(value)) return fill(messages.integer, { label: label });
    return "";
  }

  function check(input) {
    var message = problem(input);
    var slot = document.getElementById("err-" + input.id.replace(/^f_/, ""));
    if (slot) slot.textContent = message;
    if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    input.closest(".field").classList.toggle("invalid", !!message);
    return !message;
  }

  var inputs = form.querySelectorAll("[data-type]");
  Array.prototype.forEach.call(inputs, function (input) {
    // While typing, only lengths and formats already broken are shown; an empty field is flagged once left.
    input.addEventListener("input", function () { if (input.value.trim()) check(input); });
    input.addEventListener("change", function () { check(input); });
    input.addEventListener("blur", function () { check(input); });
  });

  form.addEventListener("submit", function (event) {
    var first = null;
    Array.prototype.forEach.call(inputs, function (input) { if (!check(input) && !first) first = input; });
    if (first) { event.preventDefault(); first.focus(); }
  });

  var summary = document.getElementById("form-errors");
  if (summary) summary.focus();
})();
