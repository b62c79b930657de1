#!/usr/bin/env bash
# Build GridPatrolFFI.xcframework (device + simulator slices of the Rust library) and put the
# generated Swift where ios-shell/GridPatrolKit expects it. On a Mac with Xcode and rustup; the
# steps are bindings/README.md's "iOS" section. Not runnable on the Linux machines here.
#
#   ios-shell/scripts/build-xcframework.sh            # release
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
kit="$root/ios-shell/GridPatrolKit"
cd "$root"

rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  IPHONEOS_DEPLOYMENT_TARGET=16.0 cargo build -p gridpatrol-ffi --release --target "$t"
done
# The Swift sources and headers (generated from the host library; the API is the same).
cargo xtask bindings --release

rm -rf build/ios && mkdir -p build/ios/headers build/ios/sim
cp build/bindings/swift/*.h build/bindings/swift/module.modulemap build/ios/headers/
lipo -create target/aarch64-apple-ios-sim/release/libgridpatrol_ffi.a \
             target/x86_64-apple-ios/release/libgridpatrol_ffi.a -output build/ios/sim/libgridpatrol_ffi.a
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libgridpatrol_ffi.a -headers build/ios/headers \
  -library build/ios/sim/libgridpatrol_ffi.a -headers build/ios/headers \
  -output build/ios/GridPatrolFFI.xcframework

# Into the package: the XCFramework beside Package.swift, the generated Swift as its GridPatrol target.
rm -rf "$kit/GridPatrolFFI.xcframework" "$kit/Sources/GridPatrol"
cp -R build/ios/GridPatrolFFI.xcframework "$kit/"
mkdir -p "$kit/Sources/GridPatrol"
cp build/bindings/swift/*.swift "$kit/Sources/GridPatrol/"
echo "ready: $kit (GridPatrolFFI.xcframework, Sources/GridPatrol)"
