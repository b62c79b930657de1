#!/usr/bin/env bash
# Installs what the binding test suites need, reusing whatever is already on the machine:
#   - JNA and JUnit 4 from Debian (Kotlin on the JVM),
#   - the Kotlin compiler from the npm package `kotlin-compiler` (cached under $TOOLS),
#   - a Debian trixie chroot with `swiftlang` (Swift 6 + XCTest) under $SWIFT_ROOT.
# Prints nothing on success but the paths it settled on ("kotlinc: …", "swift chroot: …"),
# which `cargo xtask test-bindings` reads. Needs root (apt-get, debootstrap, mount, chroot).
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
command -v python3 >/dev/null || apt_missing+=(python3)
[ -x "$TOOLS/kotlinc/bin/kotlinc" ] || command -v npm >/dev/null || apt_missing+=(npm)
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
  # swiftc needs /proc; unmount it again however this ends (a failed apt-get included).
  if ! mountpoint -q "$SWIFT_ROOT/proc"; then
    mount -t proc proc "$SWIFT_ROOT/proc"
    trap 'umount "$SWIFT_ROOT/proc" 2>/dev/null || umount -l "$SWIFT_ROOT/proc" 2>/dev/null || true' EXIT
  fi
  chroot "$SWIFT_ROOT" apt-get update -qq
  chroot "$SWIFT_ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq swiftlang >/dev/null
  chroot "$SWIFT_ROOT" apt-get clean
fi
echo "swift chroot: $SWIFT_ROOT"
