// The sync policy as a table: inputs → decision.

import Foundation
@testable import GridPatrolKit
import XCTest

final class SyncPolicyTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let photos = BackgroundRequest(kind: .processing, requiresNetwork: true)
    let refresh = BackgroundRequest(kind: .appRefresh, requiresNetwork: true)

    struct Row {
        let name: String
        let input: SyncPolicyInput
        let expected: SyncDecision
    }

    func input(_ network: Connectivity, _ window: SyncWindow, _ trigger: SyncTrigger, records: UInt64 = 0, photos: UInt64 = 0,
               lowPower: Bool = false, last: LastSyncResult = .never, failures: Int = 0, lastAttemptAgo: TimeInterval? = nil) -> SyncPolicyInput {
        SyncPolicyInput(network: network, window: window, lowPower: lowPower, lastResult: last, consecutiveFailures: failures,
                        lastAttemptAt: lastAttemptAgo.map { now.addingTimeInterval(-$0) }, now: now,
                        pendingRecords: records, pendingPhotos: photos, trigger: trigger)
    }

    func testTheTable() {
        let rows: [Row] = [
            Row(name: "offline: nothing, whatever is pending",
                input: input(.none, .foreground, .recordedWhileOnline, records: 3, photos: 2), expected: .nothing(.offline)),
            Row(name: "offline send now: nothing (the core keeps it queued)",
                input: input(.none, .foreground, .sendNow, records: 3), expected: .nothing(.offline)),
            Row(name: "send now on a metered network: everything, even during back-off",
                input: input(.metered, .foreground, .sendNow, records: 1, photos: 1, last: .failed, failures: 3, lastAttemptAgo: 5),
                expected: .sync(budget: 120, photos: .include, followUp: nil)),
            Row(name: "send now cannot sync without granted time: ask for a window",
                input: input(.unmetered, .background, .sendNow, records: 1), expected: .schedule(refresh)),
            Row(name: "send now inside an app refresh keeps its budget",
                input: input(.unmetered, .appRefresh, .sendNow, records: 1, photos: 1),
                expected: .sync(budget: 25, photos: .later, followUp: photos)),
            Row(name: "recorded while online, nothing pending any more: nothing",
                input: input(.unmetered, .foreground, .recordedWhileOnline), expected: .nothing(.nothingToSend)),
            Row(name: "background event, nothing pending: nothing",
                input: input(.unmetered, .background, .networkRestored), expected: .nothing(.nothingToSend)),
            Row(name: "network back in the foreground on Wi-Fi: records and photos now",
                input: input(.unmetered, .foreground, .networkRestored, records: 2, photos: 1),
                expected: .sync(budget: 120, photos: .include, followUp: nil)),
            Row(name: "network back in the foreground on cellular: records now, photos in a processing task",
                input: input(.metered, .foreground, .networkRestored, records: 2, photos: 1),
                expected: .sync(budget: 120, photos: .later, followUp: photos)),
            Row(name: "Wi-Fi but low power: photos wait",
                input: input(.unmetered, .foreground, .recordedWhileOnline, records: 1, photos: 1, lowPower: true),
                expected: .sync(budget: 120, photos: .later, followUp: photos)),
            Row(name: "foreground window with nothing pending still pulls (tasks from HQ)",
                input: input(.metered, .foreground, .window), expected: .sync(budget: 120, photos: .later, followUp: nil)),
            Row(name: "network back in the background: ask for an app refresh",
                input: input(.metered, .background, .networkRestored, records: 4, photos: 1), expected: .schedule(refresh)),
            Row(name: "only photos pending in the background: ask for a processing task",
                input: input(.unmetered, .background, .networkRestored, photos: 2), expected: .schedule(photos)),
            Row(name: "app refresh window: records within ~30 s, photos deferred to a processing task",
                input: input(.metered, .appRefresh, .window, records: 4, photos: 1),
                expected: .sync(budget: 25, photos: .later, followUp: photos)),
            Row(name: "app refresh window, no photos: no follow-up",
                input: input(.unmetered, .appRefresh, .window, records: 1), expected: .sync(budget: 25, photos: .later, followUp: nil)),
            Row(name: "app refresh window with nothing pending still pulls",
                input: input(.unmetered, .appRefresh, .window), expected: .sync(budget: 25, photos: .later, followUp: nil)),
            Row(name: "processing window: photos too, minutes",
                input: input(.metered, .processing, .window, records: 1, photos: 3), expected: .sync(budget: 240, photos: .include, followUp: nil)),
            Row(name: "one failure 10 s ago: back off 20 s more",
                input: input(.unmetered, .foreground, .networkRestored, records: 1, last: .failed, failures: 1, lastAttemptAgo: 10),
                expected: .backOff(retryIn: 20)),
            Row(name: "three failures 100 s ago: back off (120 s) 20 s more",
                input: input(.unmetered, .appRefresh, .window, records: 1, last: .failed, failures: 3, lastAttemptAgo: 100),
                expected: .backOff(retryIn: 20)),
            Row(name: "back-off over: sync",
                input: input(.unmetered, .appRefresh, .window, records: 1, last: .failed, failures: 3, lastAttemptAgo: 121),
                expected: .sync(budget: 25, photos: .later, followUp: nil)),
            Row(name: "a success clears the back-off",
                input: input(.unmetered, .foreground, .recordedWhileOnline, records: 1, last: .succeeded, failures: 0, lastAttemptAgo: 1),
                expected: .sync(budget: 120, photos: .include, followUp: nil)),
        ]
        for row in rows {
            XCTAssertEqual(SyncPolicy.decide(row.input), row.expected, row.name)
        }
    }

    func testBackOffDoublesUpToHalfAnHour() {
        XCTAssertEqual((0...8).map { SyncPolicy.backOff(failures: $0) }, [0, 30, 60, 120, 240, 480, 960, 1800, 1800])
        XCTAssertEqual(SyncPolicy.backOff(failures: 1000), 1800)
    }

    func testEveryCombinationDecidesAndOfflineNeverSyncs() {
        for network in Connectivity.allCases {
            for window in SyncWindow.allCases {
                for trigger in SyncTrigger.allCases {
                    for records: UInt64 in [0, 1] {
                        let d = SyncPolicy.decide(input(network, window, trigger, records: records, photos: 1))
                        if network == .none { XCTAssertEqual(d, .nothing(.offline)) }
                        if case let .sync(budget, _, _) = d {
                            XCTAssertLessThanOrEqual(budget, window == .appRefresh ? 30 : 240)
                            XCTAssertNotEqual(window, .background, "no sync without granted time")
                        }
                    }
                }
            }
        }
    }
}
