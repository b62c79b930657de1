#!/usr/bin/env bash
# Coverage-guided fuzzing of every reader of outside input (fuzz/): builds the targets with
# cargo-fuzz (libFuzzer), replays every saved finding (fuzz/regressions/<target>/), then fuzzes
# each target for FUZZ_SECONDS (default 30) from its seeds (fuzz/seeds/<target>/). Fails on any
# crash, hang (10 s) or out-of-memory (2 GB), naming the input it saved under build/fuzz/.
# Usage: bash scripts/fuzz.sh [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(push_body hq_pull hq_enrol phone_pull_page photo grid_config template)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
# libFuzzer's instrumentation needs nightly flags: the nightly toolchain when present, else the
# stable one with RUSTC_BOOTSTRAP (the same flags, unlocked).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
# No sanitizer: the targets are safe Rust (a panic, hang or blow-up is the finding); this keeps
# the instrumented build of HQ's dependencies within CI's time.
opts=(-O -s none --fuzz-dir fuzz)
t0=$(date +%s)
"${fuzz[@]}" build "${opts[@]}"
echo "fuzz: built in $(( $(date +%s) - t0 )) s"

out=build/fuzz
status=0
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
  bin="fuzz/target/x86_64-unknown-linux-gnu/release/$t"
  # Every input that ever broke a target stays a test of it.
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    "$bin" fuzz/regressions/"$t"/* >"$out/$t.regressions.log" 2>&1 \
      || { echo "fuzz $t: a saved finding fails again (see $out/$t.regressions.log)"; status=1; continue; }
  fi
  log="$out/$t.log"
  if "$bin" "$out/corpus/$t" "fuzz/seeds/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$out/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz $t: runs=$runs seconds=$seconds findings=0"
  else
    echo "fuzz $t: FAILED — $(grep -m1 -E 'ERROR|panicked|deadly signal|timeout|out-of-memory' "$log" || echo 'see log')"
    ls "$out/artifacts/$t" | sed "s|^|  saved: $out/artifacts/$t/|"
    status=1
  fi
done
exit $status
