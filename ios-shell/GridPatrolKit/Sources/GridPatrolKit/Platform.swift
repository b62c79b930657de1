// What iOS provides, as protocols: the app implements them with CoreLocation, the Keychain,
// NWPathMonitor, BGTaskScheduler and the system clock (ios-shell/GridPatrolApp/Platform);
// the tests here with fakes (Fake…).

import Foundation
import GridPatrol

/// One position fix as the OS reports it. `accuracyM` is CoreLocation's `horizontalAccuracy`
/// (metres, 68 %); `simulated` is `CLLocationSourceInformation.isSimulatedBySoftware`. The core
/// decides what a weak or simulated fix means (it records and flags it, never refuses it).
public struct LocationFix: Equatable, Sendable {
    public var lat: Double
    public var lng: Double
    public var accuracyM: Double?
    public var simulated: Bool
    /// The datum of a Chinese map SDK's positions (GCJ-02 for AMap/Tencent); nil: WGS-84 (CoreLocation).
    public var datum: Datum?
    public var at: Date

    public init(lat: Double, lng: Double, accuracyM: Double?, simulated: Bool = false, datum: Datum? = nil, at: Date = Date()) {
        self.lat = lat
        self.lng = lng
        self.accuracyM = accuracyM
        self.simulated = simulated
        self.datum = datum
        self.at = at
    }

    public var point: GeoPoint { GeoPoint(lat: lat, lng: lng) }
}

public enum LocationError: Error, Equatable {
    case notAuthorised
    case unavailable
}

public protocol LocationSource: AnyObject {
    /// One fix now (a check-in, a report, arriving at a task's place).
    func currentFix() async throws -> LocationFix
}

/// A small secret store: the Keychain (`kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`, so
/// neither backups nor a copied phone carry the item).
public protocol KeyStore: AnyObject {
    func string(for key: String) throws -> String?
    func set(_ value: String, for key: String) throws
    func remove(_ key: String) throws
}

/// The network as NWPathMonitor sees it.
public enum Connectivity: String, Equatable, Sendable, CaseIterable {
    /// No path (`.unsatisfied`).
    case none
    /// A path that costs (`isExpensive` or `isConstrained`: cellular, a hotspot, Low Data Mode).
    case metered
    /// Wi-Fi or wired, not constrained.
    case unmetered
}

public protocol NetworkMonitor: AnyObject {
    var current: Connectivity { get }
    /// Called on every change of path (on any thread); the shell forwards it to the main actor.
    func start(_ onChange: @escaping @Sendable (Connectivity) -> Void)
    func stop()
}

/// The two kinds of background time iOS grants.
public enum BackgroundTaskKind: String, Equatable, Sendable {
    /// BGAppRefreshTask: about 30 s, often: send records, fetch tasks.
    case appRefresh
    /// BGProcessingTask (network required): minutes, when the phone is idle: photos.
    case processing
}

public struct BackgroundRequest: Equatable, Sendable {
    public var kind: BackgroundTaskKind
    /// Not before this many seconds from now.
    public var earliestIn: TimeInterval
    public var requiresNetwork: Bool
    public var requiresExternalPower: Bool

    public init(kind: BackgroundTaskKind, earliestIn: TimeInterval = 0, requiresNetwork: Bool = true, requiresExternalPower: Bool = false) {
        self.kind = kind
        self.earliestIn = earliestIn
        self.requiresNetwork = requiresNetwork
        self.requiresExternalPower = requiresExternalPower
    }
}

/// BGTaskScheduler: submit a request (replacing a pending one of the same kind).
public protocol BackgroundScheduler: AnyObject {
    func submit(_ request: BackgroundRequest) throws
    func cancel(_ kind: BackgroundTaskKind)
}

public protocol Clock: AnyObject {
    func now() -> Date
}

public final class SystemClock: Clock {
    public init() {}
    public func now() -> Date { Date() }
}

// The store's encryption key: the bindings' own protocol `KeyProvider` (`storeKey() throws -> Data`,
// 32 random bytes made on the first call and the same at every call after; throws
// `KeyProviderError.Unavailable` when the Keychain cannot answer). The app implements it with a
// Keychain item (GridPatrolApp/Sources/Platform/KeychainKeyProvider.swift), the tests with
// `FakeKeyProvider`. The Kit hands it to the core in two places only: `EnrolmentViewModel.enrol`
// and `openEnrolledStore` (at launch and in a background task's fresh process).

/// The store an earlier enrolment made in `folder`, opened with the key from `storeKeys`; nil
/// when there is none yet (the app then shows enrolment). Other failures are the core's typed
/// errors: `GridPatrolError.KeyUnavailable` (the Keychain could not give the key, e.g. before the
/// first unlock: try again later, nothing changed), `.StoreKeyWrong` (the key does not open the
/// store: never delete it on the spot, HQ has only what was synced).
public func openEnrolledStore(folder: String, keys: KeyStore, storeKeys: KeyProvider) throws -> GridPatrolStore? {
    let settings = DeviceSettings(installationId: try installationId(in: keys))
    do {
        return try GridPatrolStore.open(folder: folder, settings: settings, keys: storeKeys)
    } catch GridPatrolError.NotInitialised {
        return nil
    }
}

/// The installation id the core wants on every open and enrol (bindings/README.md): made once at
/// random and kept in the KeyStore.
public func installationId(in keys: KeyStore) throws -> String {
    let key = "org.gridpatrol.installation-id"
    if let id = try keys.string(for: key) { return id }
    let id = UUID().uuidString.lowercased()
    try keys.set(id, for: key)
    return id
}
