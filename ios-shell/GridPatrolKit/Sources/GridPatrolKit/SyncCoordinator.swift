// Glue between the OS's signals, the core's connectivity hint, the sync policy and the runner.
// Holds only the bookkeeping the policy needs (last result, failures in a row, last attempt);
// pending counts come from the core (`syncStatus()`).

import Foundation
import GridPatrol

/// Receives the core's `SyncScheduler.syncWanted` (on a core thread) and hands it to the
/// coordinator on the main actor.
final class CoreSchedulerBridge: SyncScheduler, @unchecked Sendable {
    weak var coordinator: SyncCoordinator?
    func syncWanted(reason: SyncReason) {
        _Concurrency.Task { @MainActor [weak self] in
            self?.coordinator?.syncWanted(reason)
        }
    }
}

@MainActor
public final class SyncCoordinator {
    public let store: GridPatrolStore
    public let runner: SyncRunner
    let network: NetworkMonitor
    let scheduler: BackgroundScheduler
    let clock: Clock
    /// Whether the app is on screen (the app sets it from the scene phase).
    public var inForeground: Bool
    /// ProcessInfo.isLowPowerModeEnabled (the app sets it).
    public var lowPower = false

    public private(set) var lastResult: LastSyncResult = .never
    public private(set) var consecutiveFailures = 0
    public private(set) var lastAttemptAt: Date?
    /// Every decision taken, newest last (the sync status screen's "why" and the tests).
    public private(set) var decisions: [SyncDecision] = []
    public private(set) var lastOutcome: SyncOutcome?
    /// Whether a sync run is in progress.
    public private(set) var running = false
    /// Called after each run (the view models refresh from the core's streams anyway).
    public var onRunFinished: ((SyncOutcome) -> Void)?

    private let bridge = CoreSchedulerBridge()

    public init(store: GridPatrolStore, network: NetworkMonitor, scheduler: BackgroundScheduler, clock: Clock,
                inForeground: Bool = true) {
        self.store = store
        self.runner = SyncRunner(store: store)
        self.network = network
        self.scheduler = scheduler
        self.clock = clock
        self.inForeground = inForeground
        bridge.coordinator = self
        store.setSyncScheduler(scheduler: bridge)
        _ = store.networkChanged(online: network.current != .none)
        network.start { [weak self] kind in
            _Concurrency.Task { @MainActor in self?.networkChanged(kind) }
        }
    }

    /// NWPathMonitor's path changed: tell the core (it asks for a sync through `syncWanted`
    /// when the network came back).
    public func networkChanged(_ kind: Connectivity) {
        _ = store.networkChanged(online: kind != .none)
    }

    func syncWanted(_ reason: SyncReason) {
        let trigger: SyncTrigger = reason == .networkRestored ? .networkRestored : .recordedWhileOnline
        _Concurrency.Task { await consider(trigger, window: inForeground ? .foreground : .background) }
    }

    /// The policy's input now.
    public func policyInput(_ trigger: SyncTrigger, window: SyncWindow) -> SyncPolicyInput {
        let unsent = (try? store.syncStatus().unsent)
        return SyncPolicyInput(
            network: network.current, window: window, lowPower: lowPower, lastResult: lastResult,
            consecutiveFailures: consecutiveFailures, lastAttemptAt: lastAttemptAt, now: clock.now(),
            pendingRecords: unsent?.records ?? 0, pendingPhotos: unsent?.photos ?? 0, trigger: trigger)
    }

    /// Decide and act: sync now, ask the OS for a window, or wait.
    @discardableResult
    public func consider(_ trigger: SyncTrigger, window: SyncWindow) async -> SyncDecision {
        let decision = SyncPolicy.decide(policyInput(trigger, window: window))
        decisions.append(decision)
        switch decision {
        case .nothing:
            break
        case .schedule(let request):
            try? scheduler.submit(request)
        case .backOff(let retryIn):
            try? scheduler.submit(BackgroundRequest(kind: .appRefresh, earliestIn: retryIn))
        case .sync(let budget, let photos, let followUp):
            await run(SyncRequest(budget: budget, photos: photos))
            if let followUp { try? scheduler.submit(followUp) }
        }
        return decision
    }

    /// "Send now" (the `SyncNow` action).
    @discardableResult
    public func sendNow() async -> SyncDecision {
        await consider(.sendNow, window: .foreground)
    }

    /// The OS started a BGAppRefreshTask / BGProcessingTask: the app's handler awaits this, then
    /// calls `setTaskCompleted(success:)` with the result.
    @discardableResult
    public func backgroundWindow(_ kind: BackgroundTaskKind) async -> Bool {
        let decision = await consider(.window, window: kind == .appRefresh ? .appRefresh : .processing)
        if case .sync = decision, case .finished? = lastOutcome { return true }
        if case .nothing = decision { return true }
        return false
    }

    private func run(_ request: SyncRequest) async {
        running = true
        lastAttemptAt = clock.now()
        let outcome = await runner.run(request)
        running = false
        lastOutcome = outcome
        switch outcome {
        case .finished:
            lastResult = .succeeded
            consecutiveFailures = 0
        case .outOfTime:
            // Not a failure: progress was made and committed; the next window continues.
            break
        case .failed:
            lastResult = .failed
            consecutiveFailures += 1
        }
        onRunFinished?(outcome)
    }
}
