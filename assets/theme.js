/* « auto » theme: the page follows the system's light or dark setting, and its changes.
 * (A theme the user chose is already on <html data-bs-theme>, written by the server.)
 * Loaded in the login page's <head> and among the dashboards' scripts. */
(function () {
  const root = document.documentElement;
  if (root.getAttribute("data-theme") !== "auto" || !window.matchMedia) {
    return;
  }
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  function apply() {
    root.setAttribute("data-bs-theme", dark.matches ? "dark" : "light");
  }
  apply();
  dark.addEventListener("change", apply);
})();
