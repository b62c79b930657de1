import GridPatrol
import GridPatrolKit
import SwiftUI

struct HomeView: View {
    @StateObject var model: HomeViewModel

    var body: some View {
        List {
            if let today = model.screen {
                Section(today.workerName + " · " + today.workerRole) {
                    Text(today.unsent.message).onTapGesture { model.openSyncStatus() }
                    Text(today.lastSync.message).font(.footnote)
                    if let notice = today.lastSync.notice { Text(notice).foregroundStyle(.orange) }
                }
                Section("网格") {
                    ForEach(today.grids, id: \.id) { g in
                        Button { model.openGrid(g.id) } label: {
                            VStack(alignment: .leading) {
                                Text(g.name + " · " + g.communityName)
                                Text(g.dayPatrolLabel + " / " + g.nightPatrolLabel).font(.footnote)
                            }
                        }
                    }
                }
                if let p = today.patrol {
                    Section(p.gridName + " · " + p.shiftLabel) {
                        ForEach(p.parts, id: \.label) { part in
                            Label(part.label + " — " + part.why, systemImage: part.done ? "checkmark.circle" : "circle")
                        }
                    }
                }
                Section("任务") {
                    ForEach(today.tasks, id: \.id) { t in
                        Button { model.openTask(t.id) } label: {
                            Text(t.title + " · " + t.statusLabel).foregroundStyle(t.overdue ? .red : .primary)
                        }
                    }
                }
                Section("必访") {
                    ForEach(today.mustVisit, id: \.householdId) { h in Text(h.label + " " + h.name) }
                }
                Section("案件") {
                    ForEach(today.openCases, id: \.caseId) { c in
                        Button { model.openCase(c.caseId) } label: {
                            Text(c.summary + " · " + c.stateLabel).foregroundStyle(c.overdue ? .red : .primary)
                        }
                    }
                }
                Section { ActionButtons(model: model, actions: today.actions) }
            }
            ErrorLine(text: model.error)
        }
        .navigationTitle("今日")
        .toolbar {
            NavigationLink(value: Route.taskInbox) { Image(systemName: "tray") }
            NavigationLink(value: Route.caseInbox) { Image(systemName: "folder") }
            NavigationLink(value: Route.settings) { Image(systemName: "gear") }
        }
        .watching(model)
    }
}
