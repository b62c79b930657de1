// Screen watches as Swift AsyncThrowingStreams (shipped beside the generated bindings; see
// bindings/README.md). Iterating one yields the screen now and again each time the core's change
// events make it differ; ending the iteration (or cancelling its Task) stops watching.

/// The stream of a watch object's `next()`.
public func screenStream<W, T>(_ watch: W, _ next: @escaping (W) async throws -> T) -> AsyncThrowingStream<T, Error> {
    AsyncThrowingStream(unfolding: { try await next(watch) })
}

extension GridPatrolStore {
    public func todayUpdates() -> AsyncThrowingStream<TodayView, Error> {
        screenStream(watchToday()) { try await $0.next() }
    }
    public func gridUpdates(gridId: String, query: HouseholdQuery = HouseholdQuery()) -> AsyncThrowingStream<GridScreen, Error> {
        screenStream(watchGrid(gridId: gridId, query: query)) { try await $0.next() }
    }
    public func patrolUpdates(patrolId: String) -> AsyncThrowingStream<PatrolScreen, Error> {
        screenStream(watchPatrol(patrolId: patrolId)) { try await $0.next() }
    }
    public func caseInboxUpdates(filter: CaseFilter = CaseFilter()) -> AsyncThrowingStream<CaseInbox, Error> {
        screenStream(watchCaseInbox(filter: filter)) { try await $0.next() }
    }
    public func caseUpdates(caseId: String) -> AsyncThrowingStream<CaseTimeline, Error> {
        screenStream(watchCase(caseId: caseId)) { try await $0.next() }
    }
    public func taskInboxUpdates(includeClosed: Bool = false) -> AsyncThrowingStream<TaskInbox, Error> {
        screenStream(watchTaskInbox(includeClosed: includeClosed)) { try await $0.next() }
    }
    public func taskUpdates(taskId: String) -> AsyncThrowingStream<TaskDetail, Error> {
        screenStream(watchTask(taskId: taskId)) { try await $0.next() }
    }
    public func syncStatusUpdates() -> AsyncThrowingStream<SyncStatusScreen, Error> {
        screenStream(watchSyncStatus()) { try await $0.next() }
    }
}
