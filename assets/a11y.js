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

  // What the date picker says to screen readers, in the page's language (its inputs are named
  // after their placeholder, which the app translates).
  const DATE_PICKER_LABELS = {
    fr: {
      "Clear Dates": "Effacer les dates",
      "Clear date": "Effacer la date",
      "Close calendar": "Fermer le calendrier",
      "Next month": "Mois suivant",
      "Previous month": "Mois précédent",
    },
  };

  const WORDS = {
    en: { toolbar: "Chart tools", from: "from", to: "to", values: "values", points: "points", colon: ": " },
    fr: { toolbar: "Outils du graphique", from: "de", to: "à", values: "valeurs", points: "points", colon: "\u00a0: " },
  };
  function words() {
    return WORDS[document.documentElement.lang] || WORDS.en;
  }

  // --- Chart toolbars: one tab stop per chart (the ARIA toolbar pattern), not eight ---
  function toolbarButtons(bar) {
    return Array.from(bar.querySelectorAll("button.modebar-btn"));
  }
  function moveInToolbar(event) {
    const bar = event.target.closest && event.target.closest(".modebar[role='toolbar']");
    if (!bar) {
      return;
    }
    const buttons = toolbarButtons(bar);
    const at = buttons.indexOf(document.activeElement);
    const moves = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 };
    if (at < 0 || !(event.key in moves)) {
      return;
    }
    event.preventDefault();
    const next = buttons[(moves[event.key] + buttons.length) % buttons.length];
    buttons.forEach(function (button) {
      button.tabIndex = button === next ? 0 : -1;
    });
    next.focus();
  }
  function repairToolbars(root) {
    root.querySelectorAll(".modebar").forEach(function (bar) {
      if (bar.getAttribute("role") !== "toolbar") {
        bar.setAttribute("role", "toolbar");
        bar.setAttribute("aria-label", words().toolbar);
      }
      const buttons = toolbarButtons(bar);
      const current = buttons.filter(function (button) { return button.tabIndex === 0 && button.dataset.roving; });
      buttons.forEach(function (button, i) {
        button.dataset.roving = "1";
        button.tabIndex = (current.length ? button === current[0] : i === 0) ? 0 : -1;
      });
    });
  }

  // --- Charts summarised for screen readers: a figure named by its title and its key figures ---
  function plain(text) {
    const box = document.createElement("div");
    box.innerHTML = String(text || "").replace(/<br\s*\/?>/gi, " ");
    return box.textContent.trim();
  }
  function summarise(gd) {
    const w = words();
    const number = new Intl.NumberFormat(document.documentElement.lang || "fr", { maximumFractionDigits: 1 });
    const range = function (values) {
      const shown = values.filter(function (v) { return typeof v === "number" && isFinite(v); });
      if (!shown.length) {
        return null;
      }
      return w.from + " " + number.format(Math.min.apply(null, shown)) + " " + w.to + " " + number.format(Math.max.apply(null, shown));
    };
    const parts = [];
    (gd.data || []).slice(0, 12).forEach(function (trace) {
      if (trace.visible === false || trace.visible === "legendonly" || /^partial/.test(trace.meta || "")) {
        return;
      }
      const name = plain(trace.name);
      if (trace.type === "heatmap") {
        const text = range([].concat.apply([], (trace.z || []).map(function (row) { return row || []; })));
        if (text) parts.push((name ? name + w.colon : "") + w.values + " " + text);
        return;
      }
      const horizontal = trace.orientation === "h";
      const labels = (horizontal ? trace.y : trace.x) || [];
      const values = (horizontal ? trace.x : trace.y) || [];
      if (trace.type === "bar" && labels.length && labels.length <= 12 && typeof labels[0] === "string") {
        const pairs = labels.map(function (label, i) {
          return plain(label) + " " + (typeof values[i] === "number" ? number.format(values[i]) : "—");
        });
        parts.push((name ? name + w.colon : "") + pairs.join(", "));
        return;
      }
      const text = range(Array.from(values));
      if (text) parts.push((name ? name + w.colon : "") + values.length + " " + w.points + ", " + text);
    });
    const layout = gd.layout || {};
    const title = plain(layout.title && (layout.title.text || layout.title));
    return { title: title, summary: parts.join(" ; ") };
  }
  function describe(gd) {
    const described = summarise(gd);
    gd.setAttribute("role", "figure");
    gd.setAttribute("tabindex", "0");
    const label = described.title + (described.summary ? ". " + described.summary : "");
    if (gd.getAttribute("aria-label") !== label) {
      gd.setAttribute("aria-label", label);
    }
  }
  function repairCharts(root) {
    root.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      if (!gd.dataset.described && typeof gd.on === "function") {
        gd.dataset.described = "1";
        gd.on("plotly_afterplot", function () { describe(gd); });
        describe(gd);
      }
    });
  }

  function repair(root) {
    repairToolbars(root);
    repairCharts(root);
    const labels = DATE_PICKER_LABELS[document.documentElement.lang] || {};
    root.querySelectorAll("[aria-label]").forEach(function (element) {
      const text = labels[element.getAttribute("aria-label")];
      if (text) {
        element.setAttribute("aria-label", text);
      }
    });
    root.querySelectorAll("input[aria-label='Start Date'], input[aria-label='End Date']").forEach(function (input) {
      if (input.placeholder) {
        input.setAttribute("aria-label", input.placeholder);
      }
    });
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
    // (one listener for every toolbar: plotly.js redraws them)
    document.addEventListener("keydown", moveInToolbar);
    repair(document);
    observer.observe(document.body, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["aria-expanded", "aria-controls", "aria-hidden", "aria-label", "class"],
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
