import GridPatrol
import GridPatrolKit
import SwiftUI

/// The language of every screen (the core labels them in it) and this device.
struct SettingsView: View {
    @StateObject var model: SettingsViewModel

    var body: some View {
        Form {
            Picker("语言 Language", selection: Binding(get: { model.language }, set: { model.setLanguage($0) })) {
                Text("中文").tag(Lang.zh)
                Text("English").tag(Lang.en)
                Text("中文 (English)").tag(Lang.both)
            }
            Section {
                Text(model.device.workerId)
                Text(model.device.deviceId)
            }
        }
        .navigationTitle("设置")
    }
}
