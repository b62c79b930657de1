// A worker's day through the view models only (the same story as the Android shell's), against
// the real core and a live HQ. Fakes stand in for the platform only: the network monitor, the
// location source, the Keychain, BGTaskScheduler and the clock.

import Foundation
import GridPatrol
@testable import GridPatrolKit
import XCTest

final class WorkerDayTests: LiveTestCase {
    @MainActor
    func testAWorkersDayThroughTheViewModels() async throws {
        // Enrol by QR; the installation id goes to the Keychain.
        let keys = FakeKeyStore()
        let enrolment = EnrolmentViewModel(folder: storeFolder, keys: keys, storeKeys: storeKeys)
        let code = try await offMain { [hq] in try hq.code() }
        XCTAssertTrue(enrolment.scanned("gridpatrol://enrol?hq=\(hq.url)&code=\(code)"))
        let enrolled = await enrolment.enrol()
        let store = try XCTUnwrap(enrolled)
        XCTAssertEqual(enrolment.phase, .enrolled(workerId: "w-001"))

        let network = FakeNetworkMonitor(.metered)
        let scheduler = FakeBackgroundScheduler()
        let location = FakeLocationSource()
        let app = AppModel(store: store, network: network, scheduler: scheduler, clock: FakeClock(), location: location)
        let nav = app.navigation

        // Home: my grid, its night patrol not started.
        let home = app.home()
        home.start()
        defer { home.stop() }
        let today = try XCTUnwrap(home.screen)
        XCTAssertEqual(today.grids.map { $0.id }, ["g-0101"])
        XCTAssertEqual(today.grids[0].nightPatrol, .notStarted)

        // Night patrol: started from home's action, check-ins from the patrol screen; the second
        // fix is weak (350 m) and the core flags it.
        let start = try XCTUnwrap(option(today.actions) { if case .startPatrol("g-0101", .night) = $0 { true } else { false } })
        guard case let .navigated(.patrol(patrolId)) = await home.perform(start) else { return XCTFail("no patrol") }
        let patrol = app.patrol(patrolId)
        patrol.start()
        defer { patrol.stop() }
        for item in patrol.screen!.checklist { patrol.answer(item.itemId, item.choices[0].value) }
        let checkIn = try XCTUnwrap(option(patrol.screen!.actions) { if case .checkIn = $0 { true } else { false } })
        let firstCheckIn = await patrol.perform(checkIn)
        XCTAssertEqual(firstCheckIn, .done)
        XCTAssertEqual(patrol.lastCheckpoint?.trusted, true)
        location.next = LocationFix(lat: inside.lat + 0.0003, lng: inside.lng, accuracyM: 350)
        let weakCheckIn = await patrol.perform(checkIn)
        XCTAssertEqual(weakCheckIn, .done)
        XCTAssertEqual(patrol.lastCheckpoint?.trusted, false)
        await eventually("home counts the weak check-in") { home.screen?.patrol?.weakCheckins == 1 }
        await eventually("the patrol screen flags it") { patrol.screen?.checkpoints.filter { !$0.trusted && $0.flag != nil }.count == 1 }

        // A hazard found on the patrol: the report form from the patrol screen, with a photo.
        location.next = LocationFix(lat: inside.lat, lng: inside.lng, accuracyM: 6)
        let fileReport = try XCTUnwrap(option(patrol.screen!.actions) { if case .fileReport = $0 { true } else { false } })
        let toReportForm = await patrol.perform(fileReport)
        XCTAssertEqual(toReportForm, .navigated(.reportForm(gridId: "g-0101", patrolId: patrolId)))
        let reportForm = app.reportForm(gridId: "g-0101", patrolId: patrolId)
        reportForm.load()
        reportForm.input.category = try XCTUnwrap(reportForm.form?.categories.first { $0.value == .safetyHazard }).value
        reportForm.input.description = "电动车楼道充电 (e-bike charging in the stairwell)"
        reportForm.addPhoto(path: try fixturePhoto(3, into: dir))
        let filed = await reportForm.submit()
        let report = try XCTUnwrap(filed, reportForm.error ?? "\(reportForm.errors)")
        XCTAssertEqual(nav.top, .caseDetail(caseId: report.caseId))
        XCTAssertEqual(report.patrolId, patrolId)
        // The case screen shows the photo from the bytes the encrypted store returns.
        let caseScreen = app.caseDetail(report.caseId)
        caseScreen.load()
        await caseScreen.loadThumbnails()
        let thumb = try XCTUnwrap(caseScreen.thumbnails[report.photos[0]], caseScreen.error ?? "no thumbnail")
        XCTAssertEqual([UInt8](thumb.prefix(2)), [0xFF, 0xD8], "a JPEG")
        XCTAssertEqual(thumb, try store.attachmentThumbnail(sha256: report.photos[0]))
        nav.popToHome()

        // Finish the patrol.
        await eventually("the report counts on the patrol") { (home.screen?.patrol?.reportsFiled ?? 0) == 1 }
        let finish = try XCTUnwrap(option(patrol.screen!.actions) { if case .finishPatrol(_, .findings) = $0 { true } else { false } })
        var finished = await patrol.perform(finish)
        if case .needsConfirmation = finished { finished = await patrol.confirm(true) ?? .failed("unanswered") }
        XCTAssertEqual(finished, .done, "\(finish.action): \(patrol.error ?? "")")
        await eventually("the night patrol is done") { home.screen?.grids.first?.nightPatrol == .done }

        // Offline in a basement: a visit through the grid screen and the visit form; the phone
        // goes in a pocket (background).
        network.set(.none)
        await eventually("offline seen") { app.sync.policyInput(.window, window: .foreground).network == .none }
        await eventually("no sync running") { !app.sync.running }
        let grid = app.grid("g-0101")
        grid.load()
        let household = try XCTUnwrap(grid.screen?.households.first)
        let recordVisit = try XCTUnwrap(option(household.actions) { if case .recordVisit = $0 { true } else { false } })
        let toVisitForm = await grid.perform(recordVisit)
        XCTAssertEqual(toVisitForm, .navigated(.visitForm(householdId: household.id)))
        let visitForm = app.visitForm(household.id)
        visitForm.load()
        let recorded = await visitForm.submit()
        let visit = try XCTUnwrap(recorded, visitForm.error ?? "\(visitForm.errors)")
        XCTAssertEqual(nav.path, [])
        await eventually("home lists the unsent visit") { (home.screen?.unsent.records ?? 0) >= 1 }
        app.sync.inForeground = false
        let submittedBefore = scheduler.submitted.count

        // Connectivity back: the core asks for a sync, the policy (in the background) asks iOS
        // for an app refresh window.
        network.set(.unmetered)
        await eventually("an app refresh was scheduled") {
            scheduler.submitted.dropFirst(submittedBefore).contains { $0.kind == .appRefresh }
        }
        XCTAssertTrue(app.sync.decisions.contains(.schedule(BackgroundRequest(kind: .appRefresh))))

        // iOS grants the window: a budgeted (~30 s) records sync.
        let windowSucceeded = await app.sync.backgroundWindow(.appRefresh)
        XCTAssertTrue(windowSucceeded)
        guard case let .sync(budget, photos, _)? = app.sync.decisions.last else { return XCTFail("no sync decided") }
        XCTAssertEqual(budget, SyncPolicy.appRefreshBudget)
        XCTAssertLessThanOrEqual(budget, 30)
        XCTAssertEqual(photos, .later)
        guard case let .finished(sent)? = app.sync.lastOutcome else { return XCTFail("\(String(describing: app.sync.lastOutcome))") }
        XCTAssertEqual(sent.unsentAfter, 0)
        await eventually("home: nothing unsent") { home.screen?.unsent.records == 0 }

        // HQ holds every record exactly once.
        let (patrols, visits, reports) = try await offMain { [hq] in (try hq.ids("patrols"), try hq.ids("visits"), try hq.ids("reports")) }
        XCTAssertEqual(patrols.filter { $0 == patrolId }.count, 1)
        XCTAssertEqual(visits.filter { $0 == visit.id }.count, 1)
        XCTAssertEqual(reports.filter { $0 == report.id }.count, 1)
        // The refresh window sent records only; the photo waits for a processing window.
        let early = try await offMain { [hq] in try? hq.send("GET", "/v1/admin/attachments/\(report.photos[0])") }
        XCTAssertNil(early, "the photo is not sent in a records-only refresh window")
        let processed = await app.sync.backgroundWindow(.processing)
        XCTAssertTrue(processed)
        guard case let .sync(_, laterPhotos, _)? = app.sync.decisions.last else { return XCTFail("no sync decided") }
        XCTAssertEqual(laterPhotos, .include)
        let photo = try await offMain { [hq] in try hq.send("GET", "/v1/admin/attachments/\(report.photos[0])") }
        XCTAssertFalse(photo.isEmpty, "the hazard's photo reached HQ in the processing window")

        // Back in front: a 110 diversion task dispatched at HQ reaches the task inbox through the
        // change stream after the next sync.
        app.sync.inForeground = true
        let inbox = app.taskInbox()
        inbox.start()
        defer { inbox.stop() }
        let taskId = "t-ios-" + UUID().uuidString.prefix(8).lowercased()
        let unitId = "u-ios-" + UUID().uuidString.prefix(8).lowercased()
        _ = try await offMain { [hq] in
            _ = try hq.json("POST", "/v1/admin/units", [
                "id": unitId, "kind": "justice", "name": "司法所 (justice office)", "community_ids": ["c-01"],
            ])
            return try hq.json("POST", "/v1/admin/tasks", [
                "id": taskId, "source": "diversion_110", "title": "邻里噪音纠纷 (noise dispute)",
                "description": "110 转派", "target_unit": "人民调解 (mediation)", "assignee_id": "w-001",
                "grid_id": "g-0101", "deadline": "2030-01-01T00:00:00Z", "unit_id": unitId, "caller": "13812345678",
            ])
        }
        XCTAssertFalse(inbox.screen?.tasks.contains { $0.id == taskId } ?? true)
        let status = app.syncStatus()
        status.load()
        let sendNow = try XCTUnwrap(option(status.screen!.actions) { if case .syncNow = $0 { true } else { false } })
        let sendNowResult = await status.perform(sendNow)
        XCTAssertEqual(sendNowResult, .done)
        await eventually("the 110 task arrives in the inbox") { inbox.screen?.tasks.contains { $0.id == taskId } == true }
        inbox.open(taskId)

        // Acknowledge, arrive (with a fix), complete.
        let task = app.task(taskId)
        task.start()
        defer { task.stop() }
        XCTAssertEqual(task.screen?.caller, "138****5678")
        XCTAssertEqual(task.screen?.unit, "司法所 (justice office)")
        for (action, state) in [(TaskAction.acknowledge, TaskStatus.acknowledged), (.arrive, .arrived), (.complete, .done)] {
            if action == .complete { task.draft.result = "双方调解成功 (settled)" }
            let step = try XCTUnwrap(option(task.screen?.actions ?? []) { if case .taskStep(_, action) = $0 { true } else { false } }, "\(action)")
            let stepResult = await task.perform(step)
            XCTAssertEqual(stepResult, .done, task.error ?? "")
            await eventually("task \(state)") { task.screen?.status == state }
        }
        let finalSend = await status.perform(sendNow)
        XCTAssertEqual(finalSend, .done)
        let hqTasks = try await offMain { [hq] in try hq.json("GET", "/v1/admin/tasks") as! [[String: Any]] }
        XCTAssertEqual(hqTasks.first { $0["id"] as? String == taskId }?["status"] as? String, "done")
        XCTAssertEqual(try store.syncStatus().unsent.records, 0)
    }
}
