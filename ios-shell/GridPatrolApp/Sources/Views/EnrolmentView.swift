import GridPatrolKit
import SwiftUI

/// Enrolment by the one-time code: typed, or scanned (a QR scanner sheet hands its text to
/// `model.scanned`; VisionKit's DataScannerViewController on iOS 16+).
struct EnrolmentView: View {
    @ObservedObject var model: EnrolmentViewModel
    /// Why the enrolled store did not open at launch (the Keychain locked, the key lost).
    var openError: String? = nil
    @State private var scanning = false

    var body: some View {
        Form {
            TextField("服务器", text: $model.hqUrl).textInputAutocapitalization(.never).keyboardType(.URL)
            TextField("激活码", text: $model.code).textInputAutocapitalization(.characters)
            Button("扫码") { scanning = true }
            Button("激活") { _Concurrency.Task { await model.enrol(deviceId: UIDevice.current.identifierForVendor?.uuidString) } }
                .disabled(model.phase == .enrolling)
            if case let .failed(message) = model.phase { ErrorLine(text: message) } else { ErrorLine(text: openError) }
        }
        .sheet(isPresented: $scanning) { QrScanner { text in model.scanned(text); scanning = false } }
    }
}
