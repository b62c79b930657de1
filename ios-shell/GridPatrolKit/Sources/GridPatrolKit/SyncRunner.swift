// The ONE place the shell calls the core's sync.
//
// Today the core has `sync(progress:)` only: the budget is kept here by a timer that cancels the
// sync when it runs out, and `photos` cannot be honoured yet (the core uploads queued photos in
// every run). A time-budgeted
// `sync(options: budget, photos policy)` is being added to the core on another branch; when it
// lands, only `SyncRunner.run` changes (ios-shell/README.md).

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

    /// Sync within `request.budget` seconds. At the budget the runner reports `.outOfTime` at once
    /// and cancels the Swift task awaiting the core's `sync`, which stops the sync at its next
    /// network wait (bindings/README.md: as safe as losing the network; every step commits with
    /// its own bookkeeping). The answer never waits for the cancellation to land.
    public func run(_ request: SyncRequest, progress: (@Sendable (SyncProgress) -> Void)? = nil) async -> SyncOutcome {
        let store = self.store
        let listener = progress.map { ProgressForwarder($0) }
        let race = Race<SyncOutcome>()
        return await withCheckedContinuation { continuation in
            race.start(continuation)
            let sync = _Concurrency.Task.detached { () -> SyncOutcome in
                do {
                    return .finished(try await store.sync(progress: listener))
                } catch let e as GridPatrolError {
                    return .failed(e)
                } catch {
                    return .failed(.Internal(kind: "swift", reason: String(describing: error)))
                }
            }
            let timer = _Concurrency.Task.detached {
                try? await _Concurrency.Task.sleep(nanoseconds: UInt64(max(request.budget, 0) * 1_000_000_000))
                if _Concurrency.Task.isCancelled { return }
                race.finish(.outOfTime)
                sync.cancel()
            }
            _Concurrency.Task.detached {
                race.finish(await sync.value)
                timer.cancel()
            }
        }
    }
}

/// The first of two results wins.
final class Race<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Never>?

    func start(_ c: CheckedContinuation<T, Never>) {
        lock.lock()
        continuation = c
        lock.unlock()
    }

    func finish(_ value: T) {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(returning: value)
    }
}
