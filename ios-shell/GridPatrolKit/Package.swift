// swift-tools-version:5.9
// GridPatrolKit: everything of the iOS shell that is not UI (view models, navigation, the sync
// policy, the permission flow, the platform protocols), over the generated Swift bindings.
//
// Sources/GridPatrol (the generated Swift + bindings/adapters/swift) and Sources/GridPatrolFFI
// (headers + module.modulemap) are not committed: `cargo xtask test-shells` copies them in
// from build/bindings/swift (ios-shell/README.md). On Linux the C module links the .so through a
// system library target; on Apple platforms it is the XCFramework built by
// ios-shell/scripts/build-xcframework.sh.
import PackageDescription

#if os(Linux)
let ffi: Target = .systemLibrary(name: "GridPatrolFFI", path: "Sources/GridPatrolFFI")
#else
let ffi: Target = .binaryTarget(name: "GridPatrolFFI", path: "GridPatrolFFI.xcframework")
#endif

let package = Package(
    name: "GridPatrolKit",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "GridPatrol", targets: ["GridPatrol"]),
        .library(name: "GridPatrolKit", targets: ["GridPatrolKit"]),
    ],
    targets: [
        ffi,
        .target(name: "GridPatrol", dependencies: ["GridPatrolFFI"], path: "Sources/GridPatrol"),
        .target(name: "GridPatrolKit", dependencies: ["GridPatrol"], path: "Sources/GridPatrolKit"),
        .testTarget(name: "GridPatrolKitTests", dependencies: ["GridPatrolKit", "GridPatrol"], path: "Tests/GridPatrolKitTests"),
    ]
)
