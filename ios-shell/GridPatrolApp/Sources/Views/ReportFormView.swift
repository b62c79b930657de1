import GridPatrol
import GridPatrolKit
import SwiftUI
import UIKit

/// The report form with the camera. Categories, limits and validation are the core's.
struct ReportFormView: View {
    @StateObject var model: ReportFormViewModel
    @State private var camera = false

    var body: some View {
        Form {
            if let f = model.form {
                Picker("网格", selection: $model.input.gridId) {
                    ForEach(f.grids, id: \.id) { Text($0.name).tag($0.id) }
                }
                Picker("类别", selection: $model.input.category) {
                    ForEach(f.categories, id: \.label) { Text($0.label).tag($0.value) }
                }
                TextField("描述", text: $model.input.description, axis: .vertical)
                Section("照片 \(model.input.photos.count)/\(f.maxPhotos)") {
                    Button("拍照") { camera = true }
                }
                if let fix = model.fix, let acc = fix.accuracyM { Text("±\(Int(acc)) m").font(.footnote) }
                ForEach(model.errors, id: \.field) { Text($0.message).foregroundStyle(.red).font(.footnote) }
                Button("上报") { _Concurrency.Task { await model.submit() } }
            }
            ErrorLine(text: model.error)
        }
        .onAppear { model.load(); _Concurrency.Task { await model.locate() } }
        .sheet(isPresented: $camera) { CameraPicker { path in model.addPhoto(path: path) } }
    }
}

/// UIImagePickerController as the camera; the JPEG is written to a temporary file the core copies in.
struct CameraPicker: UIViewControllerRepresentable {
    let onPhoto: (String) -> Void

    func makeCoordinator() -> Coordinator { Coordinator(onPhoto) }

    func makeUIViewController(context: Context) -> UIImagePickerController {
        let picker = UIImagePickerController()
        picker.sourceType = UIImagePickerController.isSourceTypeAvailable(.camera) ? .camera : .photoLibrary
        picker.delegate = context.coordinator
        return picker
    }

    func updateUIViewController(_: UIImagePickerController, context _: Context) {}

    final class Coordinator: NSObject, UIImagePickerControllerDelegate, UINavigationControllerDelegate {
        let onPhoto: (String) -> Void
        init(_ f: @escaping (String) -> Void) { onPhoto = f }

        func imagePickerController(_ picker: UIImagePickerController, didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]) {
            if let image = info[.originalImage] as? UIImage, let data = image.jpegData(compressionQuality: 0.8) {
                let url = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString + ".jpg")
                if (try? data.write(to: url)) != nil { onPhoto(url.path) }
            }
            picker.dismiss(animated: true)
        }
    }
}
