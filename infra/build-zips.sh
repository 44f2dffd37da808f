#!/usr/bin/env bash
# Builds the three Lambda zips (import, transform, insert) that infra/template.yaml deploys and
# prints their sizes.
#
#   infra/build-zips.sh            # arm64 (the default; the template's Architecture parameter)
#   infra/build-zips.sh x86_64     # Intel, when the aarch64 std cannot be installed
#
# Output: target/lambda/{import,transform,insert}/bootstrap.zip — the paths the template's
# CodeUri names. Needs cargo-lambda (`pip install cargo-lambda==1.9.2`, which brings zig for
# cross-compiling) and, for arm64, `rustup target add aarch64-unknown-linux-gnu`.
#
# Fails when a zip is over 50 MB (Lambda's limit for a directly uploaded zip); our own target is
# 5 MB and is reported, not enforced.
set -euo pipefail
cd "$(dirname "$0")/.."

arch="${1:-arm64}"
case "$arch" in
    arm64) flag=--arm64 ;;
    x86_64) flag=--x86-64 ;;
    *) echo "usage: $0 [arm64|x86_64]" >&2; exit 2 ;;
esac

lambda_dir=target/lambda
limit=$((50 * 1024 * 1024))
target_size=$((5 * 1024 * 1024))

# One cargo invocation for the three packages: dependencies are compiled once, with the feature
# set these three binaries need together (the release profile in Cargo.toml is size-tuned).
cargo lambda build --release "$flag" --output-format zip --lambda-dir "$lambda_dir" --locked \
    -p ordersync-import --bin import \
    -p ordersync-transform --bin transform \
    -p ordersync-insert --bin insert

status=0
printf '%-10s %-7s %14s %14s\n' function arch "binary (bytes)" "zip (bytes)"
for bin in import transform insert; do
    zip="$lambda_dir/$bin/bootstrap.zip"
    if [[ ! -f "$zip" ]]; then
        echo "missing $zip" >&2
        status=1
        continue
    fi
    zip_bytes=$(stat -c %s "$zip")
    # The uncompressed size of `bootstrap` inside the zip (no unzip needed).
    bin_bytes=$(python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).getinfo("bootstrap").file_size)' "$zip")
    printf '%-10s %-7s %14s %14s (%s MB)\n' "$bin" "$arch" "$bin_bytes" "$zip_bytes" \
        "$(awk -v b="$zip_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')"
    if ((zip_bytes > limit)); then
        echo "FAIL: $zip is over Lambda's 50 MB zip limit" >&2
        status=1
    elif ((zip_bytes > target_size)); then
        echo "note: $zip is over the 5 MB target (still deployable)" >&2
    fi
done
exit "$status"
