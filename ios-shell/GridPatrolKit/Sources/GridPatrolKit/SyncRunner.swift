// The ONE place the shell calls the core's sync: `syncWith(mode:)` with the request's time
// budget (a BGAppRefreshTask window is ~30 s) and its photo policy (records only, photos later).

import Foundation
import GridPatrol

public struct SyncRequest: Equatable, Sendable {
    public var budget: TimeInterval
    public var photos: PhotoPolicy
    public init(budget: TimeInterval, photos: PhotoPolicy) {
        self.budget = budget
        self.photos = photos
    }
}

public enum SyncOutcome: Equatable {
    case finished(SyncReport)
    /// The budget ran out; what was sent is sent, the rest stays queued.
    case outOfTime
    case failed(GridPatrolError)
}

final class ProgressForwarder: SyncProgressListener, @unchecked Sendable {
    let onProgress: @Sendable (SyncProgress) -> Void
    init(_ f: @escaping @Sendable (SyncProgress) -> Void) { onProgress = f }
    func onProgress(progress: SyncProgress) { onProgress(progress) }
}

public final class SyncRunner: @unchecked Sendable {
    public let store: GridPatrolStore
    public init(store: GridPatrolStore) { self.store = store }

    /// Sync within `request.budget` seconds: the core stops cleanly at the budget (as safe as
    /// losing the network) and says what is left; that run is `.outOfTime`.
    public func run(_ request: SyncRequest, progress: (@Sendable (SyncProgress) -> Void)? = nil) async -> SyncOutcome {
        let listener = progress.map { ProgressForwarder($0) }
        let mode = SyncMode(
            send: request.photos == .include ? .recordsAndPhotos : .recordsOnly,
            network: request.photos == .include ? .unmetered : .metered,
            timeBudgetMs: UInt64(max(request.budget, 0) * 1000))
        do {
            let report = try await store.syncWith(mode: mode, cancel: nil, progress: listener)
            return report.stoppedOnBudget ? .outOfTime : .finished(report)
        } catch let e as GridPatrolError {
            return .failed(e)
        } catch {
            return .failed(.Internal(kind: "swift", reason: String(describing: error)))
        }
    }
}
