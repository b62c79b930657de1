// One view model per screen. Each publishes the core's screen model as it is (`screen`) and
// forwards the worker's actions to the core; nothing here decides what is allowed, overdue,
// weak or missing — the screen models say so.

import Foundation
import GridPatrol

/// Home / today: my grids and their patrols, tasks due, must-visit households, open cases,
/// unsent work, last sync; start/check in/finish patrol, file a report, send now.
@MainActor
public final class HomeViewModel: ScreenViewModel<TodayView> {
    override public func read() throws -> TodayView { try store.today() }
    override public func updates() -> AsyncThrowingStream<TodayView, Error>? { store.todayUpdates() }

    public func openGrid(_ gridId: String) { router.navigation.push(.grid(gridId: gridId)) }
    public func openTask(_ taskId: String) { router.navigation.push(.taskDetail(taskId: taskId)) }
    public func openCase(_ caseId: String) { router.navigation.push(.caseDetail(caseId: caseId)) }
    public func openSyncStatus() { router.navigation.push(.syncStatus) }
}

/// Grid and households: search by name/address/tag; record a visit per household, file a report.
@MainActor
public final class GridViewModel: ScreenViewModel<GridScreen> {
    public let gridId: String
    public private(set) var query: HouseholdQuery { didSet { changed() } }

    public init(router: ActionRouter, gridId: String, query: HouseholdQuery = HouseholdQuery()) {
        self.gridId = gridId
        self.query = query
        super.init(router: router)
    }

    override public func read() throws -> GridScreen { try store.gridScreen(gridId: gridId, query: query) }
    override public func updates() -> AsyncThrowingStream<GridScreen, Error>? { store.gridUpdates(gridId: gridId, query: query) }

    /// The search box changed: the core filters (a new watch with the new query).
    public func search(_ text: String) {
        query.text = text.isEmpty ? nil : text
        let watching = !watches.isEmpty
        stop()
        if watching { start() } else { load() }
    }
}

/// A patrol: checkpoints with their flags, the checklist as the check-in form, the three parts.
@MainActor
public final class PatrolViewModel: ScreenViewModel<PatrolScreen> {
    public let patrolId: String
    let location: LocationSource
    /// The worker's answers so far (item id → answer); starts from the core's `answered`.
    public private(set) var answers: [String: Answer] = [:] { didSet { changed() } }
    /// The last check-in as the core recorded it (its `trusted` flag is the core's verdict).
    public private(set) var lastCheckpoint: Checkpoint? { didSet { changed() } }

    public init(router: ActionRouter, patrolId: String, location: LocationSource) {
        self.patrolId = patrolId
        self.location = location
        super.init(router: router)
    }

    override public func read() throws -> PatrolScreen {
        let s = try store.patrolScreen(patrolId: patrolId)
        for item in s.checklist {
            if answers[item.itemId] == nil, let a = item.answered { answers[item.itemId] = a }
        }
        return s
    }

    override public func updates() -> AsyncThrowingStream<PatrolScreen, Error>? { store.patrolUpdates(patrolId: patrolId) }

    public func answer(_ itemId: String, _ value: Answer) { answers[itemId] = value }

    /// The check-in button: a fix from the OS with its accuracy and simulated flag, and the
    /// checklist answers. The core records and flags a weak or simulated fix.
    @discardableResult
    public func checkIn(placeName: String? = nil) async -> Checkpoint? {
        busy = true
        defer { busy = false }
        do {
            let fix = try await location.currentFix()
            let list = (screen?.checklist ?? []).compactMap { item in
                answers[item.itemId].map { ChecklistAnswer(itemId: item.itemId, answer: $0) }
            }
            let cp = try await store.checkIn(patrolId: patrolId, input: CheckInInput(
                location: fix.point, accuracyM: fix.accuracyM, placeName: placeName, answers: list,
                datum: fix.datum, mockLocation: fix.simulated))
            lastCheckpoint = cp
            error = nil
            return cp
        } catch {
            self.error = describe(error)
            return nil
        }
    }

    override public func run(_ option: ActionOption, confirmed: Bool) async -> ActionResult {
        if case .checkIn = option.action {
            return await checkIn() == nil ? .failed(error ?? "") : .done
        }
        if case .fileReport = option.action {
            let route = Route.reportForm(gridId: screen?.gridId, patrolId: patrolId)
            router.navigation.push(route)
            return .navigated(route)
        }
        return await super.run(option, confirmed: confirmed)
    }
}

/// The case inbox: overdue first, then by deadline; open and overdue counts.
@MainActor
public final class CaseInboxViewModel: ScreenViewModel<CaseInbox> {
    public private(set) var filter: CaseFilter

    public init(router: ActionRouter, filter: CaseFilter = CaseFilter()) {
        self.filter = filter
        super.init(router: router)
    }

    override public func read() throws -> CaseInbox { try store.caseInbox(filter: filter) }
    override public func updates() -> AsyncThrowingStream<CaseInbox, Error>? { store.caseInboxUpdates(filter: filter) }

    public func setFilter(_ f: CaseFilter) {
        filter = f
        let watching = !watches.isEmpty
        stop()
        if watching { start() } else { load() }
    }

    public func open(_ caseId: String) { router.navigation.push(.caseDetail(caseId: caseId)) }
}

/// A case: timeline, the six clear items, photos, the steps my role may take now.
@MainActor
public final class CaseViewModel: ScreenViewModel<CaseTimeline> {
    public let caseId: String
    /// What the next step carries (the clear items, a note, photos), typed by the worker.
    public var draft = ActionContext() { didSet { changed() } }
    /// The JPEG thumbnails of the case's photos by SHA-256, as the encrypted store returns them
    /// (there is no file to show; the app makes a `UIImage(data:)`). Filled by `loadThumbnails()`.
    public private(set) var thumbnails: [String: Data] = [:] { didSet { changed() } }

    /// Read the thumbnails of `screen.photos` not read yet, off the main actor (the store reads
    /// its disk). A failure goes to `error`, as any core call's.
    public func loadThumbnails() async {
        let store = self.store
        for photo in screen?.photos ?? [] where thumbnails[photo.sha256] == nil {
            let sha = photo.sha256
            do {
                thumbnails[sha] = try await _Concurrency.Task.detached { try store.attachmentThumbnail(sha256: sha) }.value
            } catch {
                self.error = describe(error)
            }
        }
    }

    public init(router: ActionRouter, caseId: String) {
        self.caseId = caseId
        super.init(router: router)
    }

    override public func read() throws -> CaseTimeline { try store.caseTimeline(caseId: caseId) }
    override public func updates() -> AsyncThrowingStream<CaseTimeline, Error>? { store.caseUpdates(caseId: caseId) }

    override public func run(_ option: ActionOption, confirmed: Bool) async -> ActionResult {
        busy = true
        defer { busy = false }
        let result = await router.perform(option, confirmed: confirmed, context: draft)
        if case .done = result { draft = ActionContext() }
        return result
    }
}

/// The task inbox: my tasks by deadline, 民情清单 items apart.
@MainActor
public final class TaskInboxViewModel: ScreenViewModel<TaskInbox> {
    public let includeClosed: Bool

    public init(router: ActionRouter, includeClosed: Bool = false) {
        self.includeClosed = includeClosed
        super.init(router: router)
    }

    override public func read() throws -> TaskInbox { try store.taskInbox(includeClosed: includeClosed) }
    override public func updates() -> AsyncThrowingStream<TaskInbox, Error>? { store.taskInboxUpdates(includeClosed: includeClosed) }

    public func open(_ taskId: String) { router.navigation.push(.taskDetail(taskId: taskId)) }
}

/// A task: unit, place, masked caller, history, the steps its status allows.
@MainActor
public final class TaskViewModel: ScreenViewModel<TaskDetail> {
    public let taskId: String
    let location: LocationSource
    /// The result text and photos the next step carries.
    public var draft = ActionContext() { didSet { changed() } }

    public init(router: ActionRouter, taskId: String, location: LocationSource) {
        self.taskId = taskId
        self.location = location
        super.init(router: router)
    }

    override public func read() throws -> TaskDetail { try store.taskDetail(taskId: taskId) }
    override public func updates() -> AsyncThrowingStream<TaskDetail, Error>? { store.taskUpdates(taskId: taskId) }

    /// The core's description of a step (needs a result, a location, takes photos).
    public func step(for option: ActionOption) -> TaskStepOption? {
        guard case let .taskStep(_, action) = option.action else { return nil }
        return screen?.steps.first { $0.action == action }
    }

    override public func run(_ option: ActionOption, confirmed: Bool) async -> ActionResult {
        busy = true
        defer { busy = false }
        var context = draft
        if step(for: option)?.needsLocation == true {
            do {
                context.fix = try await location.currentFix()
            } catch {
                return .failed(describe(error))
            }
        }
        let result = await router.perform(option, confirmed: confirmed, context: context)
        if case .done = result { draft = ActionContext() }
        return result
    }
}

/// Sync status: unsent counts, waiting and refused records with HQ's reason and advice, photos
/// queued; retry / discard (asks first) each refused record, send now.
@MainActor
public final class SyncStatusViewModel: ScreenViewModel<SyncStatusScreen> {
    override public func read() throws -> SyncStatusScreen { try store.syncStatus() }
    override public func updates() -> AsyncThrowingStream<SyncStatusScreen, Error>? { store.syncStatusUpdates() }

    /// The policy's last decision, for the "why not sent yet" line.
    public var lastDecision: SyncDecision? { router.sync?.decisions.last }
}
