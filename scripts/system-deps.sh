#!/usr/bin/env bash
# Installs, from Debian's packages, what the test suite needs beyond Python:
# a Java 17 runtime for Spark, a PostgreSQL server for the store tests, and
# Chromium (driven headless by Playwright for the web tests; no browser download),
# Pango, HarfBuzz and fonts for WeasyPrint (careweave.pdf), and poppler-utils
# (pdftoppm, pdftotext) to look at the PDFs it makes.
# Does nothing when they are already there; runs `apt-get update` only when
# something is missing.
set -euo pipefail

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
test -x /usr/bin/chromium || need+=(chromium fonts-liberation)
# WeasyPrint loads these with ctypes/cffi at import: a missing one is an OSError then.
for pkg in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation fonts-dejavu-core poppler-utils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing ${need[*]}; run as root or install them: apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "system-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
