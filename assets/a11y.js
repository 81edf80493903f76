/* Accessibility repairs of third-party markup (Dash's dropdown, date picker and slider, the
 * Bootstrap tabs), applied whenever it is drawn. Each one fixes what axe-core reports on these
 * components and changes nothing a pointer or keyboard user does.
 */
(function () {
  function labelOf(element) {
    // the text of the <label for=…> of the nearest element with an id (the Dash component)
    for (let node = element; node && node !== document.body; node = node.parentElement) {
      if (node.id) {
        const label = document.querySelector('label[for="' + CSS.escape(node.id) + '"]');
        if (label && label.textContent.trim()) {
          return label.textContent.trim();
        }
      }
    }
    return null;
  }

  function repair(root) {
    // The dropdown's focus helper is where the keyboard reaches the dropdown (Tab, then Enter or
    // an arrow opens it), yet it is hidden from screen readers: shown to them, named after the
    // dropdown's label.
    root.querySelectorAll(".dash-dropdown-focus-target[aria-hidden='true']").forEach(function (input) {
      input.removeAttribute("aria-hidden");
      const wrapper = input.closest(".dash-dropdown-wrapper");
      const named = wrapper && wrapper.querySelector("[id]");
      const label = labelOf(named || input);
      if (label && !input.getAttribute("aria-label")) {
        input.setAttribute("aria-label", label);
      }
    });
    // The date picker's wrapper says aria-expanded without a role that allows it.
    root.querySelectorAll("[id$='-wrapper'][aria-expanded]:not([role])").forEach(function (wrapper) {
      wrapper.removeAttribute("aria-expanded");
    });
    // Slider handles named after their label.
    root.querySelectorAll(".dash-slider-thumb:not([aria-label]):not([aria-labelledby])").forEach(function (thumb) {
      const label = labelOf(thumb);
      if (label) {
        thumb.setAttribute("aria-label", label);
      }
    });
    // A greyed-out slider (its parameter set to a word, « scale »): inactive for assistive
    // technologies too, not merely faint.
    root.querySelectorAll(".ml-slider-off:not([aria-disabled])").forEach(function (box) {
      box.setAttribute("aria-disabled", "true");
    });
    root.querySelectorAll("[aria-disabled='true']:not(.ml-slider-off):not(button):not(input)").forEach(function (box) {
      if (box.querySelector(".dash-slider-root")) {
        box.removeAttribute("aria-disabled");
      }
    });
    // Tabs pointing at a pane id that does not exist (…-tabpane-null): no reference rather than
    // a broken one.
    root.querySelectorAll("[role='tab'][aria-controls$='-tabpane-null']").forEach(function (tab) {
      tab.removeAttribute("aria-controls");
    });
  }

  let scheduled = false;
  const observer = new MutationObserver(function () {
    if (!scheduled) {
      scheduled = true;
      window.requestAnimationFrame(function () {
        scheduled = false;
        repair(document);
      });
    }
  });
  function start() {
    repair(document);
    observer.observe(document.body, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["aria-expanded", "aria-controls", "aria-hidden", "class"],
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
