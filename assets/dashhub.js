/* dashhub browser helpers, loaded by Dash from /assets. */

// Plotly rejects the promise of an animation that a newer one interrupts (Pause during Play)
// with no reason at all; that is normal use of the animation buttons, not an error.
window.addEventListener("unhandledrejection", function (event) {
  if (event.reason === undefined) {
    event.preventDefault();
  }
});

// Slider tooltips (dcc.Slider tooltip.transform): log-scale sliders hold log10 of the value.
window.dccFunctions = window.dccFunctions || {};
window.dccFunctions.pow10 = function (value) {
  return Number(Math.pow(10, value).toPrecision(3));
};

// The address as this page last saw it settled: routed to, or written from a view state. An
// address that differs from it moved under the page (Back, Forward, a link) and is not yet routed.
let settledAddress = null;

function addressOf(pathname, search) {
  return pathname + (search || "");
}

window.dash_clientside = Object.assign({}, window.dash_clientside, {
  dashhub: {
    // The URL is the state. Which page to draw: a new route when the address names something
    // other than what the page shows (a link, Back, Forward, a pasted address); nothing when the
    // address only echoes what the page itself just wrote there.
    route: function (pathname, search, current, views) {
      const noUpdate = window.dash_clientside.no_update;
      if (typeof pathname !== "string") {
        return noUpdate; // the address is not read yet
      }
      search = search || "";
      const shown = views && views.length && views[0] ? views[0].search : null;
      if (current && current.pathname === pathname) {
        if (shown !== null ? shown === search : current.search === search) {
          settledAddress = addressOf(pathname, search);
          return noUpdate;
        }
      }
      settledAddress = addressOf(pathname, search);
      return { pathname: pathname, search: search, at: Date.now() };
    },

    // The one writer of the address: a dashboard's view state goes into the URL. Changes the
    // user made add a history entry (Back undoes them); the page's own first answer only tidies
    // the address it was opened with, in place.
    // A view state from a page drawn for an earlier route (its answer came late, after Back or
    // a link had already asked for the next page) says nothing about the address; nor does one
    // that arrives after the address moved (Back pressed while the answer was on its way: Dash
    // holds the route until this callback has run, and writing now would overwrite the entry
    // Back went to).
    syncAddress: function (views, route, pageRoute) {
      const noUpdate = window.dash_clientside.no_update;
      const view = views && views.length ? views[0] : null;
      if (!view || typeof view.search !== "string" || view.search === window.location.search) {
        return noUpdate;
      }
      const here = addressOf(window.location.pathname, window.location.search);
      if (settledAddress !== null && here !== settledAddress) {
        return noUpdate;
      }
      if (route && route.at !== undefined) {
        // (the view's own stamp, where its callback sends it; else the page shown)
        const drawnFor = view.at !== undefined ? view.at : pageRoute;
        if (drawnFor !== route.at) {
          return noUpdate;
        }
      }
      if (view.replace) {
        const url = window.location.pathname + view.search + window.location.hash;
        window.history.replaceState(window.history.state, "", url);
      }
      settledAddress = addressOf(window.location.pathname, view.search);
      return view.search;
    },

    // The tab's title and the navbar name the page shown: « Ventes · dashhub », the Ventes link
    // marked as the current page (aria-current, for screen readers too).
    // A multi-select's count: « Toutes les régions (4) » when every option is chosen (the chosen
    // values, all of them, are then not listed), « 2 sélectionné(s) » otherwise.
    allSelected: function (value, options, labels, texts) {
      const chosen = Array.isArray(value) ? value.length : 0;
      const all = Array.isArray(options) && options.length > 0 && chosen === options.length;
      const count = texts ? (all ? texts.all : texts.some) : undefined;
      return [Object.assign({}, labels, count ? { selected_count: count } : {}), all ? "dash-dropdown-all" : ""];
    },

    markPage: function (route) {
      const pathname = route && typeof route.pathname === "string" ? route.pathname : "/";
      let title = "dashhub";
      document.querySelectorAll("#navbar-collapse a.nav-link").forEach(function (link) {
        const here = new URL(link.href, window.location.href).pathname === pathname;
        link.classList.toggle("active", here);
        if (here) {
          link.setAttribute("aria-current", "page");
          title = (link.getAttribute("title") || link.textContent) + " · dashhub";
        } else {
          link.removeAttribute("aria-current");
        }
      });
      document.title = title;
      return pathname;
    },

    // An employee table with no row says so (« Aucun employé… ») instead of « Page 0 sur 0 »:
    // the no-rows message over the grid, its paging bar hidden.
    gridEmpty: function (rowCount, gridId, className) {
      const empty = rowCount === 0;
      try {
        const api = window.dash_ag_grid && window.dash_ag_grid.getApi(gridId);
        if (api && empty) {
          api.showNoRowsOverlay();
        } else if (api) {
          api.hideOverlay();
        }
      } catch (error) {
        // not mounted yet
      }
      const classes = (className || "").split(" ").filter(function (name) { return name && name !== "grid-empty"; });
      return classes.concat(empty ? ["grid-empty"] : []).join(" ");
    },

    // The employee table pages from the server (infinite row model): when the filters or the
    // chart selection change, drop its cached pages so that it asks again.
    refreshGrid: function (query, gridId) {
      try {
        const api = window.dash_ag_grid && window.dash_ag_grid.getApi(gridId);
        if (api) {
          api.purgeInfiniteCache();
        }
      } catch (error) {
        // the grid is not mounted yet: it will ask for its first page by itself
      }
      return query;
    },
  },
});

// A failed callback request (database down, server error, gateway timeout, lost network, ended
// session) shows a banner saying so, in the user's language; the next successful one hides it.
// Without this, Dash leaves the page unchanged and the user cannot tell that anything failed.
(function () {
  const originalFetch = window.fetch.bind(window);
  const callbackPath = "_dash-update-component";

  function message(kind) {
    const source = document.getElementById("request-messages");
    return source ? source.getAttribute("data-" + kind) : null;
  }

  function banner() {
    let node = document.getElementById("request-alert");
    if (!node) {
      node = document.createElement("div");
      node.id = "request-alert";
      node.className = "alert alert-danger request-alert shadow d-none";
      node.setAttribute("role", "alert");
      const text = document.createElement("span");
      text.className = "request-alert-text";
      const close = document.createElement("button");
      close.type = "button";
      close.className = "btn-close ms-3";
      close.setAttribute("aria-label", message("close") || "Close");
      close.addEventListener("click", function () {
        node.classList.add("d-none");
      });
      node.append(text, close);
      document.body.appendChild(node);
    }
    return node;
  }

  function show(kind) {
    const text = message(kind);
    if (!text) {
      return;
    }
    const node = banner();
    node.querySelector(".request-alert-text").textContent = text;
    node.dataset.kind = kind;
    node.classList.remove("d-none");
  }

  function hide() {
    const node = document.getElementById("request-alert");
    if (node) {
      node.classList.add("d-none");
    }
  }

  function kindOf(status) {
    if (status === 503) return "unavailable";
    if (status === 502 || status === 504) return "timeout";
    if (status === 401) return "session";
    if (status >= 500) return "error";
    return null;
  }

  window.fetch = function (resource, init) {
    const url = typeof resource === "string" ? resource : (resource && resource.url) || "";
    if (url.indexOf(callbackPath) === -1) {
      return originalFetch(resource, init);
    }
    return originalFetch(resource, init).then(
      function (response) {
        const kind = kindOf(response.status);
        if (kind) {
          show(kind);
        } else if (response.ok) {
          hide();
        }
        return response;
      },
      function (error) {
        show("offline");
        throw error;
      }
    );
  };
})();
