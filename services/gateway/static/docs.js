// Starts Swagger UI on /docs (kept out of the page: no inline script): the gateway's own OpenAPI document, or a
// service's as the gateway serves it under /api/<service>, chosen in the bar above (/docs?api=<service>).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var select = document.getElementById("api-choice");
  var services = root.getAttribute("data-services").split(" ").filter(Boolean);
  var chosen = new URLSearchParams(window.location.search).get("api");
  if (services.indexOf(chosen) < 0) {
    chosen = "gateway";
  }
  ["gateway"].concat(services).forEach(function (name) {
    var option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    option.selected = name === chosen;
    select.appendChild(option);
  });
  select.addEventListener("change", function () {
    window.location.search = select.value === "gateway" ? "" : "?api=" + encodeURIComponent(select.value);
  });
  window.ui = SwaggerUIBundle({
    url: chosen === "gateway" ? root.getAttribute("data-openapi") : "/api/" + chosen + "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
