import GridPatrol
import GridPatrolKit
import SwiftUI

struct GridView: View {
    @StateObject var model: GridViewModel
    @State private var text = ""

    var body: some View {
        List {
            if let s = model.screen {
                Section(s.grid.name) {
                    ForEach(s.buildings, id: \.name) { b in Text("\(b.name) · \(b.households)") }
                }
                Section("住户 \(s.householdsMatching)") {
                    ForEach(s.households, id: \.id) { h in
                        VStack(alignment: .leading) {
                            Text(h.label + " " + h.name).foregroundStyle(h.due ? .orange : .primary)
                            if let phone = h.phone { Text(phone).font(.footnote) }
                            Text(h.careTags.joined(separator: " · ")).font(.footnote)
                            HStack { ActionButtons(model: model, actions: h.actions) }
                        }
                    }
                }
                Section("最近巡查") {
                    ForEach(s.recentPatrols, id: \.patrolId) { p in Text(p.shiftLabel + " · " + (p.outcomeLabel ?? "")) }
                }
                Section { ActionButtons(model: model, actions: s.actions) }
            }
            ErrorLine(text: model.error)
        }
        .searchable(text: $text)
        .onSubmit(of: .search) { model.search(text) }
        .navigationTitle(model.screen?.grid.name ?? "")
        .watching(model)
    }
}
