import GridPatrol
import GridPatrolKit
import SwiftUI

struct CaseInboxView: View {
    @StateObject var model: CaseInboxViewModel

    var body: some View {
        List {
            if let inbox = model.screen {
                Text("\(inbox.open) · \(inbox.overdue)").font(.footnote)
                ForEach(inbox.rows, id: \.caseId) { row in
                    Button { model.open(row.caseId) } label: {
                        VStack(alignment: .leading) {
                            Text(row.summary).foregroundStyle(row.overdue ? .red : .primary)
                            Text(row.categoryLabel + " · " + row.stateLabel + " · " + row.gridName).font(.footnote)
                        }
                    }
                }
            }
            ErrorLine(text: model.error)
        }
        .navigationTitle("案件")
        .watching(model)
    }
}

/// A case: timeline, the six clear items (问题六清), and the steps the core allows.
struct CaseView: View {
    @StateObject var model: CaseViewModel
    @State private var facts = ""
    @State private var unit = ""
    @State private var outcome = ""
    @State private var feedback = ""

    var body: some View {
        Form {
            if let c = model.screen {
                Section(c.categoryLabel + " · " + c.stateLabel) {
                    Text(c.description)
                    // The report's photos from the bytes the encrypted store returns (no files).
                    if !c.photos.isEmpty {
                        ScrollView(.horizontal) {
                            HStack {
                                ForEach(c.photos, id: \.sha256) { photo in
                                    if let data = model.thumbnails[photo.sha256], let image = UIImage(data: data) {
                                        Image(uiImage: image).resizable().scaledToFill().frame(width: 96, height: 96).clipped()
                                    }
                                }
                            }
                        }
                        .task(id: c.photos.map(\.sha256)) { await model.loadThumbnails() }
                    }
                }
                Section("六清") {
                    ForEach(c.clear, id: \.label) { Label($0.label, systemImage: $0.done ? "checkmark.circle" : "circle") }
                    TextField("事实", text: $facts)
                    TextField("责任单位", text: $unit)
                    TextField("结果", text: $outcome)
                    TextField("反馈", text: $feedback)
                }
                Section("经过") {
                    ForEach(c.events, id: \.n) { e in Text(e.toLabel + " · " + (e.note ?? "")) }
                }
                Section {
                    ActionButtons(model: model, actions: c.actions)
                }
            }
            ErrorLine(text: model.error)
        }
        .onChange(of: [facts, unit, outcome, feedback]) { _ in
            model.draft.clear = ClearItems(facts: facts.isEmpty ? nil : facts, responsibleUnit: unit.isEmpty ? nil : unit,
                                           outcome: outcome.isEmpty ? nil : outcome, feedback: feedback.isEmpty ? nil : feedback)
        }
        .watching(model)
    }
}
