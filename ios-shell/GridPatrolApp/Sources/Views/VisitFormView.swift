import GridPatrol
import GridPatrolKit
import SwiftUI

/// The visit form: choices, fields and validation are the core's (`visitForm`, `validateVisit`).
struct VisitFormView: View {
    @StateObject var model: VisitFormViewModel

    var body: some View {
        Form {
            if let f = model.form {
                Section(f.household.label + " " + f.household.name) {
                    Picker(f.fields.first { $0.field == "visit_type" }?.label ?? "", selection: $model.input.visitType) {
                        ForEach(f.visitTypes, id: \.label) { Text($0.label).tag($0.value) }
                    }
                    Picker(f.fields.first { $0.field == "outcome" }?.label ?? "", selection: $model.input.outcome) {
                        ForEach(f.outcomes, id: \.label) { Text($0.label).tag($0.value) }
                    }
                    ForEach(model.errors, id: \.field) { Text($0.message).foregroundStyle(.red).font(.footnote) }
                }
                Section {
                    Button("保存") { _Concurrency.Task { await model.submit() } }
                }
            }
            ErrorLine(text: model.error)
        }
        .onAppear { model.load() }
    }
}
