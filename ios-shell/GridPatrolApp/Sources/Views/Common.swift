// Shared pieces: the action buttons of a screen (labels and confirmation questions come from the
// core), the error line, and the route → screen mapping.

import GridPatrol
import GridPatrolKit
import SwiftUI

/// The buttons of `actions`, each performed through the view model; a `confirm` question from
/// the core is asked in a dialog first.
struct ActionButtons<S>: View {
    @ObservedObject var model: ScreenViewModel<S>
    let actions: [ActionOption]

    var body: some View {
        ForEach(Array(actions.enumerated()), id: \.offset) { _, option in
            Button(option.label) { _Concurrency.Task { await model.perform(option) } }
                .disabled(model.busy)
        }
        .confirmationDialog(model.pendingConfirmation?.confirm ?? "", isPresented: Binding(
            get: { model.pendingConfirmation != nil }, set: { if !$0 { _Concurrency.Task { await model.confirm(false) } } }
        ), titleVisibility: .visible) {
            Button("确定", role: .destructive) { _Concurrency.Task { await model.confirm(true) } }
            Button("取消", role: .cancel) { _Concurrency.Task { await model.confirm(false) } }
        }
    }
}

struct ErrorLine: View {
    let text: String?
    var body: some View {
        if let text { Text(text).foregroundStyle(.red).font(.footnote) }
    }
}

/// The screen of each route, built from the AppModel.
struct RouteView: View {
    let app: AppModel
    let route: Route

    var body: some View {
        switch route {
        case let .grid(id): GridView(model: app.grid(id))
        case let .patrol(id): PatrolView(model: app.patrol(id))
        case let .visitForm(id): VisitFormView(model: app.visitForm(id))
        case let .reportForm(gridId, patrolId): ReportFormView(model: app.reportForm(gridId: gridId, patrolId: patrolId))
        case .caseInbox: CaseInboxView(model: app.caseInbox())
        case let .caseDetail(id): CaseView(model: app.caseDetail(id))
        case .taskInbox: TaskInboxView(model: app.taskInbox())
        case let .taskDetail(id): TaskView(model: app.task(id))
        case .syncStatus: SyncStatusView(model: app.syncStatus())
        case .settings: SettingsView(model: app.settings())
        }
    }
}

/// Starts a screen view model's stream while the view is on screen.
struct Watching: ViewModifier {
    let start: () -> Void
    let stop: () -> Void
    func body(content: Content) -> some View {
        content.onAppear(perform: start).onDisappear(perform: stop)
    }
}

extension View {
    func watching<S>(_ model: ScreenViewModel<S>) -> some View {
        modifier(Watching(start: { model.start() }, stop: { model.stop() }))
    }
}
