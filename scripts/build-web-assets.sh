#!/usr/bin/env bash
# Vendors the NHS.UK frontend (CSS, JS, images), htmx and axe-core from npm.
#
#   npm ci (versions pinned in package.json + package-lock.json), then copy the
#   compiled dist files into src/careweave/web/static/ (served at /assets) and
#   axe-core into tests/web/vendor/ (injected by the browser tests only).
#
# The copied files are committed, so `make demo` works on a machine without
# npm or network: it runs this with --if-missing, which keeps them; and when npm
# is missing and the vendored files are present this script says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

STATIC=src/careweave/web/static
VENDOR_TESTS=tests/web/vendor

have_vendored() { [ -f "$STATIC/nhsuk-frontend.min.css" ] && [ -f "$VENDOR_TESTS/axe.min.js" ]; }

# --if-missing (used by `make demo`'s install): keep the committed files, no npm, no network.
if [ "${1:-}" = "--if-missing" ] && have_vendored; then
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  if have_vendored; then
    echo "web-assets: npm not found; using the committed vendored assets"
    exit 0
  fi
  echo "web-assets: npm is needed to vendor nhsuk-frontend (apt-get install npm)" >&2
  exit 1
fi

npm ci --no-audit --no-fund --loglevel=error
NHS=node_modules/nhsuk-frontend/dist/nhsuk
mkdir -p "$STATIC/images" "$VENDOR_TESTS"
cp "$NHS/nhsuk-frontend.min.css" "$NHS/nhsuk-frontend.min.js" "$STATIC/"
# No request to any other host: the published CSS loads the Frutiger web fonts from
# assets.nhs.uk. The npm package does not ship them and their licence is for NHS.UK's own
# use, so drop the @font-face rules: the design system's stack falls back to Arial.
sed -E -i 's/@font-face\{[^}]*\}//g' "$STATIC/nhsuk-frontend.min.css"
if grep -q 'assets.nhs.uk' "$STATIC/nhsuk-frontend.min.css"; then
  echo "web-assets: nhsuk-frontend.min.css still refers to assets.nhs.uk" >&2
  exit 1
fi
cp "$NHS"/assets/images/* "$STATIC/images/"
cp "$NHS/assets/manifest.json" "$STATIC/manifest.json"
cp node_modules/htmx.org/dist/htmx.min.js "$STATIC/htmx.min.js"
cp node_modules/axe-core/axe.min.js "$VENDOR_TESTS/axe.min.js"
{
  echo "nhsuk-frontend $(node -p "require('./node_modules/nhsuk-frontend/package.json').version")"
  echo "htmx.org $(node -p "require('./node_modules/htmx.org/package.json').version")"
  echo "nhsuk-frontend.min.css: @font-face rules removed (Frutiger from assets.nhs.uk; falls back to Arial)"
} > "$STATIC/VENDORED.txt"
echo "axe-core $(node -p "require('./node_modules/axe-core/package.json').version")" > "$VENDOR_TESTS/VENDORED.txt"
echo "web-assets: vendored into $STATIC and $VENDOR_TESTS"
