// Enrolment and settings, and the app's composition root.

import Foundation
import GridPatrol

/// Enrolment by a one-time code typed in or scanned from a QR code.
@MainActor
public final class EnrolmentViewModel: ViewModel {
    public enum Phase: Equatable {
        case entering
        case enrolling
        case enrolled(workerId: String)
        case failed(String)
    }

    let folder: String
    let keys: KeyStore
    /// The store's encryption key (the Keychain on iOS).
    let storeKeys: KeyProvider
    public var hqUrl: String { didSet { changed() } }
    public var code: String = "" { didSet { changed() } }
    public private(set) var phase: Phase = .entering { didSet { changed() } }
    public private(set) var store: GridPatrolStore?
    /// Called with the new store (the app builds its view models on it).
    public var onEnrolled: ((GridPatrolStore) -> Void)?

    public init(folder: String, keys: KeyStore, storeKeys: KeyProvider, hqUrl: String = "") {
        self.folder = folder
        self.keys = keys
        self.storeKeys = storeKeys
        self.hqUrl = hqUrl
    }

    /// A scanned QR code: either the bare code, or a link `gridpatrol://enrol?hq=<url>&code=<code>`
    /// carrying HQ's address too. Returns false when the text is neither.
    @discardableResult
    public func scanned(_ text: String) -> Bool {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let c = URLComponents(string: t), c.scheme == "gridpatrol", c.host == "enrol" {
            let items = c.queryItems ?? []
            guard let code = items.first(where: { $0.name == "code" })?.value else { return false }
            if let hq = items.first(where: { $0.name == "hq" })?.value { hqUrl = hq }
            self.code = code
            return true
        }
        if !t.isEmpty, !t.contains(" "), !t.contains("://") {
            code = t
            return true
        }
        return false
    }

    /// Trade the code for a device identity; the core checks the code and reports a wrong one
    /// as `EnrolmentCodeInvalid`. The store is made encrypted with the key from `storeKeys`
    /// (`KeyUnavailable` when the Keychain cannot give it: nothing is created).
    @discardableResult
    public func enrol(deviceId: String? = nil) async -> GridPatrolStore? {
        phase = .enrolling
        do {
            let id = try installationId(in: keys)
            let s = try await GridPatrolStore.enrol(
                folder: folder, hqUrl: hqUrl, code: code.trimmingCharacters(in: .whitespaces),
                settings: DeviceSettings(deviceId: deviceId, installationId: id), keys: storeKeys)
            store = s
            phase = .enrolled(workerId: s.device().workerId)
            onEnrolled?(s)
            return s
        } catch {
            phase = .failed(describe(error))
            return nil
        }
    }
}

/// Settings: the language of every screen (the core labels them), this device.
@MainActor
public final class SettingsViewModel: ViewModel {
    public let store: GridPatrolStore
    public private(set) var language: Lang { didSet { changed() } }
    public private(set) var device: DeviceInfo { didSet { changed() } }
    /// The three choices, labelled by the core.
    public let languages: [Lang] = [.zh, .en, .both]

    public init(store: GridPatrolStore) {
        self.store = store
        language = store.language()
        device = store.device()
    }

    public func setLanguage(_ lang: Lang) {
        store.setLanguage(lang: lang)
        language = store.language()
    }
}

/// Everything one enrolled store needs, built once (the app's `@StateObject` root).
@MainActor
public final class AppModel {
    public let store: GridPatrolStore
    public let navigation: Navigation
    public let sync: SyncCoordinator
    public let router: ActionRouter
    public let location: LocationSource

    public init(store: GridPatrolStore, network: NetworkMonitor, scheduler: BackgroundScheduler, clock: Clock,
                location: LocationSource, inForeground: Bool = true) {
        self.store = store
        navigation = Navigation(enrolled: true)
        sync = SyncCoordinator(store: store, network: network, scheduler: scheduler, clock: clock, inForeground: inForeground)
        router = ActionRouter(store: store, navigation: navigation, sync: sync)
        self.location = location
    }

    public func home() -> HomeViewModel { HomeViewModel(router: router) }
    public func grid(_ id: String) -> GridViewModel { GridViewModel(router: router, gridId: id) }
    public func patrol(_ id: String) -> PatrolViewModel { PatrolViewModel(router: router, patrolId: id, location: location) }
    public func visitForm(_ householdId: String) -> VisitFormViewModel {
        VisitFormViewModel(router: router, householdId: householdId, location: location)
    }
    public func reportForm(gridId: String?, patrolId: String?) -> ReportFormViewModel {
        ReportFormViewModel(router: router, gridId: gridId, patrolId: patrolId, location: location)
    }
    public func caseInbox() -> CaseInboxViewModel { CaseInboxViewModel(router: router) }
    public func caseDetail(_ id: String) -> CaseViewModel { CaseViewModel(router: router, caseId: id) }
    public func taskInbox() -> TaskInboxViewModel { TaskInboxViewModel(router: router) }
    public func task(_ id: String) -> TaskViewModel { TaskViewModel(router: router, taskId: id, location: location) }
    public func syncStatus() -> SyncStatusViewModel { SyncStatusViewModel(router: router) }
    public func settings() -> SettingsViewModel { SettingsViewModel(store: store) }
}
