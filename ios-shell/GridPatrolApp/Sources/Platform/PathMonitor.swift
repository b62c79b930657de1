// NetworkMonitor on NWPathMonitor: none / metered (expensive or constrained) / unmetered.

import GridPatrolKit
import Network

final class PathMonitor: NetworkMonitor, @unchecked Sendable {
    private let monitor = NWPathMonitor()
    private(set) var current: Connectivity = .none

    static func kind(_ path: NWPath) -> Connectivity {
        guard path.status == .satisfied else { return .none }
        return path.isExpensive || path.isConstrained ? .metered : .unmetered
    }

    func start(_ onChange: @escaping @Sendable (Connectivity) -> Void) {
        monitor.pathUpdateHandler = { [weak self] path in
            let kind = PathMonitor.kind(path)
            self?.current = kind
            onChange(kind)
        }
        monitor.start(queue: DispatchQueue(label: "org.gridpatrol.path"))
        current = PathMonitor.kind(monitor.currentPath)
    }

    func stop() { monitor.cancel() }
}
