// BackgroundScheduler on BGTaskScheduler: BGAppRefreshTask (records, ~30 s) and
// BGProcessingTask (photos, network required).

import BackgroundTasks
import GridPatrolKit

final class BackgroundTasksScheduler: BackgroundScheduler {
    static let records = "org.gridpatrol.sync.records"
    static let photos = "org.gridpatrol.sync.photos"

    static func identifier(_ kind: BackgroundTaskKind) -> String { kind == .appRefresh ? records : photos }

    /// Called once from `application(_:didFinishLaunchingWithOptions:)`.
    static func register(_ handler: @escaping (BackgroundTaskKind, BGTask) -> Void) {
        for kind in [BackgroundTaskKind.appRefresh, .processing] {
            BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier(kind), using: nil) { task in
                handler(kind, task)
            }
        }
    }

    func submit(_ request: BackgroundRequest) throws {
        let r: BGTaskRequest
        switch request.kind {
        case .appRefresh:
            r = BGAppRefreshTaskRequest(identifier: Self.records)
        case .processing:
            let p = BGProcessingTaskRequest(identifier: Self.photos)
            p.requiresNetworkConnectivity = request.requiresNetwork
            p.requiresExternalPower = request.requiresExternalPower
            r = p
        }
        r.earliestBeginDate = request.earliestIn > 0 ? Date(timeIntervalSinceNow: request.earliestIn) : nil
        try BGTaskScheduler.shared.submit(r)
    }

    func cancel(_ kind: BackgroundTaskKind) {
        BGTaskScheduler.shared.cancel(taskRequestWithIdentifier: Self.identifier(kind))
    }
}
