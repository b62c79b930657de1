import GridPatrolKit
import SwiftUI

/// Enrolment until a store exists, then home with the navigation stack.
struct RootView: View {
    @ObservedObject var root: RootModel
    @StateObject private var permissions = SystemPermissions()

    var body: some View {
        Group {
            if let app = root.app {
                AppView(app: app, navigation: app.navigation)
            } else {
                EnrolmentView(model: root.enrolment, openError: root.openError)
            }
        }
        .sheet(isPresented: .constant(permissions.flow.step != .done)) { PermissionsView(permissions: permissions) }
        .task { await permissions.refresh() }
    }
}

struct AppView: View {
    let app: AppModel
    @ObservedObject var navigation: Navigation

    var body: some View {
        NavigationStack(path: $navigation.path) {
            HomeView(model: app.home())
                .navigationDestination(for: Route.self) { RouteView(app: app, route: $0) }
        }
    }
}
