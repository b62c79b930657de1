// Each view model against a real store (the real core) enrolled at a live HQ: the state it
// publishes for each action.

import Foundation
import GridPatrol
@testable import GridPatrolKit
import XCTest

final class ViewModelTests: LiveTestCase {
    @MainActor
    func app(_ store: GridPatrolStore, network: Connectivity = .unmetered, location: FakeLocationSource = FakeLocationSource()) -> AppModel {
        AppModel(store: store, network: FakeNetworkMonitor(network), scheduler: FakeBackgroundScheduler(), clock: FakeClock(),
                 location: location)
    }

    @MainActor
    func testHomePublishesTodayAndItsActionsStartAPatrol() async throws {
        let app = app(try await enrolledStore(), network: .none)
        let home = app.home()
        var notified = 0
        _ = home.observe { notified += 1 }
        home.start()
        defer { home.stop() }
        let today = try XCTUnwrap(home.screen)
        XCTAssertEqual(today.grids.first?.id, "g-0101")
        XCTAssertEqual(today.grids.first?.nightPatrol, .notStarted)
        XCTAssertNil(today.patrol)
        XCTAssertGreaterThan(notified, 0)
        let start = try XCTUnwrap(option(today.actions) { if case .startPatrol(_, .night) = $0 { true } else { false } })
        let result = await home.perform(start)
        guard case let .navigated(.patrol(patrolId)) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(app.navigation.path, [.patrol(patrolId: patrolId)])
        XCTAssertEqual(home.lastResult, result)
        XCTAssertNil(home.error)
        // The stream brings the running patrol to home, with its check-in and finish actions.
        await eventually("home shows the running patrol") { home.screen?.patrol?.patrolId == patrolId }
        XCTAssertTrue(home.screen!.actions.contains { if case .checkIn(patrolId) = $0.action { true } else { false } })
        home.openSyncStatus()
        XCTAssertEqual(app.navigation.top, .syncStatus)
    }

    @MainActor
    func testGridSearchesThroughTheCoreAndOpensTheVisitForm() async throws {
        let app = app(try await enrolledStore(), network: .none)
        let grid = app.grid("g-0101")
        grid.load()
        let all = try XCTUnwrap(grid.screen).householdsMatching
        grid.search("陈")
        let found = try XCTUnwrap(grid.screen)
        XCTAssertEqual(grid.query.text, "陈")
        XCTAssertFalse(found.households.isEmpty)
        XCTAssertLessThan(found.householdsMatching, all)
        XCTAssertTrue(found.households.allSatisfy { $0.name.contains("陈") || $0.label.contains("陈") })
        let household = found.households[0]
        XCTAssertTrue(household.phone?.contains("****") ?? true, "the core masks phones")
        let visit = try XCTUnwrap(option(household.actions) { if case .recordVisit = $0 { true } else { false } })
        let result = await grid.perform(visit)
        XCTAssertEqual(result, .navigated(.visitForm(householdId: household.id)))
        XCTAssertEqual(app.navigation.top, .visitForm(householdId: household.id))
    }

    @MainActor
    func testPatrolChecksInWithTheOsFixAndTheCoreFlagsAWeakOne() async throws {
        let location = FakeLocationSource()
        let app = app(try await enrolledStore(), network: .none, location: location)
        let patrol = try await app.store.startPatrol(gridId: "g-0101", shift: .day)
        let vm = app.patrol(patrol.id)
        vm.start()
        defer { vm.stop() }
        let screen = try XCTUnwrap(vm.screen)
        XCTAssertTrue(screen.inProgress)
        XCTAssertFalse(screen.checklist.isEmpty)
        for item in screen.checklist { vm.answer(item.itemId, item.choices[0].value) }
        XCTAssertEqual(vm.answers.count, screen.checklist.count)

        let good = await vm.checkIn()
        XCTAssertEqual(good?.trusted, true)
        location.next = LocationFix(lat: inside.lat, lng: inside.lng, accuracyM: 350)
        let weak = await vm.checkIn()
        XCTAssertEqual(weak?.trusted, false, "a weak fix is recorded and flagged, not refused")
        XCTAssertEqual(vm.lastCheckpoint, weak)
        location.next = LocationFix(lat: inside.lat, lng: inside.lng, accuracyM: 5, simulated: true)
        let mock = await vm.checkIn()
        XCTAssertEqual(mock?.trusted, false)
        XCTAssertEqual(location.fixes, 3)
        await eventually("three checkpoints, two flagged") { vm.screen?.checkpoints.count == 3 }
        let rows = vm.screen!.checkpoints
        XCTAssertEqual(rows.filter { !$0.trusted }.count, 2)
        XCTAssertTrue(rows.contains { $0.mockLocation })
        XCTAssertTrue(rows.filter { !$0.trusted }.allSatisfy { $0.flag != nil })

        // Finish (the core says whether it asks first).
        let finish = try XCTUnwrap(option(vm.screen!.actions) { if case .finishPatrol(_, .nothingFound) = $0 { true } else { false } })
        var result = await vm.perform(finish)
        if case .needsConfirmation = result {
            XCTAssertEqual(vm.pendingConfirmation, finish)
            let answered = await vm.confirm(true)
            result = try XCTUnwrap(answered)
        }
        XCTAssertEqual(result, .done)
        await eventually("the patrol is over") { vm.screen?.inProgress == false }
        XCTAssertTrue(vm.screen!.actions.isEmpty)
    }

    @MainActor
    func testVisitFormShowsTheCoresFieldErrorsThenRecords() async throws {
        let app = app(try await enrolledStore(), network: .none)
        app.navigation.push(.grid(gridId: "g-0101"))
        app.navigation.push(.visitForm(householdId: "h-0001"))
        let form = app.visitForm("h-0001")
        form.load()
        let f = try XCTUnwrap(form.form)
        XCTAssertEqual(f.household.id, "h-0001")
        form.input.visitType = try XCTUnwrap(f.visitTypes.first { !$0.followUp }).value
        form.input.satisfaction = 4
        let refused = await form.submit()
        XCTAssertNil(refused)
        XCTAssertEqual(form.errors.map { $0.field }, ["satisfaction"])
        XCTAssertFalse(form.errors(for: "satisfaction").isEmpty)
        XCTAssertEqual(app.navigation.top, .visitForm(householdId: "h-0001"), "stays open")
        form.input.satisfaction = nil
        let visit = await form.submit()
        XCTAssertNotNil(visit)
        XCTAssertEqual(form.saved, visit)
        XCTAssertEqual(form.errors, [])
        XCTAssertEqual(app.navigation.path, [.grid(gridId: "g-0101")])
        XCTAssertEqual(try app.store.syncStatus().unsent.records, 1)
    }

    @MainActor
    func testReportFormFilesWithAPhotoAndOpensTheCase() async throws {
        let location = FakeLocationSource()
        let app = app(try await enrolledStore(), network: .none, location: location)
        app.navigation.push(.reportForm(gridId: "g-0101", patrolId: nil))
        let vm = app.reportForm(gridId: "g-0101", patrolId: nil)
        vm.load()
        let form = try XCTUnwrap(vm.form)
        XCTAssertEqual(vm.input.gridId, "g-0101")
        vm.input.category = try XCTUnwrap(form.categories.first { $0.value == .safetyHazard }).value
        vm.input.description = ""
        let refused = await vm.submit()
        XCTAssertNil(refused)
        XCTAssertTrue(vm.errors.contains { $0.field == "description" })
        XCTAssertEqual(vm.fix?.accuracyM, 8)
        vm.input.description = "楼道堆放杂物 (clutter in the stairwell)"
        vm.addPhoto(path: try fixturePhoto(1, into: dir))
        let filed = await vm.submit()
        let report = try XCTUnwrap(filed)
        XCTAssertEqual(vm.saved, report)
        XCTAssertEqual(report.photos.count, 1)
        XCTAssertEqual(app.navigation.path, [.caseDetail(caseId: report.caseId)])
        let status = try app.store.syncStatus()
        XCTAssertEqual(status.photosQueued, 1)
    }

    @MainActor
    func testCaseInboxAndCaseFollowTheCoreAndCloseWithTheSixClearItems() async throws {
        let app = app(try await enrolledStore(), network: .none)
        let report = try await app.store.fileReport(input: ReportInput(
            gridId: "g-0101", category: .residentRequest, location: inside, description: "路灯不亮 (street light out)",
            source: .resident))
        let inbox = app.caseInbox()
        inbox.start()
        defer { inbox.stop() }
        XCTAssertEqual(inbox.screen?.rows.map { $0.caseId }, [report.caseId])
        XCTAssertEqual(inbox.screen?.open, 1)
        inbox.open(report.caseId)
        XCTAssertEqual(app.navigation.top, .caseDetail(caseId: report.caseId))

        let vm = app.caseDetail(report.caseId)
        vm.start()
        defer { vm.stop() }
        XCTAssertEqual(vm.screen?.state, .reported)
        let close = try XCTUnwrap(option(vm.screen!.actions) { if case .caseStep(_, .closed) = $0 { true } else { false } })
        // With a photo but without the six clear items the core refuses and says which are missing.
        vm.draft.photos = [try fixturePhoto(2, into: dir)]
        var result = await vm.perform(close, confirmed: true)
        guard case let .failed(message) = result else { return XCTFail("\(result)") }
        XCTAssertTrue(message.contains("ClearItemsMissing"), message)
        XCTAssertEqual(vm.error, message)
        XCTAssertEqual(vm.draft.photos.count, 1, "a refused step keeps the draft")
        vm.draft = ActionContext(
            clear: ClearItems(facts: "路灯损坏", responsibleUnit: "市政 (public works)", deadline: Date().addingTimeInterval(86_400),
                              outcome: "已修复 (repaired)", feedback: "居民满意"),
            photos: [try fixturePhoto(2, into: dir)])
        result = await vm.perform(close, confirmed: true)
        XCTAssertEqual(result, .done)
        XCTAssertNil(vm.error)
        XCTAssertTrue(vm.draft.photos.isEmpty, "the draft is spent")
        await eventually("the case is closed on screen") { vm.screen?.state == .closed }
        await eventually("the inbox follows") { inbox.screen?.open == 0 }
    }

    @MainActor
    func testTaskInboxAndTaskFollowHqsDispatchAndStepThroughTheCoresSteps() async throws {
        let location = FakeLocationSource()
        // Offline as far as the coordinator knows: only the runner below syncs.
        let app = app(try await enrolledStore(), network: .none, location: location)
        let inbox = app.taskInbox()
        inbox.start()
        defer { inbox.stop() }
        let taskId = "t-ios-" + UUID().uuidString.prefix(8).lowercased()
        _ = try await offMain { [hq] in
            try hq.json("POST", "/v1/admin/tasks", [
                "id": taskId, "source": "hotline_12345", "title": "井盖缺失 (missing manhole cover)", "description": "12345 转派",
                "target_unit": "市政 (public works)", "assignee_id": "w-001", "grid_id": "g-0101",
                "deadline": "2030-01-01T00:00:00Z",
            ])
        }
        XCTAssertEqual(inbox.screen?.tasks.contains { $0.id == taskId }, false)
        let outcome = await app.sync.runner.run(SyncRequest(budget: 30, photos: .include))
        guard case let .finished(report) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertGreaterThanOrEqual(report.tasksReceived, 1)
        await eventually("the task arrives in the inbox") { inbox.screen?.tasks.contains { $0.id == taskId } == true }
        inbox.open(taskId)
        XCTAssertEqual(app.navigation.top, .taskDetail(taskId: taskId))

        let vm = app.task(taskId)
        vm.start()
        defer { vm.stop() }
        func step(_ a: TaskAction) throws -> ActionOption {
            try XCTUnwrap(option(vm.screen?.actions ?? []) { if case .taskStep(_, a) = $0 { true } else { false } }, "\(a)")
        }
        let acknowledged = await vm.perform(try step(.acknowledge))
        XCTAssertEqual(acknowledged, .done)
        await eventually("acknowledged") { vm.screen?.status == .acknowledged }
        let arrive = try step(.arrive)
        XCTAssertEqual(vm.step(for: arrive)?.needsLocation, true)
        let arrived = await vm.perform(arrive)
        XCTAssertEqual(arrived, .done)
        XCTAssertEqual(location.fixes, 1, "the fix came from the LocationSource because the core asked for one")
        await eventually("arrived") { vm.screen?.status == .arrived }
        vm.draft.result = "已设置围挡 (fenced off)"
        let completed = await vm.perform(try step(.complete))
        XCTAssertEqual(completed, .done)
        await eventually("done") { vm.screen?.status == .done }
        XCTAssertEqual(vm.screen?.result, "已设置围挡 (fenced off)")
    }

    @MainActor
    func testSyncStatusShowsUnsentWorkAndSendNowSendsIt() async throws {
        let app = app(try await enrolledStore())
        _ = try await app.store.recordVisit(input: VisitInput(householdId: "h-0002", visitType: .routine, outcome: .met))
        let vm = app.syncStatus()
        vm.start()
        defer { vm.stop() }
        await eventually("unsent shown") { (vm.screen?.unsent.records ?? 0) > 0 || app.sync.running || app.sync.lastOutcome != nil }
        await eventually("no sync running") { !app.sync.running }
        let send = try XCTUnwrap(option(vm.screen!.actions) { if case .syncNow = $0 { true } else { false } })
        let sent = await vm.perform(send)
        XCTAssertEqual(sent, .done)
        XCTAssertEqual(vm.lastDecision, .sync(budget: SyncPolicy.foregroundBudget, photos: .include, followUp: nil))
        await eventually("all sent") { vm.screen?.unsent.records == 0 }
        XCTAssertNotNil(vm.screen?.lastSync.lastSuccessAt)
        XCTAssertTrue(vm.screen!.rejected.isEmpty)
    }

    @MainActor
    func testEnrolmentByQrKeepsTheInstallationIdInTheKeyStore() async throws {
        let keys = FakeKeyStore()
        let vm = EnrolmentViewModel(folder: storeFolder, keys: keys, storeKeys: storeKeys)
        XCTAssertFalse(vm.scanned("hello world"))
        let code = try await offMain { [hq] in try hq.code() }
        XCTAssertTrue(vm.scanned("gridpatrol://enrol?hq=\(hq.url)&code=\(code)"))
        XCTAssertEqual(vm.hqUrl, hq.url)
        XCTAssertEqual(vm.code, code)
        var phases: [EnrolmentViewModel.Phase] = []
        _ = vm.observe { phases.append(vm.phase) }
        let store = await vm.enrol()
        XCTAssertNotNil(store)
        XCTAssertEqual(vm.phase, .enrolled(workerId: "w-001"))
        XCTAssertTrue(phases.contains(.enrolling))
        XCTAssertEqual(keys.items.count, 1, "the installation id, made once")

        // A wrong code is the core's typed error, in words.
        let again = EnrolmentViewModel(folder: dir.appendingPathComponent("other").path, keys: keys, storeKeys: storeKeys, hqUrl: hq.url)
        XCTAssertTrue(again.scanned("WRNG-CODE-0000"))
        _ = await again.enrol()
        guard case let .failed(message) = again.phase else { return XCTFail("\(again.phase)") }
        XCTAssertTrue(message.contains("EnrolmentCodeInvalid"), message)
    }

    @MainActor
    func testTheStoreIsEncryptedWithTheKeyProvidersKey() async throws {
        let keys = FakeKeyStore()
        // Enrolment with a Keychain that cannot answer: the core's typed error, nothing created.
        storeKeys.locked = true
        let vm = EnrolmentViewModel(folder: storeFolder, keys: keys, storeKeys: storeKeys, hqUrl: hq.url)
        vm.code = try await offMain { [hq] in try hq.code() }
        let none = await vm.enrol()
        XCTAssertNil(none)
        guard case let .failed(message) = vm.phase else { return XCTFail("\(vm.phase)") }
        XCTAssertTrue(message.contains("KeyUnavailable"), message)
        let db = dir.appendingPathComponent("store/gridpatrol.db")
        XCTAssertFalse(FileManager.default.fileExists(atPath: db.path))
        XCTAssertNil(try openEnrolledStore(folder: dir.appendingPathComponent("nothing").path, keys: keys, storeKeys: FakeKeyProvider()),
                     "no store yet: the app shows enrolment")

        // Once it answers: enrolled, and the file is not clear-text SQLite.
        storeKeys.locked = false
        vm.code = try await offMain { [hq] in try hq.code() }
        let enrolled = await vm.enrol()
        let store = try XCTUnwrap(enrolled, "\(vm.phase)")
        let header = try Data(contentsOf: db).prefix(16)
        XCTAssertNotEqual(header, Data("SQLite format 3\u{0}".utf8))
        XCTAssertEqual(try storeKeys.storeKey(), try storeKeys.storeKey(), "the same key at every call")
        // A later launch opens it with the same key.
        let reopened = try XCTUnwrap(try openEnrolledStore(folder: storeFolder, keys: keys, storeKeys: storeKeys))
        XCTAssertEqual(reopened.device(), store.device())
        // Another key (the Keychain item lost or replaced) or none: typed, never opened.
        XCTAssertThrowsError(try openEnrolledStore(folder: storeFolder, keys: keys, storeKeys: FakeKeyProvider())) {
            XCTAssertEqual($0 as? GridPatrolError, .StoreKeyWrong)
        }
        let locked = FakeKeyProvider()
        locked.locked = true
        XCTAssertThrowsError(try openEnrolledStore(folder: storeFolder, keys: keys, storeKeys: locked)) {
            guard case .KeyUnavailable(let reason)? = $0 as? GridPatrolError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("keychain locked"), reason)
        }
        XCTAssertThrowsError(try openEnrolledStore(folder: storeFolder, keys: keys, storeKeys: FakeKeyProvider(Data(count: 16)))) {
            guard case .InvalidInput(let field, _)? = $0 as? GridPatrolError else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "key")
        }
    }

    @MainActor
    func testSettingsSwitchesTheLanguageOfEveryScreen() async throws {
        let app = app(try await enrolledStore(), network: .none)
        let settings = app.settings()
        XCTAssertEqual(settings.language, .both)
        XCTAssertEqual(settings.device.workerId, "w-001")
        let home = app.home()
        home.start()
        defer { home.stop() }
        settings.setLanguage(.zh)
        XCTAssertEqual(settings.language, .zh)
        await eventually("home relabelled in Chinese") { home.screen?.workerRole == "专职网格员" }
        settings.setLanguage(.en)
        await eventually("home relabelled in English") { home.screen?.workerRole == "full-time grid worker" }
    }

    @MainActor
    func testSyncRunnerStopsAtItsBudgetAndReportsTypedFailures() async throws {
        let store = try await enrolledStore()
        for i in 0..<5 {
            _ = try await store.recordVisit(input: VisitInput(householdId: "h-000\(i % 3 + 1)", visitType: .routine, outcome: .met))
        }
        let runner = SyncRunner(store: store)
        let out = await runner.run(SyncRequest(budget: 0, photos: .include))
        XCTAssertEqual(out, .outOfTime)
        let full = await runner.run(SyncRequest(budget: 60, photos: .include))
        guard case let .finished(report) = full else { return XCTFail("\(full)") }
        XCTAssertEqual(report.unsentAfter, 0)
        let atHq = try await offMain { [hq] in try hq.ids("visits") }
        XCTAssertEqual(Set(atHq).count, atHq.count, "no visit twice, even after a run cut off at its budget")

        // HQ gone: the core's typed error; the coordinator counts it and backs off.
        let gone = try await offMain { try Hq() }
        let code = try await offMain { try gone.code() }
        let lonely = try await GridPatrolStore.enrol(
            folder: dir.appendingPathComponent("second").path, hqUrl: gone.url, code: code,
            settings: DeviceSettings(syncTimeoutMs: 2000, syncMaxAttempts: 1), keys: FakeKeyProvider())
        try await offMain { gone.stop() }
        _ = try await lonely.recordVisit(input: VisitInput(householdId: "h-0001", visitType: .routine, outcome: .met))
        let scheduler = FakeBackgroundScheduler()
        let sync = SyncCoordinator(store: lonely, network: FakeNetworkMonitor(.unmetered), scheduler: scheduler, clock: FakeClock())
        await sync.sendNow()
        await eventually("no sync running") { !sync.running }
        guard case .failed(.HqUnreachable)? = sync.lastOutcome else { return XCTFail("\(String(describing: sync.lastOutcome))") }
        XCTAssertEqual(sync.lastResult, .failed)
        XCTAssertGreaterThanOrEqual(sync.consecutiveFailures, 1)
        let decision = await sync.consider(.networkRestored, window: .foreground)
        let wait = SyncPolicy.backOff(failures: sync.consecutiveFailures)
        XCTAssertEqual(decision, .backOff(retryIn: wait))
        XCTAssertEqual(scheduler.submitted.last, BackgroundRequest(kind: .appRefresh, earliestIn: wait))
    }
}
