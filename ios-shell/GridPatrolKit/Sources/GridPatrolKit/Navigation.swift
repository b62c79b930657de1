// Navigation state: a stack of routes over the home screen, and the enrolment gate.

import Foundation

public enum Route: Hashable, Sendable {
    case grid(gridId: String)
    case patrol(patrolId: String)
    case visitForm(householdId: String)
    case reportForm(gridId: String?, patrolId: String?)
    case caseInbox
    case caseDetail(caseId: String)
    case taskInbox
    case taskDetail(taskId: String)
    case syncStatus
    case settings
}

@MainActor
public final class Navigation: ViewModel {
    /// The stack above home (SwiftUI: `NavigationStack(path:)`).
    public var path: [Route] = [] { didSet { changed() } }
    /// Whether a store exists: no → the enrolment screen is the whole app.
    public var enrolled: Bool { didSet { changed() } }

    public init(enrolled: Bool) {
        self.enrolled = enrolled
    }

    public var top: Route? { path.last }

    public func push(_ route: Route) { path.append(route) }

    public func pop() {
        if !path.isEmpty { path.removeLast() }
    }

    /// Replace the top route (a finished form goes to what it created).
    public func replaceTop(with route: Route) {
        if !path.isEmpty { path.removeLast() }
        path.append(route)
    }

    public func popToHome() { path = [] }
}
