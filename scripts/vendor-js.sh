#!/usr/bin/env bash
# Reproduces reports/assets/ from the npm registry: uPlot (MIT), the chart
# library the HTML report embeds inline. The version and the sha256 of the npm
# tarball are pinned here; the extracted files' sums are kept in
# reports/assets/SHA256SUMS, which a Go test checks against the embedded copies.
#
#   scripts/vendor-js.sh          fetch, verify, and (re)write reports/assets/
#   scripts/vendor-js.sh --check  fetch, verify, and fail if reports/assets/ differs
set -euo pipefail

UPLOT_VERSION=1.6.32
UPLOT_TGZ_SHA256=4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d

cd "$(dirname "$0")/.."
dest=reports/assets
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "uplot@${UPLOT_VERSION}" >/dev/null)
tgz="$tmp/uplot-${UPLOT_VERSION}.tgz"
got=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$UPLOT_TGZ_SHA256" ]; then
	echo "vendor-js: uplot-${UPLOT_VERSION}.tgz has sha256 $got, want $UPLOT_TGZ_SHA256" >&2
	exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/LICENSE package/dist/uPlot.iife.min.js package/dist/uPlot.min.css

mkdir -p "$tmp/out"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/out/"
cp "$tmp/package/LICENSE" "$tmp/out/uPlot.LICENSE"
(cd "$tmp/out" && sha256sum uPlot.LICENSE uPlot.iife.min.js uPlot.min.css > SHA256SUMS)
echo "uplot ${UPLOT_VERSION} (npm tarball sha256 ${UPLOT_TGZ_SHA256})" > "$tmp/out/VERSION"

if [ "${1:-}" = "--check" ]; then
	for f in uPlot.LICENSE uPlot.iife.min.js uPlot.min.css SHA256SUMS VERSION; do
		cmp -s "$tmp/out/$f" "$dest/$f" || { echo "vendor-js: $dest/$f differs from uplot@${UPLOT_VERSION}" >&2; exit 1; }
	done
	echo "vendor-js: $dest matches uplot@${UPLOT_VERSION}"
	exit 0
fi
mkdir -p "$dest"
cp "$tmp/out/"* "$dest/"
echo "vendor-js: wrote uplot@${UPLOT_VERSION} to $dest"
