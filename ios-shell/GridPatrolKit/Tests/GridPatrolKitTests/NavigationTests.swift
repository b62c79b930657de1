// Navigation state and the publishing pattern (no core needed).

@testable import GridPatrolKit
import XCTest

final class NavigationTests: XCTestCase {
    @MainActor
    func testStackOperationsPublishEachChange() async {
        let nav = Navigation(enrolled: false)
        var seen: [[Route]] = []
        let token = nav.observe { seen.append(nav.path) }
        nav.enrolled = true
        nav.push(.grid(gridId: "g-0101"))
        nav.push(.visitForm(householdId: "h-0001"))
        XCTAssertEqual(nav.top, .visitForm(householdId: "h-0001"))
        nav.replaceTop(with: .caseDetail(caseId: "c-1"))
        XCTAssertEqual(nav.path, [.grid(gridId: "g-0101"), .caseDetail(caseId: "c-1")])
        nav.pop()
        nav.popToHome()
        nav.pop() // nothing to pop: no change
        XCTAssertEqual(nav.path, [])
        XCTAssertEqual(seen.count, 1 + 2 + 2 + 1 + 1, "enrolled, two pushes, replace (pop + push), pop, popToHome")
        nav.cancel(token)
        nav.push(.syncStatus)
        XCTAssertEqual(seen.count, 7, "a cancelled observer hears nothing")
        XCTAssertEqual(nav.revision, 8)
    }
}
