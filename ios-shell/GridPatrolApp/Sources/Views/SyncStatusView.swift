import GridPatrol
import GridPatrolKit
import SwiftUI

/// Unsent work, records HQ refused (with its reason and advice, retry / discard), photos queued.
struct SyncStatusView: View {
    @StateObject var model: SyncStatusViewModel

    var body: some View {
        List {
            if let s = model.screen {
                Section {
                    Text(s.unsent.message)
                    Text(s.lastSync.message).font(.footnote)
                    Text("\(s.photosQueued) · \(ByteCountFormatter.string(fromByteCount: Int64(s.photoBytesQueued), countStyle: .file))")
                }
                Section("被退回") {
                    ForEach(s.rejected, id: \.seq) { r in
                        VStack(alignment: .leading) {
                            Text(r.label)
                            Text(r.reason).foregroundStyle(.red).font(.footnote)
                            Text(r.advice).font(.footnote)
                            HStack { ActionButtons(model: model, actions: r.actions) }
                        }
                    }
                }
                Section("待发送") {
                    ForEach(s.waiting, id: \.entityId) { w in Text(w.label + " · " + w.stateLabel) }
                }
                Section { ActionButtons(model: model, actions: s.actions) }
            }
            ErrorLine(text: model.error)
        }
        .navigationTitle("同步")
        .watching(model)
    }
}
