#!/usr/bin/env bash
# Refresh the vendored browser libraries from npm (run after upgrading plotly or dash):
#   - plotly.js's "cartesian" partial bundle (scatter, bar, heatmap, box, histogram…), at the version
#     plotly.py ships, served in place of the full plotly.min.js (1.5 MB instead of 4.8 MB);
#   - date-fns's French locale, which Dash's date picker reads from window.dateFns.
# Needs npm and access to its registry; prints what it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
plotly_version=$("$python" -c "from plotly.offline import get_plotlyjs_version as v; print(v())")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "plotly.js-cartesian-dist-min@$plotly_version" "date-fns@4" >/dev/null)
mkdir -p "$work/plotly" "$work/date-fns"
tar xzf "$work"/plotly.js-cartesian-dist-min-*.tgz -C "$work/plotly"
tar xzf "$work"/date-fns-*.tgz -C "$work/date-fns"
cp "$work/plotly/package/plotly-cartesian.min.js" src/dashhub/vendor/plotly-cartesian.min.js
cp "$work/plotly/package/LICENSE" src/dashhub/vendor/LICENSE-plotly.js.txt
{
  echo "/* date-fns French locale (MIT, https://github.com/date-fns/date-fns), vendored by scripts/vendor_js.sh */"
  # (without its console notice that the CDN files moved: they are served from here)
  sed 's/,console\.log(`date-fns CDN files[^`]*`)//' "$work/date-fns/package/locale/fr/cdn.min.js"
} > assets/date-fns-fr.min.js
grep -q "console.log" assets/date-fns-fr.min.js && { echo "date-fns: console notice still there" >&2; exit 1; }
ls -l src/dashhub/vendor/plotly-cartesian.min.js assets/date-fns-fr.min.js
head -c 120 src/dashhub/vendor/plotly-cartesian.min.js | sed -n 2p
