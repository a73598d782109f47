#!/usr/bin/env bash
# Regenerates docs/report.png: the capacity report of examples/plans/eks-web-api-worker.yaml,
# rendered by Debian's chromium-headless-shell at 1280 px wide (the top of the page).
# Usage: scripts/report-screenshot.sh [PLAN_FILE]   (run from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
plan="${1:-examples/plans/eks-web-api-worker.yaml}"
browser="$(command -v chromium-headless-shell || command -v chromium || true)"
if [ -z "$browser" ]; then
    echo "error: needs chromium-headless-shell (apt-get install chromium-headless-shell)" >&2
    exit 2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cargo run --quiet --bin imgopt -- report "$plan" -o "$tmp/report.html"
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$tmp/profile" --window-size=1280,1600 \
    --screenshot="$tmp/report.png" "file://$tmp/report.html" 2>/dev/null
cp "$tmp/report.png" docs/report.png
echo "wrote docs/report.png"
