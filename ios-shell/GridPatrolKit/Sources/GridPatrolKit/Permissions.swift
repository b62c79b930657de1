// The permission flow (location, camera, notifications) as a state machine. The app maps
// CLAuthorizationStatus / AVAuthorizationStatus / UNAuthorizationStatus to `PermissionStatus`
// and performs the `PermissionEffect`s; the order and the explanations are decided here, once.

import Foundation

public enum Permission: String, CaseIterable, Sendable {
    /// When in use (check-ins, reports, arriving at a task); "always" is never asked.
    case location
    /// Photos of reports, case closures and task steps.
    case camera
    /// Tasks dispatched by HQ (110 diversion, 12345), deadlines.
    case notifications
}

public enum PermissionStatus: String, Equatable, Sendable {
    case notDetermined
    case granted
    /// Granted with reduced accuracy (iOS "approximate location"): check-ins are flagged weak.
    case limited
    case denied
    /// Parental controls / MDM: the worker cannot change it.
    case restricted
}

public enum PermissionStep: Equatable, Sendable {
    /// Explain why before the system prompt (the prompt can be shown once).
    case explain(Permission)
    /// Waiting for the system prompt's answer.
    case asking(Permission)
    /// Denied: offer the Settings app; the app works on (without photos, or with weak check-ins).
    case openSettings(Permission)
    case done
}

public enum PermissionEvent: Equatable, Sendable {
    /// The statuses as the OS reports them now (launch, return from Settings).
    case statuses([Permission: PermissionStatus])
    /// The worker tapped "continue" on the explanation.
    case continueTapped
    /// The worker tapped "not now" on an explanation or the settings offer.
    case skipTapped
    /// The system prompt answered.
    case answered(Permission, PermissionStatus)
}

public enum PermissionEffect: Equatable, Sendable {
    case requestSystemPrompt(Permission)
    case openSettingsApp
}

public struct PermissionFlow: Equatable, Sendable {
    public private(set) var statuses: [Permission: PermissionStatus]
    public private(set) var step: PermissionStep = .done
    /// Asked and skipped during this flow (not asked again until the next launch).
    public private(set) var skipped: Set<Permission> = []

    public init(statuses: [Permission: PermissionStatus] = [:]) {
        self.statuses = statuses
        step = nextStep()
    }

    public func status(_ p: Permission) -> PermissionStatus { statuses[p] ?? .notDetermined }

    /// Whether a feature can be used now.
    public func allows(_ p: Permission) -> Bool {
        let s = status(p)
        return s == .granted || s == .limited
    }

    /// Apply an event; returns what the app must do.
    @discardableResult
    public mutating func handle(_ event: PermissionEvent) -> PermissionEffect? {
        var effect: PermissionEffect?
        switch (event, step) {
        case let (.statuses(s), _):
            statuses.merge(s) { _, new in new }
        case let (.continueTapped, .explain(p)):
            step = .asking(p)
            return .requestSystemPrompt(p)
        case let (.continueTapped, .openSettings(p)):
            skipped.insert(p)
            effect = .openSettingsApp
        case let (.skipTapped, .explain(p)), let (.skipTapped, .openSettings(p)):
            skipped.insert(p)
        case let (.answered(p, s), _):
            statuses[p] = s
            if s == .denied || s == .restricted { skipped.insert(p) }
        default:
            return nil
        }
        step = nextStep()
        return effect
    }

    private func nextStep() -> PermissionStep {
        for p in Permission.allCases where !skipped.contains(p) {
            switch status(p) {
            case .notDetermined: return .explain(p)
            case .denied where p == .location: return .openSettings(p)
            default: continue
            }
        }
        return .done
    }
}
