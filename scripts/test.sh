#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine with Rust: installs what it needs,
# starts PostgreSQL, runs the lint gate, then every crate's unit, integration, property, crash
# and end-to-end tests (HQ on SQLite and on PostgreSQL) and the bindings' suites.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v sha256sum >/dev/null || need_apt+=(coreutils)
command -v cc >/dev/null || need_apt+=(build-essential)   # rusqlite's bundled SQLite is C
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

# An independent OpenAPI validator for HQ's /openapi.json (hq/tests/hq/openapi.rs).
python3 -c "import openapi_spec_validator" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator==0.9.0 \
  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip \
       && python3 -m pip install --quiet --break-system-packages openapi-spec-validator==0.9.0; }

# PostgreSQL for HQ's conformance runs: every storage test runs on SQLite and on PostgreSQL.
export GRIDPATROL_TEST_PG_URL="${GRIDPATROL_TEST_PG_URL:-$(bash scripts/pg-test-db.sh)}"

# The lint gate first: formatting, clippy and rustdoc with warnings denied (xtask/src/main.rs).
cargo xtask ci

# cargo-nextest when present (faster, per-test processes); plain cargo test otherwise.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
cargo xtask test-bindings  # Kotlin, Swift and Python bindings against a live HQ (bindings/README.md)
cargo xtask test-shells-ios  # the iOS shell's GridPatrolKit suite against a live HQ (ios-shell/README.md)
