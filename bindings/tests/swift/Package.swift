// swift-tools-version:5.9
// The Swift suite's package. `cargo xtask test-bindings swift` assembles it under
// build/bindings/swift-package: this manifest and Tests/ from bindings/tests/swift, the
// generated GridPatrol.swift in Sources/GridPatrol, and the generated C header with a
// module.modulemap (`link "gridpatrol_ffi"`) in Sources/GridPatrolFFI. An iOS app links
// the same two targets against the XCFramework instead (bindings/README.md).
import PackageDescription

let package = Package(
    name: "GridPatrolBindings",
    products: [.library(name: "GridPatrol", targets: ["GridPatrol"])],
    targets: [
        .systemLibrary(name: "GridPatrolFFI", path: "Sources/GridPatrolFFI"),
        .target(name: "GridPatrol", dependencies: ["GridPatrolFFI"], path: "Sources/GridPatrol"),
        .testTarget(name: "GridPatrolTests", dependencies: ["GridPatrol"], path: "Tests/GridPatrolTests"),
    ]
)
