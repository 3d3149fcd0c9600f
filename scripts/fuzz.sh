#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang in build-fuzz/ and runs each for a bounded
# time on a copy of its seed corpus, so fuzz/corpus/ changes only when an input is added on
# purpose. Exits non-zero when a target crashes, hangs or breaks an invariant, and says how to
# reproduce it. See fuzz/README.md.
#   FUZZ_SECONDS (20)       run time per target
#   FUZZ_TARGETS            the targets to run (default: all four)
#   FUZZ_TIMEOUT (10)       seconds after which one input counts as a hang
#   FUZZ_RSS_LIMIT_MB (2048)
#   JOBS (nproc)            build parallelism
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
timeout=${FUZZ_TIMEOUT:-10}
rss_limit=${FUZZ_RSS_LIMIT_MB:-2048}
read -r -a targets <<<"${FUZZ_TARGETS:-fuzz_codec fuzz_apply fuzz_http fuzz_ws}"
build_dir=build-fuzz
findings=$build_dir/findings
logs=$build_dir/logs

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFUN_NOTES_FUZZ=ON >/dev/null
build_start=$SECONDS
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"
echo "fuzz: built ${targets[*]} in $((SECONDS - build_start)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$findings" "$logs"
failed=()
for target in "${targets[@]}"; do
  cp -r "fuzz/corpus/$target" "$work/$target"
  mkdir -p "$work/tmp-$target"
  log=$logs/$target.log
  start=$SECONDS
  # fuzz_http keeps its SQLite files under TMPDIR: in $work they go even when it crashes.
  if TMPDIR=$work/tmp-$target "$build_dir/bin/$target" -max_total_time="$seconds" \
    -timeout="$timeout" -rss_limit_mb="$rss_limit" -print_final_stats=1 \
    -artifact_prefix="$findings/$target-" "$work/$target" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $target: ${runs:-?} inputs in $((SECONDS - start)) s, no finding"
  else
    failed+=("$target")
    echo "fuzz: $target FAILED after $((SECONDS - start)) s; the end of $log:" >&2
    tail -n 40 "$log" >&2
    artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
    if [ -n "$artifact" ]; then
      echo "fuzz: reproduce with: $build_dir/bin/$target $artifact" >&2
      echo "fuzz: once fixed, add it to the seeds: cp $artifact fuzz/corpus/$target/" >&2
    fi
  fi
done

echo "fuzz: build and runs took $SECONDS s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
