// Live reload: poll the version endpoint and reload when the issue was re-rendered.
// Polling stops while a form is being submitted, so the action's own page wins.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-version-url");
  var seen = body.getAttribute("data-version");
  var live = document.getElementById("live");
  var leaving = false;
  if (!url) { return; }
  document.addEventListener("submit", function () { leaving = true; });
  function tick() {
    if (leaving) { return; }
    fetch(url, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (leaving) { return; }
        if (live) { live.className = "live on"; }
        if (j && j.version !== seen) { window.location.reload(); return; }
        window.setTimeout(tick, 300);
      })
      .catch(function () {
        if (live) { live.className = "live off"; }
        window.setTimeout(tick, 1000);
      });
  }
  window.setTimeout(tick, 300);
})();
