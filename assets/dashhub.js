/* dashhub browser helpers, loaded by Dash from /assets. */

// Plotly rejects the promise of an animation that a newer one interrupts (Pause during Play)
// with no reason at all; that is normal use of the animation buttons, not an error.
window.addEventListener("unhandledrejection", function (event) {
  if (event.reason === undefined) {
    event.preventDefault();
  }
});
