// sessiondb web UI: theme toggle, infinite scroll of the session list, the
// hidden-messages toggle and anchor highlighting. No framework, no build step.
"use strict";

function currentTheme() {
  var set = document.documentElement.getAttribute("data-theme");
  if (set) return set;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function setupThemeToggle() {
  var button = document.getElementById("theme-toggle");
  if (!button) return;
  button.addEventListener("click", function () {
    var next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    try { localStorage.setItem("sessiondb-theme", next); } catch (e) { /* ignore */ }
  });
}

// Infinite scroll: when the sentinel row comes into view, fetch the next rows (HTML
// rendered by the server) with its cursor and put them in its place.
function setupInfiniteScroll() {
  var list = document.getElementById("session-list");
  if (!list || !("IntersectionObserver" in window)) return;
  var loading = false;
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) loadMore(entry.target);
    });
  }, { rootMargin: "400px" });

  function watch() {
    var sentinel = list.querySelector(".sentinel");
    if (sentinel) observer.observe(sentinel);
  }

  function loadMore(sentinel) {
    if (loading) return;
    loading = true;
    observer.unobserve(sentinel);
    var url = list.dataset.rowsUrl + "&cursor=" + encodeURIComponent(sentinel.dataset.nextCursor);
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html;
        sentinel.replaceWith(template.content);
        loading = false;
        watch();
      })
      .catch(function (error) {
        sentinel.textContent = "Could not load more (" + error.message + ")";
        loading = false;
      });
  }
  watch();
}

function setupHiddenToggle() {
  var box = document.getElementById("show-hidden");
  if (!box) return;
  var apply = function () { document.body.classList.toggle("show-hidden", box.checked); };
  box.addEventListener("change", apply);
  apply();
}

// Following a search hit lands on #m-<seq>: open its tool calls, and reveal it if it
// is a hidden (compacted) message.
function highlightAnchor() {
  var id = window.location.hash.slice(1);
  if (!id) return;
  var target = document.getElementById(id);
  if (!target) return;
  if (target.classList.contains("msg-hidden")) {
    var box = document.getElementById("show-hidden");
    if (box) { box.checked = true; box.dispatchEvent(new Event("change")); }
  }
  target.classList.add("target");
  target.querySelectorAll("details").forEach(function (d) { d.open = true; });
  target.scrollIntoView({ block: "center" });
}

document.addEventListener("DOMContentLoaded", function () {
  setupThemeToggle();
  setupInfiniteScroll();
  setupHiddenToggle();
  highlightAnchor();
});
window.addEventListener("hashchange", highlightAnchor);
