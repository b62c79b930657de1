// Test support: a live HQ (`gridpatrol hq serve`, as the bindings' Swift suite starts it), the
// fixture photos, and fakes for the platform protocols only (Fake…). The core is always real.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GridPatrol
@testable import GridPatrolKit
import XCTest

let adminToken = "ios-shell-admin-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
/// Inside grid g-0101 of the sample config.
let inside = GeoPoint(lat: 31.232, lng: 121.473)

/// A fixture JPEG written by the runner into $GRIDPATROL_FIXTURES (testing/src/lib.rs).
func fixturePhoto(_ variant: UInt8, into dir: URL) throws -> String {
    guard let fixtures = ProcessInfo.processInfo.environment["GRIDPATROL_FIXTURES"] else {
        throw GridPatrolErrorText("GRIDPATROL_FIXTURES is not set")
    }
    let data = try Data(contentsOf: URL(fileURLWithPath: fixtures).appendingPathComponent("photo-\(variant).jpg"))
    let url = dir.appendingPathComponent("camera-\(variant).jpg")
    try data.write(to: url)
    return url.path
}

/// A real `gridpatrol hq serve` on loopback with a temporary SQLite folder and the sample config.
final class Hq: @unchecked Sendable {
    let url: String
    private let process = Process()
    private let dir: URL

    init() throws {
        guard let bin = ProcessInfo.processInfo.environment["GRIDPATROL_BIN"] else {
            throw GridPatrolErrorText("GRIDPATROL_BIN is not set")
        }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gp-ios-hq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["hq", "serve", "--listen", "127.0.0.1:0", "--database", dir.path]
        var env = ProcessInfo.processInfo.environment
        env["GRIDPATROL_ADMIN_TOKEN"] = adminToken
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        var seen = ""
        var found: String?
        while found == nil {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw GridPatrolErrorText("HQ exited before listening: \(seen)") }
            seen += String(decoding: chunk, as: UTF8.self)
            if let line = seen.split(separator: "\n").first(where: { $0.contains("listening on ") }) {
                found = line.components(separatedBy: "listening on ")[1].trimmingCharacters(in: .whitespaces)
            }
        }
        url = found!
        out.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
        let sample = Process()
        sample.executableURL = URL(fileURLWithPath: bin)
        sample.arguments = ["device", "sample-config"]
        let sampleOut = Pipe()
        sample.standardOutput = sampleOut
        try sample.run()
        let config = sampleOut.fileHandleForReading.readDataToEndOfFile()
        sample.waitUntilExit()
        _ = try send("POST", "/v1/admin/import", config)
    }

    /// SIGKILL: HQ's graceful shutdown waits for open keep-alive connections (a store's HTTP
    /// pool), and a test HQ has nothing to save.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }

    /// A blocking admin request (run off the main actor: `await hq.call { … }`).
    func send(_ method: String, _ path: String, _ body: Data? = nil) throws -> Data {
        var req = URLRequest(url: URL(string: url + path)!)
        req.httpMethod = method
        req.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        if let body {
            req.httpBody = body
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<Data, Error> = .failure(GridPatrolErrorText("no answer"))
        URLSession.shared.dataTask(with: req) { data, response, error in
            if let error {
                result = .failure(error)
            } else if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                result = .failure(GridPatrolErrorText("\(method) \(path): \(http.statusCode) \(String(decoding: data ?? Data(), as: UTF8.self))"))
            } else {
                result = .success(data ?? Data())
            }
            done.signal()
        }.resume()
        done.wait()
        return try result.get()
    }

    func json(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> Any {
        let data = try send(method, path, body.map { try JSONSerialization.data(withJSONObject: $0) })
        return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    func code(_ worker: String = "w-001") throws -> String {
        let v = try json("POST", "/v1/admin/workers/\(worker)/enrolment-codes", [:]) as! [String: Any]
        return v["code"] as! String
    }

    /// Ids in HQ's list of patrols, visits or reports (with repeats, if any).
    func ids(_ kind: String) throws -> [String] {
        let v = try json("GET", "/v1/admin/\(kind)?from=2000-01-01&to=2100-01-01")
        let rows = (v as? [[String: Any]]) ?? ((v as? [String: Any])?["rows"] as? [[String: Any]]) ?? []
        return rows.compactMap { $0["id"] as? String }
    }
}

/// Blocking HQ calls off the main actor, so the main actor keeps serving the view models.
func offMain<T: Sendable>(_ f: @escaping @Sendable () throws -> T) async throws -> T {
    try await _Concurrency.Task.detached { try f() }.value
}

// ---------- fakes of the platform protocols ----------

final class FakeLocationSource: LocationSource, @unchecked Sendable {
    var next: LocationFix
    var fixes = 0
    init(_ fix: LocationFix = LocationFix(lat: inside.lat, lng: inside.lng, accuracyM: 8)) { next = fix }
    func currentFix() async throws -> LocationFix {
        fixes += 1
        return next
    }
}

final class FakeKeyStore: KeyStore {
    var items: [String: String] = [:]
    func string(for key: String) throws -> String? { items[key] }
    func set(_ value: String, for key: String) throws { items[key] = value }
    func remove(_ key: String) throws { items[key] = nil }
}

/// The store key as the Keychain-backed provider behaves: 32 bytes from the system's secure
/// random generator, made on the first call and the same at every call after (kept in memory
/// here, not in a Keychain). `locked` makes it throw as a Keychain before the first unlock does.
final class FakeKeyProvider: KeyProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var key: Data?
    var locked = false
    private(set) var calls = 0

    init(_ key: Data? = nil) { self.key = key }

    func storeKey() throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        calls += 1
        if locked { throw KeyProviderError.Unavailable(reason: "keychain locked (test)") }
        if let key = key { return key }
        var rng = SystemRandomNumberGenerator()
        let made = Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) })
        key = made
        return made
    }
}

final class FakeNetworkMonitor: NetworkMonitor, @unchecked Sendable {
    private(set) var current: Connectivity
    private var handler: (@Sendable (Connectivity) -> Void)?
    init(_ kind: Connectivity) { current = kind }
    func start(_ onChange: @escaping @Sendable (Connectivity) -> Void) { handler = onChange }
    func stop() { handler = nil }
    /// The path changed (as NWPathMonitor would report it).
    func set(_ kind: Connectivity) {
        current = kind
        handler?(kind)
    }
}

final class FakeBackgroundScheduler: BackgroundScheduler {
    var submitted: [BackgroundRequest] = []
    var cancelled: [BackgroundTaskKind] = []
    func submit(_ request: BackgroundRequest) throws { submitted.append(request) }
    func cancel(_ kind: BackgroundTaskKind) { cancelled.append(kind) }
}

final class FakeClock: Clock {
    var current = Date(timeIntervalSince1970: 1_800_000_000)
    func now() -> Date { current }
}

/// Wait (on the main actor, letting other work run) until `condition` holds.
@MainActor
func eventually(_ what: String, timeout: TimeInterval = 15, _ condition: () -> Bool,
                file: StaticString = #filePath, line: UInt = #line) async {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline {
            XCTFail("timed out waiting for: \(what)", file: file, line: line)
            return
        }
        try? await _Concurrency.Task.sleep(nanoseconds: 20_000_000)
    }
}

func option(_ options: [ActionOption], _ match: (Action) -> Bool) -> ActionOption? {
    options.first { match($0.action) }
}

/// One enrolled store per test, against the suite's HQ.
class LiveTestCase: XCTestCase {
    nonisolated(unsafe) static var sharedHq: Hq?
    var hq: Hq { Self.sharedHq! }
    var dir: URL!

    /// One HQ per test class, stopped when the class is done.
    override class func setUp() {
        super.setUp()
        sharedHq = try! Hq()
    }

    override class func tearDown() {
        sharedHq?.stop()
        sharedHq = nil
        super.tearDown()
    }

    override func setUp() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gp-ios-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: dir)
    }

    var storeFolder: String { dir.appendingPathComponent("store").path }
    /// This test's store key (the Keychain's, on a phone).
    let storeKeys = FakeKeyProvider()

    func enrolledStore() async throws -> GridPatrolStore {
        let code = try await offMain { [hq] in try hq.code() }
        return try await GridPatrolStore.enrol(folder: storeFolder, hqUrl: hq.url, code: code,
                                               settings: DeviceSettings(syncMaxAttempts: 2), keys: storeKeys)
    }
}
