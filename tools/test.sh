#!/usr/bin/env bash
# The README's test command (and CI's): install what is missing, then
#   1. build (build/) and run the whole ctest suite;
#   2. build with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#      and run the unit and MPI tests and the bad-input corpus again;
#   3. build the libFuzzer targets with clang (build-fuzz/) and run each for
#      PIPEGRID_FUZZ_SECONDS (default 60) from its seed corpus.
# Set PIPEGRID_TEST_STAGES to a subset of "main asan fuzz" to run fewer.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=${PIPEGRID_TEST_STAGES:-main asan fuzz}
tools/deps.sh clang libclang-rt-14-dev
for stage in $stages; do
  case "$stage" in
    main)
      echo "== tests"
      tools/build.sh
      (cd build && ctest --output-on-failure --timeout 600 -j "$(nproc)")
      ;;
    asan)
      echo "== unit and MPI tests and the bad-input corpus under ASan + UBSan"
      # CPU only: ASan and the CUDA runtime do not mix, and nvcc need not run twice
      PIPEGRID_BUILD=build-asan tools/build.sh -DPIPEGRID_SANITIZE=ON -DPIPEGRID_CUDA=OFF
      # MPICH/UCX keep allocations past MPI_Finalize: leak checks for the
      # unit tests only; the yield shim is preloaded before the ASan runtime
      (cd build-asan &&
        ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure --timeout 600 -L unit &&
        ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 UBSAN_OPTIONS=print_stacktrace=1 \
          ctest --output-on-failure --timeout 900 -j "$(nproc)" -L mpi &&
        ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 UBSAN_OPTIONS=print_stacktrace=1 \
          ctest --output-on-failure --timeout 900 -j "$(nproc)" -L badinput)
      ;;
    fuzz)
      echo "== fuzzing"
      tools/fuzz.sh "${PIPEGRID_FUZZ_SECONDS:-60}"
      ;;
    *) echo "tools/test.sh: unknown stage '$stage'" >&2; exit 2 ;;
  esac
done
