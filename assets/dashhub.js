/* dashhub browser helpers, loaded by Dash from /assets. */

// Plotly rejects the promise of an animation that a newer one interrupts (Pause during Play)
// with no reason at all; that is normal use of the animation buttons, not an error.
window.addEventListener("unhandledrejection", function (event) {
  if (event.reason === undefined) {
    event.preventDefault();
  }
});

window.dash_clientside = Object.assign({}, window.dash_clientside, {
  dashhub: {
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
