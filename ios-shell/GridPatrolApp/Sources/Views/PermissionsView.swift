import GridPatrolKit
import SwiftUI

/// The explanation before each system prompt, and the Settings offer for a denied location.
/// The order and what to ask are PermissionFlow's.
struct PermissionsView: View {
    @ObservedObject var permissions: SystemPermissions

    var body: some View {
        VStack(spacing: 16) {
            switch permissions.flow.step {
            case let .explain(p), let .asking(p):
                Text(Self.why(p)).multilineTextAlignment(.center)
                Button("继续") { permissions.send(.continueTapped) }.buttonStyle(.borderedProminent)
                Button("以后再说") { permissions.send(.skipTapped) }
            case .openSettings:
                Text("定位已关闭：签到将无法记录位置。请在“设置”中打开。").multilineTextAlignment(.center)
                Button("打开设置") { permissions.send(.continueTapped) }.buttonStyle(.borderedProminent)
                Button("以后再说") { permissions.send(.skipTapped) }
            case .done:
                EmptyView()
            }
        }
        .padding()
    }

    static func why(_ p: Permission) -> LocalizedStringKey {
        switch p {
        case .location: return "签到、上报和到场时需要记录位置。"
        case .camera: return "上报和结案需要拍照取证。"
        case .notifications: return "110、12345 派单到达时提醒您。"
        }
    }
}
