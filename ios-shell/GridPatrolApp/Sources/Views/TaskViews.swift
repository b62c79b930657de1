import GridPatrol
import GridPatrolKit
import SwiftUI

struct TaskInboxView: View {
    @StateObject var model: TaskInboxViewModel

    var body: some View {
        List {
            if let inbox = model.screen {
                Section("\(inbox.open) · \(inbox.overdue)") {
                    ForEach(inbox.tasks, id: \.id) { t in
                        Button { model.open(t.id) } label: {
                            VStack(alignment: .leading) {
                                Text(t.title).foregroundStyle(t.overdue ? .red : .primary)
                                Text(t.sourceLabel + " · " + t.statusLabel).font(.footnote)
                            }
                        }
                    }
                }
                Section("民情清单") {
                    ForEach(inbox.listItems, id: \.id) { t in Button(t.title) { model.open(t.id) } }
                }
            }
            ErrorLine(text: model.error)
        }
        .navigationTitle("任务")
        .watching(model)
    }
}

/// A task: the steps its status allows; a step that needs a location takes a fix, one that needs
/// a result takes the text below (the core says which).
struct TaskView: View {
    @StateObject var model: TaskViewModel

    var body: some View {
        Form {
            if let t = model.screen {
                Section(t.sourceLabel + " · " + t.statusLabel) {
                    Text(t.title)
                    Text(t.description)
                    Text(t.unit)
                    if let caller = t.caller { Text(caller) }
                }
                if t.steps.contains(where: { $0.needsResult }) {
                    TextField("结果", text: Binding(get: { model.draft.result ?? "" }, set: { model.draft.result = $0 }))
                }
                Section("经过") {
                    ForEach(Array(t.events.enumerated()), id: \.offset) { _, e in Text(e.actionLabel + " → " + e.toLabel) }
                }
                Section { ActionButtons(model: model, actions: t.actions) }
            }
            ErrorLine(text: model.error)
        }
        .watching(model)
    }
}
