// When to sync, as one pure function of what the phone knows. It decides only *when* and *how
// long*; what a sync does (which records, in what order, what HQ refused) is the core's.

import Foundation

/// Where the decision is taken.
public enum SyncWindow: String, Equatable, Sendable, CaseIterable {
    /// The app is on screen: no OS deadline.
    case foreground
    /// The app is in the background without granted time (an event arrived): it can only ask
    /// the OS for a window.
    case background
    /// Inside a BGAppRefreshTask (~30 s).
    case appRefresh
    /// Inside a BGProcessingTask (minutes, network required).
    case processing
}

/// Why a sync is considered.
public enum SyncTrigger: String, Equatable, Sendable, CaseIterable {
    /// The core's `SyncScheduler.syncWanted(.networkRestored)`.
    case networkRestored
    /// The core's `SyncScheduler.syncWanted(.recordedWhileOnline)`.
    case recordedWhileOnline
    /// The worker tapped "send now" (the `SyncNow` action).
    case sendNow
    /// The OS started a background task, or the app came to the front.
    case window
}

public enum LastSyncResult: String, Equatable, Sendable {
    case never, succeeded, failed
}

public struct SyncPolicyInput: Equatable, Sendable {
    public var network: Connectivity
    public var window: SyncWindow
    public var lowPower: Bool
    public var lastResult: LastSyncResult
    public var consecutiveFailures: Int
    public var lastAttemptAt: Date?
    public var now: Date
    public var pendingRecords: UInt64
    public var pendingPhotos: UInt64
    public var trigger: SyncTrigger

    public init(network: Connectivity, window: SyncWindow, lowPower: Bool = false, lastResult: LastSyncResult = .never,
                consecutiveFailures: Int = 0, lastAttemptAt: Date? = nil, now: Date, pendingRecords: UInt64 = 0,
                pendingPhotos: UInt64 = 0, trigger: SyncTrigger) {
        self.network = network
        self.window = window
        self.lowPower = lowPower
        self.lastResult = lastResult
        self.consecutiveFailures = consecutiveFailures
        self.lastAttemptAt = lastAttemptAt
        self.now = now
        self.pendingRecords = pendingRecords
        self.pendingPhotos = pendingPhotos
        self.trigger = trigger
    }
}

/// Whether a sync run should upload queued photos.
public enum PhotoPolicy: String, Equatable, Sendable {
    case include
    /// Records only; photos wait for a BGProcessingTask or an unmetered network.
    case later
}

public enum NothingReason: String, Equatable, Sendable {
    case offline
    case nothingToSend
}

public enum SyncDecision: Equatable, Sendable {
    case nothing(NothingReason)
    /// Sync now within `budget` seconds; afterwards ask the OS for `followUp` (photos left).
    case sync(budget: TimeInterval, photos: PhotoPolicy, followUp: BackgroundRequest?)
    /// Ask the OS for a background window.
    case schedule(BackgroundRequest)
    /// Failed recently: wait this long (then ask again; the OS window is scheduled for then).
    case backOff(retryIn: TimeInterval)
}

public enum SyncPolicy {
    /// Seconds of a BGAppRefreshTask the sync may use (iOS grants about 30 s; the rest is
    /// margin for committing and calling `setTaskCompleted`).
    public static let appRefreshBudget: TimeInterval = 25
    public static let processingBudget: TimeInterval = 240
    public static let foregroundBudget: TimeInterval = 120

    /// Back-off after `failures` failures in a row: 30 s, 1 min, 2 min, … at most 30 min.
    public static func backOff(failures: Int) -> TimeInterval {
        guard failures > 0 else { return 0 }
        return min(30 * pow(2, Double(min(failures, 16) - 1)), 1800)
    }

    public static func decide(_ i: SyncPolicyInput) -> SyncDecision {
        let photosWaiting = i.pendingPhotos > 0
        let photoWindow = BackgroundRequest(kind: .processing, requiresNetwork: true)
        if i.network == .none {
            return .nothing(.offline)
        }
        // "Send now": the worker asked; no back-off, and photos too, within the window's budget.
        if i.trigger == .sendNow {
            switch i.window {
            case .foreground: return .sync(budget: foregroundBudget, photos: .include, followUp: nil)
            case .processing: return .sync(budget: processingBudget, photos: .include, followUp: nil)
            case .appRefresh: return .sync(budget: appRefreshBudget, photos: .later, followUp: photosWaiting ? photoWindow : nil)
            case .background: return .schedule(BackgroundRequest(kind: .appRefresh, requiresNetwork: true))
            }
        }
        if i.pendingRecords == 0 && !photosWaiting && (i.window == .background || i.trigger == .recordedWhileOnline) {
            return .nothing(.nothingToSend)
        }
        if i.lastResult == .failed, i.consecutiveFailures > 0, let last = i.lastAttemptAt {
            let wait = backOff(failures: i.consecutiveFailures) - i.now.timeIntervalSince(last)
            if wait > 0 { return .backOff(retryIn: wait) }
        }
        switch i.window {
        case .background:
            if i.pendingRecords > 0 {
                return .schedule(BackgroundRequest(kind: .appRefresh, requiresNetwork: true))
            }
            return .schedule(photoWindow)
        case .appRefresh:
            // Records (and new tasks) within the refresh window; photos go to a processing task.
            return .sync(budget: appRefreshBudget, photos: .later, followUp: photosWaiting ? photoWindow : nil)
        case .processing:
            return .sync(budget: processingBudget, photos: .include, followUp: nil)
        case .foreground:
            let photosNow = i.network == .unmetered && !i.lowPower
            return .sync(budget: foregroundBudget, photos: photosNow ? .include : .later,
                         followUp: photosWaiting && !photosNow ? photoWindow : nil)
        }
    }
}
