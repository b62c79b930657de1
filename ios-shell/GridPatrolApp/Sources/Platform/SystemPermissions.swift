// Runs PermissionFlow (GridPatrolKit) against the OS: maps the OS's statuses in, performs its
// effects (the system prompts, the Settings app).

import AVFoundation
import CoreLocation
import GridPatrolKit
import UIKit
import UserNotifications

@MainActor
final class SystemPermissions: NSObject, ObservableObject, CLLocationManagerDelegate {
    @Published private(set) var flow = PermissionFlow()
    private let location = CLLocationManager()

    override init() {
        super.init()
        location.delegate = self
    }

    /// At launch and on return to the app (the worker may have changed Settings).
    func refresh() async {
        let notifications = await UNUserNotificationCenter.current().notificationSettings().authorizationStatus
        flow.handle(.statuses([
            .location: Self.map(location.authorizationStatus, precise: location.accuracyAuthorization == .fullAccuracy),
            .camera: Self.map(AVCaptureDevice.authorizationStatus(for: .video)),
            .notifications: Self.map(notifications),
        ]))
    }

    func send(_ event: PermissionEvent) {
        guard let effect = flow.handle(event) else { return }
        switch effect {
        case .openSettingsApp:
            if let url = URL(string: UIApplication.openSettingsURLString) { UIApplication.shared.open(url) }
        case .requestSystemPrompt(.location):
            location.requestWhenInUseAuthorization()
        case .requestSystemPrompt(.camera):
            AVCaptureDevice.requestAccess(for: .video) { ok in
                Task { @MainActor in self.flow.handle(.answered(.camera, ok ? .granted : .denied)) }
            }
        case .requestSystemPrompt(.notifications):
            UNUserNotificationCenter.current().requestAuthorization(options: [.alert, .sound, .badge]) { ok, _ in
                Task { @MainActor in self.flow.handle(.answered(.notifications, ok ? .granted : .denied)) }
            }
        }
    }

    nonisolated func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        let status = Self.map(manager.authorizationStatus, precise: manager.accuracyAuthorization == .fullAccuracy)
        Task { @MainActor in
            if status != .notDetermined { self.flow.handle(.answered(.location, status)) }
        }
    }

    nonisolated static func map(_ s: CLAuthorizationStatus, precise: Bool) -> PermissionStatus {
        switch s {
        case .notDetermined: return .notDetermined
        case .restricted: return .restricted
        case .denied: return .denied
        default: return precise ? .granted : .limited
        }
    }

    static func map(_ s: AVAuthorizationStatus) -> PermissionStatus {
        switch s {
        case .notDetermined: return .notDetermined
        case .restricted: return .restricted
        case .denied: return .denied
        default: return .granted
        }
    }

    static func map(_ s: UNAuthorizationStatus) -> PermissionStatus {
        switch s {
        case .notDetermined: return .notDetermined
        case .denied: return .denied
        default: return .granted
        }
    }
}
