#!/usr/bin/env bash
# Installs what the binding test suites need, reusing whatever is already on the machine:
#   - JNA and JUnit 4 from Debian (Kotlin on the JVM),
#   - the Kotlin compiler from the npm package `kotlin-compiler` (cached under $TOOLS),
#   - a Debian trixie chroot with `swiftlang` (Swift 6 + XCTest) under $SWIFT_ROOT.
# Prints nothing on success but the paths it settled on.
set -euo pipefail
TOOLS=${GRIDPATROL_TOOLS:-/var/cache/gridpatrol/tools}
SWIFT_ROOT=${GRIDPATROL_SWIFT_ROOT:-/var/cache/gridpatrol/swift-trixie}
KOTLIN_VERSION=2.4.20
mkdir -p "$TOOLS"

apt_missing=()
[ -f /usr/share/java/jna.jar ] || apt_missing+=(libjna-java)
[ -f /usr/share/java/junit4.jar ] || apt_missing+=(junit4)
command -v java >/dev/null || apt_missing+=(default-jdk-headless)
command -v debootstrap >/dev/null || apt_missing+=(debootstrap)
if [ ${#apt_missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

if [ ! -x "$TOOLS/kotlinc/bin/kotlinc" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null && tar xzf kotlin-compiler-*.tgz)
  rm -rf "$TOOLS/kotlinc" && mv "$tmp/package" "$TOOLS/kotlinc" && chmod +x "$TOOLS/kotlinc/bin/"*
  rm -rf "$tmp"
fi
echo "kotlinc: $TOOLS/kotlinc/bin/kotlinc"

if [ ! -x "$SWIFT_ROOT/usr/bin/swift" ]; then
  if [ ! -x "$SWIFT_ROOT/usr/bin/apt-get" ]; then
    rm -rf "$SWIFT_ROOT"
    mkdir -p "$SWIFT_ROOT"
    debootstrap --variant=minbase trixie "$SWIFT_ROOT" http://deb.debian.org/debian >/dev/null
  fi
  mountpoint -q "$SWIFT_ROOT/proc" || mount -t proc proc "$SWIFT_ROOT/proc"
  chroot "$SWIFT_ROOT" apt-get update -qq
  chroot "$SWIFT_ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq swiftlang >/dev/null
  chroot "$SWIFT_ROOT" apt-get clean
  umount "$SWIFT_ROOT/proc" || true
fi
echo "swift chroot: $SWIFT_ROOT"
