import GridPatrol
import GridPatrolKit
import SwiftUI

/// A patrol: the checklist is the check-in form; checkpoints show the core's flags.
struct PatrolView: View {
    @StateObject var model: PatrolViewModel

    var body: some View {
        Form {
            if let s = model.screen {
                Section(s.gridName + " · " + s.shiftLabel) {
                    ForEach(s.parts, id: \.label) { part in
                        Label(part.label + " — " + part.why, systemImage: part.done ? "checkmark.circle" : "circle")
                    }
                    ForEach(s.flags, id: \.self) { Text($0).foregroundStyle(.orange) }
                }
                if s.inProgress {
                    Section("检查项") {
                        ForEach(s.checklist, id: \.itemId) { item in
                            Picker(item.label, selection: Binding(
                                get: { model.answers[item.itemId] }, set: { if let v = $0 { model.answer(item.itemId, v) } }
                            )) {
                                ForEach(item.choices, id: \.label) { Text($0.label).tag(Optional($0.value)) }
                            }
                            if !item.hint.isEmpty { Text(item.hint).font(.footnote) }
                        }
                    }
                }
                Section("签到点") {
                    ForEach(s.checkpoints, id: \.id) { cp in
                        VStack(alignment: .leading) {
                            Text(cp.at, style: .time)
                            if let flag = cp.flag { Text(flag).foregroundStyle(.orange).font(.footnote) }
                        }
                    }
                }
                Section { ActionButtons(model: model, actions: s.actions) }
            }
            ErrorLine(text: model.error)
        }
        .navigationTitle(model.screen?.shiftLabel ?? "")
        .watching(model)
    }
}
