// The permission flow as a state machine: explain → system prompt → next permission; a denied
// location offers Settings; skipped ones are not asked again in this flow.

@testable import GridPatrolKit
import XCTest

final class PermissionFlowTests: XCTestCase {
    func testFreshInstallAsksLocationCameraNotificationsInOrder() {
        var flow = PermissionFlow()
        XCTAssertEqual(flow.step, .explain(.location))
        XCTAssertEqual(flow.handle(.continueTapped), .requestSystemPrompt(.location))
        XCTAssertEqual(flow.step, .asking(.location))
        XCTAssertNil(flow.handle(.answered(.location, .granted)))
        XCTAssertEqual(flow.step, .explain(.camera))
        XCTAssertEqual(flow.handle(.continueTapped), .requestSystemPrompt(.camera))
        flow.handle(.answered(.camera, .granted))
        XCTAssertEqual(flow.step, .explain(.notifications))
        flow.handle(.continueTapped)
        flow.handle(.answered(.notifications, .denied))
        XCTAssertEqual(flow.step, .done)
        XCTAssertTrue(flow.allows(.location))
        XCTAssertFalse(flow.allows(.notifications))
    }

    func testDeniedLocationOffersSettingsAndTheReturnFromSettingsIsSeen() {
        var flow = PermissionFlow(statuses: [.location: .denied, .camera: .granted, .notifications: .granted])
        XCTAssertEqual(flow.step, .openSettings(.location))
        XCTAssertEqual(flow.handle(.continueTapped), .openSettingsApp)
        XCTAssertEqual(flow.step, .done, "not offered twice in one flow")
        flow.handle(.statuses([.location: .granted]))
        XCTAssertTrue(flow.allows(.location))
        XCTAssertEqual(flow.step, .done)
    }

    func testDeniedCameraDoesNotNagAndApproximateLocationCounts() {
        let flow = PermissionFlow(statuses: [.location: .limited, .camera: .denied, .notifications: .granted])
        XCTAssertEqual(flow.step, .done)
        XCTAssertTrue(flow.allows(.location))
        XCTAssertFalse(flow.allows(.camera))
    }

    func testSkippingMovesOnAndEventsOutOfPlaceAreIgnored() {
        var flow = PermissionFlow(statuses: [.location: .granted])
        XCTAssertEqual(flow.step, .explain(.camera))
        XCTAssertNil(flow.handle(.skipTapped))
        XCTAssertEqual(flow.step, .explain(.notifications))
        flow.handle(.skipTapped)
        XCTAssertEqual(flow.step, .done)
        XCTAssertNil(flow.handle(.continueTapped))
        XCTAssertEqual(flow.step, .done)
        XCTAssertEqual(flow.skipped, [.camera, .notifications])
    }

    func testRestrictedIsNeverAsked() {
        let flow = PermissionFlow(statuses: [.location: .restricted, .camera: .restricted, .notifications: .restricted])
        XCTAssertEqual(flow.step, .done)
    }
}
