// The app: builds AppModel once a store exists, registers the two background tasks, follows the
// scene phase. Not compiled on Linux (SwiftUI, BackgroundTasks); see ios-shell/README.md.

import BackgroundTasks
import GridPatrol
import GridPatrolKit
import SwiftUI

@main
struct GridPatrolApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) var delegate
    @Environment(\.scenePhase) private var phase
    @StateObject private var root = RootModel()

    var body: some Scene {
        WindowGroup {
            RootView(root: root)
        }
        .onChange(of: phase) { phase in
            root.app?.sync.inForeground = phase == .active
            root.app?.sync.lowPower = ProcessInfo.processInfo.isLowPowerModeEnabled
            if phase == .active, let sync = root.app?.sync {
                _Concurrency.Task { await sync.consider(.window, window: .foreground) }
            }
        }
    }
}

/// Registers the BGTaskScheduler handlers before launch finishes (Apple's requirement).
final class AppDelegate: NSObject, UIApplicationDelegate {
    func application(_ application: UIApplication, didFinishLaunchingWithOptions _: [UIApplication.LaunchOptionsKey: Any]? = nil) -> Bool {
        BackgroundTasksScheduler.register { kind, task in
            _Concurrency.Task { @MainActor in
                guard let app = RootModel.shared?.openIfEnrolled() else { task.setTaskCompleted(success: false); return }
                let work = _Concurrency.Task { await app.sync.backgroundWindow(kind) }
                task.expirationHandler = { work.cancel() }
                task.setTaskCompleted(success: await work.value)
            }
        }
        return true
    }
}

/// The enrolment gate and the one AppModel.
@MainActor
final class RootModel: ObservableObject {
    static weak var shared: RootModel?
    @Published private(set) var app: AppModel?
    /// Why the enrolled store did not open at launch (the Keychain), shown on the enrolment screen.
    @Published private(set) var openError: String?
    let enrolment: EnrolmentViewModel
    let keys = KeychainStore()
    let storeKeys = KeychainKeyProvider()
    let folder: String

    init() {
        let support = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        folder = support.appendingPathComponent("gridpatrol").path
        enrolment = EnrolmentViewModel(folder: folder, keys: keys, storeKeys: storeKeys, hqUrl: "https://hq.example.gov.cn")
        RootModel.shared = self
        openIfEnrolled()
        enrolment.onEnrolled = { [weak self] store in self?.start(store) }
    }

    /// Open the enrolled store with the Keychain's key (at launch, and again from a background
    /// task if the Keychain was still locked at launch). Never deletes a store it cannot open.
    @discardableResult
    func openIfEnrolled() -> AppModel? {
        if let app { return app }
        do {
            if let store = try openEnrolledStore(folder: folder, keys: keys, storeKeys: storeKeys) { start(store) }
            openError = nil
        } catch {
            openError = describe(error)
        }
        return app
    }

    private func start(_ store: GridPatrolStore) {
        app = AppModel(store: store, network: PathMonitor(), scheduler: BackgroundTasksScheduler(), clock: SystemClock(),
                       location: CoreLocationSource(), inForeground: true)
    }
}
