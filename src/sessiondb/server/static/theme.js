// Runs in <head> before the page paints: apply the stored theme choice (if any), so a
// reader who picked "dark" never sees a light flash. Without a choice, CSS follows
// prefers-color-scheme.
(function () {
  try {
    var theme = localStorage.getItem("sessiondb-theme");
    if (theme === "dark" || theme === "light") {
      document.documentElement.setAttribute("data-theme", theme);
    }
  } catch (e) { /* storage disabled: follow the system */ }
})();
