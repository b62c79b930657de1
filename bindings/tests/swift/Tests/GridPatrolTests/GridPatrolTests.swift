// GridPatrol's Swift binding (the iOS binding, minus UIKit) against a live HQ.
// Run by `cargo xtask test-bindings swift`: `swift test` in the Debian-trixie chroot, linked
// against libgridpatrol_ffi.so; GRIDPATROL_BIN is the `gridpatrol` binary HQ runs from.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GridPatrol
import XCTest

let adminToken = "swift-suite-admin-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
let inside = GeoPoint(lat: 31.232, lng: 121.473) // inside grid g-0101 of the sample config

/// A tiny JPEG with a comment the store strips (testing/src/lib.rs `tiny_jpeg_with_comment`,
/// written by `cargo xtask test-bindings` into $GRIDPATROL_FIXTURES).
func tinyJpeg(_ variant: UInt8) throws -> Data {
    guard let dir = ProcessInfo.processInfo.environment["GRIDPATROL_FIXTURES"] else {
        throw NSError(domain: "GridPatrolTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "GRIDPATROL_FIXTURES is not set"])
    }
    return try Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent("photo-\(variant).jpg"))
}

/// SHA-256 (FIPS 180-4), hex. CryptoKit is Apple-only and swift-crypto is not available here.
func sha256Hex(_ data: Data) -> String {
    let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
    var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var msg = [UInt8](data)
    let bitLength = UInt64(msg.count) * 8
    msg.append(0x80)
    while msg.count % 64 != 56 { msg.append(0) }
    for i in (0..<8).reversed() { msg.append(UInt8((bitLength >> (UInt64(i) * 8)) & 0xFF)) }
    func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
    for chunk in stride(from: 0, to: msg.count, by: 64) {
        var w = [UInt32](repeating: 0, count: 64)
        for i in 0..<16 {
            w[i] = (0..<4).reduce(UInt32(0)) { ($0 << 8) | UInt32(msg[chunk + i * 4 + $1]) }
        }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
        for i in 0..<64 {
            let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let t1 = hh &+ s1 &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
            let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let t2 = s0 &+ ((a & b) ^ (a & c) ^ (b & c))
            (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
        }
        for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
    }
    return h.map { String(format: "%08x", $0) }.joined()
}

let sqliteHeader = Data("SQLite format 3\u{0}".utf8)

/// 32 bytes from the system's secure random generator (`SystemRandomNumberGenerator`: the
/// kernel's getrandom here, `SecRandomCopyBytes`' source on iOS).
func randomKey(_ count: Int = 32) -> Data {
    var rng = SystemRandomNumberGenerator()
    return Data((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &rng) })
}

/// The store key as a test keeps it: made on the first call, written to a file of its own
/// outside the store folder (owner-only), read back at every later call. On iOS the same bytes
/// live in a Keychain item instead (bindings/README.md).
final class FileKeyProvider: KeyProvider, @unchecked Sendable {
    let url: URL
    init(_ url: URL) { self.url = url }

    func storeKey() throws -> Data {
        // Never made twice: an existing key file is read (or the provider fails), not replaced.
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: randomKey(), attributes: [.posixPermissions: 0o600]) else {
                throw KeyProviderError.Unavailable(reason: "cannot write the key file")
            }
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw KeyProviderError.Unavailable(reason: "cannot read the key file")
        }
    }
}

/// Always the given bytes: another installation's key, or one of the wrong size.
final class FixedKey: KeyProvider, @unchecked Sendable {
    let key: Data
    init(_ key: Data) { self.key = key }
    func storeKey() throws -> Data { key }
}

/// A key store that cannot answer (the Keychain before first unlock, say).
final class LockedKeys: KeyProvider, @unchecked Sendable {
    func storeKey() throws -> Data { throw KeyProviderError.Unavailable(reason: "keychain locked (test)") }
}

/// Every file under `folder`, with its bytes.
func filesUnder(_ folder: URL) throws -> [String: Data] {
    var out: [String: Data] = [:]
    let items = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
    while let url = items?.nextObject() as? URL {
        if (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            out[url.path] = try Data(contentsOf: url)
        }
    }
    return out
}

/// A real `gridpatrol hq serve` on loopback with a temporary SQLite folder.
final class Hq: @unchecked Sendable {
    let url: String
    /// HQ's test data: the sample configuration it imported.
    let sample: Data
    private let process = Process()
    /// HQ's SQLite folder (clear text: the residents' names are in its bytes).
    let dir: URL
    private let bin: String

    init() throws {
        guard let bin = ProcessInfo.processInfo.environment["GRIDPATROL_BIN"] else {
            throw NSError(domain: "GRIDPATROL_BIN is not set", code: 1)
        }
        self.bin = bin
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gp-hq-\(UUID().uuidString)")
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
            if chunk.isEmpty { throw NSError(domain: "HQ exited before listening: \(seen)", code: 2) }
            seen += String(decoding: chunk, as: UTF8.self)
            if let line = seen.split(separator: "\n").first(where: { $0.contains("listening on ") }) {
                found = line.components(separatedBy: "listening on ")[1].trimmingCharacters(in: .whitespaces)
            }
        }
        url = found!
        // Keep draining HQ's output so it never blocks on a full pipe.
        out.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
        let sample = Process()
        sample.executableURL = URL(fileURLWithPath: bin)
        sample.arguments = ["device", "sample-config"]
        let sampleOut = Pipe()
        sample.standardOutput = sampleOut
        try sample.run()
        let config = sampleOut.fileHandleForReading.readDataToEndOfFile()
        sample.waitUntilExit()
        self.sample = config
        _ = try send("POST", "/v1/admin/import", config)
    }

    /// The residents' names and phone numbers in HQ's test data.
    func residents() throws -> [String] {
        let config = try JSONSerialization.jsonObject(with: sample) as! [String: Any]
        let households = config["households"] as! [[String: Any]]
        return households.flatMap { [$0["name"] as? String, $0["phone"] as? String].compactMap { $0 } }
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }

    /// A blocking admin request (fine in a test).
    func send(_ method: String, _ path: String, _ body: Data? = nil) throws -> Data {
        var req = URLRequest(url: URL(string: url + path)!)
        req.httpMethod = method
        req.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        if let body = body {
            req.httpBody = body
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<Data, Error> = .failure(NSError(domain: "no answer", code: 3))
        URLSession.shared.dataTask(with: req) { data, response, error in
            if let error = error {
                result = .failure(error)
            } else if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                let text = String(decoding: data ?? Data(), as: UTF8.self)
                result = .failure(NSError(domain: "\(method) \(path): \(http.statusCode) \(text)", code: 4))
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

    /// HQ's rows of patrols, visits or reports.
    func rows(_ kind: String) throws -> [[String: Any]] {
        let v = try json("GET", "/v1/admin/\(kind)?from=2000-01-01&to=2100-01-01")
        return (v as? [[String: Any]]) ?? ((v as? [String: Any])?["rows"] as? [[String: Any]]) ?? []
    }

    /// Ids in HQ's list of patrols, visits or reports (with repeats, if any).
    func ids(_ kind: String) throws -> [String] {
        try rows(kind).compactMap { $0["id"] as? String }
    }
}

/// (width, height) from a JPEG's SOF segment.
func jpegSize(_ data: Data) -> (Int, Int)? {
    let b = [UInt8](data)
    var i = 2
    while i + 9 < b.count {
        let marker = b[i + 1]
        let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
        if (0xC0...0xC2).contains(marker) {
            return (Int(b[i + 7]) << 8 | Int(b[i + 8]), Int(b[i + 5]) << 8 | Int(b[i + 6]))
        }
        i += 2 + length
    }
    return nil
}

final class Recorder<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func add(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
}

final class Progress: SyncProgressListener, @unchecked Sendable {
    let seen = Recorder<SyncProgress>()
    func onProgress(progress: SyncProgress) { seen.add(progress) }
}

final class Changes: DataChangedListener, @unchecked Sendable {
    let seen = Recorder<DataChange>()
    func onDataChanged(change: DataChange) { seen.add(change) }
}

final class Scheduler: SyncScheduler, @unchecked Sendable {
    let reasons = Recorder<SyncReason>()
    func syncWanted(reason: SyncReason) { reasons.add(reason) }
}

final class GridPatrolTests: XCTestCase {
    nonisolated(unsafe) static var hq: Hq!
    var hq: Hq { Self.hq }
    var dir: URL!
    var folder: URL!
    var keys: FileKeyProvider!
    var store: GridPatrolStore!

    override class func setUp() {
        super.setUp()
        hq = try! Hq()
    }

    override class func tearDown() {
        hq.stop()
        super.tearDown()
    }

    override func setUp() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gp-phone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        folder = dir.appendingPathComponent("store")
        // The key file sits in a folder of its own, never in the store folder (the platform's key store).
        let keyFolder = dir.appendingPathComponent("keys")
        try FileManager.default.createDirectory(at: keyFolder, withIntermediateDirectories: true)
        keys = FileKeyProvider(keyFolder.appendingPathComponent("store.key"))
        store = try await GridPatrolStore.enrol(
            folder: folder.path, hqUrl: hq.url, code: try hq.code(),
            settings: DeviceSettings(syncMaxAttempts: 2), keys: keys)
    }

    override func tearDown() async throws {
        store = nil // deinit releases the Rust object
        try? FileManager.default.removeItem(at: dir)
    }

    func photo(_ variant: UInt8) throws -> String {
        let url = dir.appendingPathComponent("photo-\(variant).jpg")
        try tinyJpeg(variant).write(to: url)
        return url.path
    }

    /// A camera-sized JPEG (written by `cargo xtask test-bindings` into $GRIDPATROL_FIXTURES).
    func cameraPhoto() throws -> String {
        let fixtures = URL(fileURLWithPath: ProcessInfo.processInfo.environment["GRIDPATROL_FIXTURES"]!)
        let url = dir.appendingPathComponent("camera.jpg")
        try Data(contentsOf: fixtures.appendingPathComponent("camera.jpg")).write(to: url)
        return url.path
    }

    func allAnswers() -> [ChecklistAnswer] {
        store.activeTemplate().patrol.checklist.map { ChecklistAnswer(itemId: $0.id, answer: .ok) }
    }

    /// A worker's day driven only by screen models and their actions.
    func testAFieldDayThroughScreenModelsReachesHqExactlyOnce() async throws {
        let changes = Changes()
        _ = store.addDataChangedListener(listener: changes)
        XCTAssertEqual(store.device().workerId, "w-001")

        // Home: my grid from the list, today's patrols not started, the actions on offer.
        let home = try store.today()
        let grid = try XCTUnwrap(home.grids.first)
        XCTAssertEqual(grid.id, "g-0101")
        XCTAssertEqual(grid.dayPatrol, .notStarted)
        XCTAssertGreaterThanOrEqual(grid.boundary.count, 3)
        var start: (String, PatrolShift)?
        for option in home.actions {
            if case let .startPatrol(gridId, shift) = option.action, shift == .night { start = (gridId, shift) }
        }
        let (gridId, shift) = try XCTUnwrap(start)
        // The grid screen: a household picked from the list (search by name), phone masked.
        let household = try XCTUnwrap(try store.gridScreen(gridId: gridId, query: HouseholdQuery(text: "陈")).households.first)
        XCTAssertTrue(household.phone?.contains("****") ?? false)

        // 巡查: the patrol screen's checklist is the form; its parts say why.
        var patrol = try await store.startPatrol(gridId: gridId, shift: shift)
        var screen = try store.patrolScreen(patrolId: patrol.id)
        let answers = screen.checklist.map { ChecklistAnswer(itemId: $0.itemId, answer: $0.choices[0].value) }
        for _ in 0..<2 {
            let cp = try await store.checkIn(patrolId: patrol.id, input: CheckInInput(location: inside, accuracyM: 8, answers: answers))
            XCTAssertTrue(cp.trusted)
        }
        screen = try store.patrolScreen(patrolId: patrol.id)
        XCTAssertTrue(screen.parts.prefix(2).allSatisfy { $0.done }, screen.parts.map { $0.why }.joined(separator: "; "))
        var finish: (String, PatrolOutcome)?
        for option in screen.actions {
            if case let .finishPatrol(id, outcome) = option.action, outcome == .nothingFound { finish = (id, outcome) }
        }
        let (finishId, outcome) = try XCTUnwrap(finish)
        patrol = try await store.finishPatrol(patrolId: finishId, outcome: outcome, note: nil)
        XCTAssertEqual(try store.today().grids.first?.nightPatrol, .done)

        // 走访 through the visit form, checked by the core first.
        let form = try store.visitForm(householdId: household.id)
        let routine = try XCTUnwrap(form.visitTypes.first { !$0.followUp }).value
        let bad = VisitInput(householdId: household.id, visitType: routine, outcome: form.outcomes[0].value, satisfaction: 4)
        XCTAssertEqual(try store.validateVisit(input: bad).map { $0.field }, ["satisfaction"])
        let visit = try await store.recordVisit(input: VisitInput(
            householdId: household.id, visitType: routine, outcome: form.outcomes[0].value))

        // 上报 through the report form, with a photo; the case shows in the inbox.
        let rf = try store.reportForm()
        let input = ReportInput(
            gridId: rf.grids[0].id, category: try XCTUnwrap(rf.categories.first { $0.reportAtOnce }).value,
            location: inside, description: "电动车楼道充电 (e-bike charging in the stairwell)", source: .resident,
            photos: [try cameraPhoto()])
        XCTAssertEqual(try store.validateReport(input: input), [])
        let report = try await store.fileReport(input: input)
        // Stored downscaled (a camera-sized file to 1600 px), with a thumbnail for lists.
        // Photos live inside the encrypted store: the calls return their bytes.
        let stored = try store.attachmentPhoto(sha256: report.photos[0])
        XCTAssertEqual(sha256Hex(stored), report.photos[0])
        XCTAssertEqual(jpegSize(stored).map { [$0.0, $0.1] }, [1600, 1200])
        let thumb = try store.attachmentThumbnail(sha256: report.photos[0])
        XCTAssertEqual(jpegSize(thumb).map { [$0.0, $0.1] }, [320, 240])
        XCTAssertThrowsError(try store.attachmentOriginal(sha256: report.photos[0])) { error in
            guard case .NotFound? = error as? GridPatrolError else { return XCTFail("\(error)") } // the template keeps none
        }
        XCTAssertThrowsError(try store.attachmentPhoto(sha256: String(repeating: "0", count: 64))) { error in
            guard case .NotFound(let entity, _)? = error as? GridPatrolError else { return XCTFail("\(error)") }
            XCTAssertEqual(entity, "attachment")
        }
        for (path, bytes) in try filesUnder(folder) {
            XCTAssertNil(bytes.range(of: stored.prefix(64)), path)
        }
        XCTAssertEqual(try store.caseInbox(filter: CaseFilter(openOnly: true)).rows.map { $0.caseId }, [report.caseId])
        let page = try store.caseTimeline(caseId: report.caseId)
        XCTAssertEqual(page.photos.map { $0.sha256 }, report.photos)
        var close: (String, CaseState)?
        for option in page.actions {
            if case let .caseStep(caseId, to) = option.action, to == .closed { close = (caseId, to) }
        }
        let (caseId, to) = try XCTUnwrap(close)
        let closed = try await store.moveCase(input: CaseStepInput(
            caseId: caseId, to: to,
            clear: ClearItems(
                facts: "楼道内电动车充电", responsibleUnit: "物业 (property management)",
                deadline: Date().addingTimeInterval(86_400), outcome: "已移除 (removed)",
                feedback: "居民满意"),
            photos: [try photo(2)]))
        XCTAssertEqual(closed.to, .closed)
        XCTAssertEqual(try store.caseTimeline(caseId: report.caseId).clear.filter { !$0.done }.map { $0.item }, [.ledger])
        let status = try store.syncStatus()
        XCTAssertGreaterThan(status.unsent.records, 0)
        XCTAssertEqual(status.photosQueued, 2)

        // 110 非警务分流: HQ routes a task to a unit and this worker; the task inbox's stream shows
        // it after the sync that brings it, without polling.
        let taskId = "t-sw-" + UUID().uuidString.prefix(8).lowercased()
        let unitId = "u-sw-" + UUID().uuidString.prefix(8).lowercased()
        _ = try hq.json("POST", "/v1/admin/units", [
            "id": unitId, "kind": "justice", "name": "司法所 (justice office)", "community_ids": ["c-01"],
        ])
        var inboxes = store.taskInboxUpdates().makeAsyncIterator()
        let before = try await inboxes.next()
        XCTAssertFalse(before?.tasks.contains { $0.id == taskId } ?? true)
        _ = try hq.json("POST", "/v1/admin/tasks", [
            "id": taskId, "source": "diversion_110", "title": "邻里噪音纠纷 (noise dispute)",
            "description": "110 转派", "target_unit": "人民调解 (mediation)", "assignee_id": "w-001",
            "grid_id": "g-0101", "deadline": "2030-01-01T00:00:00Z", "unit_id": unitId, "caller": "13812345678",
        ])
        // A sync bounded to 2 s (an iOS background window is ~30 s); a run the budget stops says
        // what is left, and the next one goes on from there.
        let listener = Progress()
        let budget = SyncMode(send: .recordsAndPhotos, network: .unmetered, timeBudgetMs: 2_000)
        var runs = [try await store.syncWith(mode: budget, cancel: nil, progress: listener)]
        while runs.last!.stoppedOnBudget && runs.count < 10 {
            XCTAssertGreaterThan(runs.last!.recordsLeft + runs.last!.photosLeft, 0)
            runs.append(try await store.syncWith(mode: budget, cancel: nil, progress: listener))
        }
        XCTAssertFalse(runs.last!.stoppedOnBudget)
        XCTAssertEqual(listener.seen.all.last?.phase, .done)
        XCTAssertGreaterThanOrEqual(runs.map { $0.tasksReceived }.reduce(0, +), 1)
        XCTAssertEqual(runs.map { $0.photosUploaded }.reduce(0, +), 2)
        var arrivedInInbox = false
        while !arrivedInInbox, let inbox = try await inboxes.next() {
            arrivedInInbox = inbox.tasks.contains { $0.id == taskId }
        }
        XCTAssertTrue(arrivedInInbox)

        // The task page: caller masked, the steps its status allows, each an action.
        var taskPage = try store.taskDetail(taskId: taskId)
        XCTAssertEqual(taskPage.caller, "138****5678")
        XCTAssertEqual(taskPage.unit, "司法所 (justice office)")
        var ack: (String, TaskAction)?
        for option in taskPage.actions {
            if case let .taskStep(id, action) = option.action, action == .acknowledge { ack = (id, action) }
        }
        let (ackId, ackAction) = try XCTUnwrap(ack)
        _ = try await store.actOnTask(input: TaskActionInput(taskId: ackId, action: ackAction))
        taskPage = try store.taskDetail(taskId: taskId)
        XCTAssertTrue(try XCTUnwrap(taskPage.steps.first { $0.action == .arrive }).needsLocation)
        do {
            _ = try await store.actOnTask(input: TaskActionInput(taskId: taskId, action: .arrive))
            XCTFail("arrived without a GPS fix")
        } catch GridPatrolError.InvalidInput(let field, _) {
            XCTAssertEqual(field, "location")
        }
        _ = try await store.actOnTask(input: TaskActionInput(taskId: taskId, action: .arrive, location: inside))
        let done = try await store.actOnTask(input: TaskActionInput(taskId: taskId, action: .complete, result: "双方调解成功 (settled)"))
        XCTAssertEqual(done.status, .done)
        let second = try await store.sync(progress: nil)
        XCTAssertEqual(second.unsentAfter, 0)
        XCTAssertEqual(try store.syncStatus().unsent.records, 0)

        // HQ holds every record exactly once, and the photo's bytes hash to its id.
        XCTAssertEqual(try hq.ids("patrols").filter { $0 == patrol.id }.count, 1)
        XCTAssertEqual(try hq.ids("visits").filter { $0 == visit.id }.count, 1)
        XCTAssertEqual(try hq.ids("reports").filter { $0 == report.id }.count, 1)
        let hqPatrol = try hq.rows("patrols").first { $0["id"] as? String == patrol.id }
        XCTAssertEqual(hqPatrol?["checkins"] as? Int, 2)
        let hqCase = try hq.json("GET", "/v1/admin/cases/\(report.caseId)") as! [String: Any]
        XCTAssertEqual(hqCase["state"] as? String, "closed")
        let events = try XCTUnwrap(hqCase["events"] as? [[String: Any]])
        XCTAssertEqual(events.count, 2) // reported, closed
        XCTAssertEqual(events.filter { $0["id"] as? String == closed.id }.count, 1)
        let hqTasks = try hq.json("GET", "/v1/admin/tasks") as! [[String: Any]]
        XCTAssertEqual(hqTasks.first { $0["id"] as? String == taskId }?["status"] as? String, "done")
        let bytes = try hq.send("GET", "/v1/admin/attachments/\(report.photos[0])")
        XCTAssertEqual(sha256Hex(bytes), report.photos[0])
        XCTAssertNil(bytes.range(of: Data("SECRETCAM".utf8)))

        // The listeners were told too: each recording, and the syncs that changed data.
        XCTAssertTrue(changes.seen.all.contains(.recorded(kind: .report, id: report.id)))
        let synced = changes.seen.all.filter { if case .synced = $0 { return true } else { return false } }
        XCTAssertGreaterThanOrEqual(synced.count, 2)
    }

    func testBTypedErrors() async throws {
        let patrol = try await store.startPatrol(gridId: "g-0101", shift: .day)
        do {
            _ = try await store.checkIn(patrolId: patrol.id, input: CheckInInput(location: GeoPoint(lat: 200, lng: 121)))
            XCTFail("lat 200 was accepted")
        } catch GridPatrolError.InvalidInput(let field, let reason) {
            XCTAssertEqual(field, "location.lat")
            XCTAssertTrue(reason.contains("-90"), reason)
        }

        let report = try await store.fileReport(input: ReportInput(
            gridId: "g-0101", category: .dispute, location: inside, description: "邻里纠纷 (neighbours)",
            source: .patrol, patrolId: patrol.id))
        do {
            _ = try await store.moveCase(input: CaseStepInput(caseId: report.caseId, to: .dispatched))
            XCTFail("reported → dispatched was accepted")
        } catch GridPatrolError.IllegalTransition(let from, let to) {
            XCTAssertEqual(from, .reported)
            XCTAssertEqual(to, .dispatched)
        }
        // Legal, but the office's step (the role table): refused on the phone.
        do {
            _ = try await store.moveCase(input: CaseStepInput(caseId: report.caseId, to: .accepted))
            XCTFail("a worker accepted a case")
        } catch GridPatrolError.RoleNotAllowed(let field, _) {
            XCTAssertEqual(field, "to")
        }
        XCTAssertEqual(try store.caseTimeline(caseId: report.caseId).nextSteps.map { $0.to }, [.closed])
        XCTAssertThrowsError(try store.caseTimeline(caseId: "no-such-case")) { error in
            XCTAssertEqual(error as? GridPatrolError, .NotFound(entity: "case", id: "no-such-case"))
        }

        do {
            _ = try await GridPatrolStore.enrol(
                folder: dir.appendingPathComponent("other").path, hqUrl: hq.url, code: "WRNG-CODE-0000",
                settings: DeviceSettings(), keys: keys)
            XCTFail("a wrong code was accepted")
        } catch GridPatrolError.EnrolmentCodeInvalid {}
        do {
            _ = try await GridPatrolStore.enrol(
                folder: dir.appendingPathComponent("other").path, hqUrl: "http://127.0.0.1:9", code: try hq.code(),
                settings: DeviceSettings(), keys: keys)
            XCTFail("enrolled without HQ")
        } catch GridPatrolError.HqUnreachable(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
        XCTAssertThrowsError(try GridPatrolStore.open(
            folder: dir.appendingPathComponent("nothing-here").path, settings: DeviceSettings(), keys: keys)) { error in
            XCTAssertEqual(error as? GridPatrolError, .NotInitialised)
        }

        // Closing without the six clear items names what is missing.
        let other = try await store.fileReport(input: ReportInput(
            gridId: "g-0101", category: .residentRequest, location: inside,
            description: "路灯不亮 (street light out)", source: .resident))
        do {
            _ = try await store.moveCase(input: CaseStepInput(caseId: other.caseId, to: .closed, photos: [try photo(3)]))
            XCTFail("closed without the six clear items")
        } catch GridPatrolError.ClearItemsMissing(let missing) {
            XCTAssertTrue(missing.contains(.facts))
            XCTAssertFalse(missing.contains(.ledger))
            XCTAssertEqual(ClearItem.ledger.label(), "台账清 (archived in the ledger)")
        }
    }

    func testCTwoTasksAndConcurrentSyncsShareOneStore() async throws {
        let store = self.store!
        let ids = Recorder<String>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for household in ["h-0001", "h-0002"] {
                group.addTask {
                    for _ in 0..<15 {
                        let v = try await store.recordVisit(input: VisitInput(
                            householdId: household, visitType: .routine, outcome: .met))
                        ids.add(v.id)
                        _ = try store.today()
                    }
                }
            }
            // Two syncs at once while the tasks record: the store runs them one after the other.
            for _ in 0..<2 {
                group.addTask { _ = try await store.sync(progress: nil) }
            }
            try await group.waitForAll()
        }
        _ = try await store.sync(progress: nil)
        XCTAssertEqual(try store.today().unsent.records, 0)
        XCTAssertEqual(ids.all.count, 30)
        let atHq = try hq.ids("visits")
        for id in ids.all { XCTAssertEqual(atHq.filter { $0 == id }.count, 1) }
    }

    func testDConnectivityHintAsksForASync() async throws {
        let scheduler = Scheduler()
        store.setSyncScheduler(scheduler: scheduler)
        XCTAssertFalse(store.networkChanged(online: false))
        XCTAssertTrue(scheduler.reasons.all.isEmpty)
        XCTAssertTrue(store.networkChanged(online: true))
        XCTAssertFalse(store.networkChanged(online: true), "a repeated hint asks for nothing more")
        XCTAssertEqual(scheduler.reasons.all, [.networkRestored])
        _ = try await store.recordVisit(input: VisitInput(householdId: "h-0003", visitType: .routine, outcome: .notHome))
        XCTAssertEqual(scheduler.reasons.all.last, .recordedWhileOnline)
        let report = try await store.sync(progress: nil)
        XCTAssertEqual(report.unsentAfter, 0)
    }

    func testELabelsAreChineseAndEnglish() async throws {
        XCTAssertEqual(CaseState.closed.label(), "结案 (closed)")
        XCTAssertEqual(ReportCategory.safetyHazard.zh(), "安全隐患")
        XCTAssertEqual(TaskAction.acknowledge.code(), "acknowledge")
        let today = try store.today()
        XCTAssertTrue(today.workerRole.contains("("))
        XCTAssertTrue(today.unsent.message.contains("("))
        // The store's language labels every screen: Chinese alone, English alone, or both.
        XCTAssertEqual(CaseState.closed.labelIn(lang: .en), "closed")
        store.setLanguage(lang: .zh)
        XCTAssertEqual(try store.today().workerRole, "专职网格员")
        store.setLanguage(lang: .en)
        XCTAssertEqual(try store.today().workerRole, "full-time grid worker")
        store.setLanguage(lang: .both)
    }

    func testFASecondHandleSharesTheStoreAndItsListeners() async throws {
        let changes = Changes()
        _ = store.addDataChangedListener(listener: changes)
        var again: GridPatrolStore? = try GridPatrolStore.open(
            folder: folder.path, settings: DeviceSettings(), keys: keys)
        XCTAssertEqual(again?.device(), store.device())
        var last = ""
        for handle in [again!, store!, again!] {
            last = try await handle.recordVisit(input: VisitInput(householdId: "h-0002", visitType: .routine, outcome: .met)).id
        }
        XCTAssertTrue(changes.seen.all.contains(.recorded(kind: .visit, id: last)))
        again = nil // deinit
        XCTAssertEqual(try store.today().unsent.records, 3)
    }

    func testGTheStoreIsEncryptedAtRestWithTheProvidersKey() async throws {
        // The phone holds HQ's residents (names and phones, for the worker's grid)…
        let residents = try hq.residents()
        XCTAssertGreaterThanOrEqual(residents.count, 4)
        let shown = try store.gridScreen(gridId: "g-0101", query: HouseholdQuery()).households
        XCTAssertTrue(shown.contains { residents.contains($0.name) }, "\(shown.map { $0.name })")
        _ = try await store.recordVisit(input: VisitInput(householdId: shown[0].id, visitType: .routine, outcome: .met))
        _ = try await store.fileReport(input: ReportInput(
            gridId: "g-0101", category: .safetyHazard, location: inside, description: "楼道堆物 (clutter)",
            source: .resident, photos: [try photo(4)]))
        _ = try await store.sync(progress: nil)
        // The byte search finds them where they are in clear — HQ's own SQLite folder — so the
        // check below can fail.
        let atHq = try filesUnder(hq.dir).values
        for name in residents where !name.allSatisfy(\.isNumber) {
            XCTAssertTrue(atHq.contains { $0.range(of: Data(name.utf8)) != nil }, "\(name) at HQ")
        }
        // …yet no file under the store folder carries a name or a phone number in clear.
        let files = try filesUnder(folder)
        let db = try XCTUnwrap(files[folder.appendingPathComponent("gridpatrol.db").path], "\(files.keys)")
        XCTAssertNotEqual(db.prefix(16), sqliteHeader)
        for (path, bytes) in files {
            XCTAssertNotEqual(bytes.prefix(16), sqliteHeader, path)
            for secret in residents {
                XCTAssertNil(bytes.range(of: Data(secret.utf8)), "\(secret) in clear in \(path)")
            }
        }
        // The key: made once by the provider, the same at every call, outside the store folder.
        let key = try Data(contentsOf: keys.url)
        XCTAssertEqual(key.count, 32)
        XCTAssertEqual(try keys.storeKey(), key)
        XCTAssertFalse(keys.url.standardizedFileURL.path.hasPrefix(folder.standardizedFileURL.path + "/"))
        for (path, bytes) in files { XCTAssertNil(bytes.range(of: key), path) }

        // Another key, while the store is open in this process and once it is released: refused.
        let folderPath = folder.path
        XCTAssertThrowsError(try GridPatrolStore.open(folder: folderPath, settings: DeviceSettings(), keys: FixedKey(randomKey()))) {
            XCTAssertEqual($0 as? GridPatrolError, .StoreKeyWrong)
        }
        let device = store.device()
        store = nil // deinit releases the Rust object
        XCTAssertThrowsError(try GridPatrolStore.open(folder: folderPath, settings: DeviceSettings(), keys: FixedKey(randomKey()))) {
            XCTAssertEqual($0 as? GridPatrolError, .StoreKeyWrong)
        }
        // A provider that cannot answer, and a key of the wrong size: typed errors.
        XCTAssertThrowsError(try GridPatrolStore.open(folder: folderPath, settings: DeviceSettings(), keys: LockedKeys())) {
            guard case .KeyUnavailable(let reason)? = $0 as? GridPatrolError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("keychain locked"), reason)
        }
        XCTAssertThrowsError(try GridPatrolStore.open(folder: folderPath, settings: DeviceSettings(), keys: FixedKey(randomKey(16)))) {
            guard case .InvalidInput(let field, _)? = $0 as? GridPatrolError else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "key")
        }
        do {
            _ = try await GridPatrolStore.enrol(
                folder: dir.appendingPathComponent("other").path, hqUrl: hq.url, code: try hq.code(),
                settings: DeviceSettings(), keys: LockedKeys())
            XCTFail("enrolled without a key")
        } catch GridPatrolError.KeyUnavailable {}
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("other/gridpatrol.db").path))
        // The right key from a fresh provider on the same key file opens it, data intact.
        store = try GridPatrolStore.open(folder: folderPath, settings: DeviceSettings(), keys: FileKeyProvider(keys.url))
        XCTAssertEqual(store.device(), device)
        XCTAssertEqual(try store.today().unsent.records, 0)
    }
}
