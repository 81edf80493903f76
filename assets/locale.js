/* The page's language for what third-party components write themselves.
 *
 * Dash's date picker names months and weekdays with the date-fns locale that matches the
 * browser's language, else the first one it is given (window.dateFns.locale). It is given only
 * the page's language: a French page has French months whatever the browser says, an English
 * page keeps date-fns's built-in English.
 */
(function () {
  const lang = document.documentElement.lang || "fr";
  const locales = (window.dateFns && window.dateFns.locale) || {};
  const kept = {};
  if (locales[lang]) {
    kept[lang] = locales[lang];
  }
  window.dateFns = Object.assign({}, window.dateFns, { locale: kept });
})();
