#!/usr/bin/env bash
# The official MCP conformance suite (npm @modelcontextprotocol/conformance) against our MCP server
# (behind an authenticating proxy: the suite sends no token) and our authorization server.
# On demand, not in CI: it installs from the npm registry (the suite and, because the suite needs
# Node >= 22, the `node` package) into a cache directory, and takes a few minutes.
#
#   bash bench/mcp_conformance.sh [OUT_DIR]        (default: runs/mcp-conformance)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/runs/mcp-conformance}
cache=${MCP_CONFORMANCE_CACHE:-$HOME/.cache/trustbench-mcp-conformance}
version=${MCP_CONFORMANCE_VERSION:-0.2.0-alpha.12}
mkdir -p "$out" "$cache"
if [ ! -x "$cache/node_modules/.bin/node" ] || [ ! -d "$cache/node_modules/@modelcontextprotocol/conformance" ]; then
  npm install --prefix "$cache" --no-audit --no-fund "@modelcontextprotocol/conformance@$version" node@22 >"$out/npm.log" 2>&1 \
    || { echo "npm install failed (see $out/npm.log)"; exit 1; }
fi
node="$cache/node_modules/.bin/node"
suite="$cache/node_modules/@modelcontextprotocol/conformance/dist/index.js"

ready="$out/ready.json"; rm -f "$ready"
"$here/.venv/bin/python" "$here/bench/mcp_conformance_server.py" "$ready" >"$out/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null' EXIT
for _ in $(seq 120); do [ -s "$ready" ] && break; sleep 0.5; done
[ -s "$ready" ] || { echo "the server did not start (see $out/server.log)"; exit 1; }
proxy=$("$here/.venv/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['proxy'])" "$ready")
idp=$("$here/.venv/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['idp'])" "$ready")

for revision in 2026-07-28 2025-11-25; do
  echo "== server suite, requirements $revision, $proxy"
  "$node" "$suite" server --url "$proxy" --requirements "$revision" -o "$out/server-$revision" \
    >"$out/server-$revision.txt" 2>&1
  tail -n 60 "$out/server-$revision.txt"
done
echo "== authorization server suite, $idp"
# authorization-code-grant prints an authorization URL for a person: Sarah's browser actor opens it
# (POST /__browse on the harness), signs in, and the IdP redirects to the suite's callback.
client=$("$here/.venv/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['conformance_client'])" "$ready")
secret=$("$here/.venv/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['conformance_secret'])" "$ready")
"$node" "$suite" authorization --url "$idp" --client-id "$client" --client-secret "$secret" -o "$out/authorization" \
  >"$out/authorization.txt" 2>&1 &
suite_pid=$!
for _ in $(seq 120); do
  url=$(grep -m1 -o 'http[^ ]*/authorize?[^ ]*' "$out/authorization.txt" 2>/dev/null) && break
  kill -0 "$suite_pid" 2>/dev/null || break; sleep 0.5
done
if [ -n "${url:-}" ]; then
  curl -s -X POST --data-binary "$url" "${proxy%/mcp}/__browse" >"$out/browse.json"
fi
wait "$suite_pid"
tail -n 40 "$out/authorization.txt"
"$here/.venv/bin/python" "$here/bench/mcp_conformance_summary.py" "$out" >"$out/summary.txt"
echo "results: $out (one line per scenario: $out/summary.txt)"
