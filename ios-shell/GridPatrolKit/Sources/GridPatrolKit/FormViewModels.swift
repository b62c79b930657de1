// The two forms. Choices, field specs and validation are the core's (`visitForm`/`validateVisit`,
// `reportForm`/`validateReport`); the view model holds the draft and the core's field errors.

import Foundation
import GridPatrol

@MainActor
public final class VisitFormViewModel: ViewModel {
    public let router: ActionRouter
    public let householdId: String
    let location: LocationSource?
    public private(set) var form: VisitForm? { didSet { changed() } }
    /// The draft; choices come from `form` (visit types, outcomes, needs, follow-up cases).
    public var input: VisitInput { didSet { changed() } }
    /// The core's verdict on the draft, each naming its field.
    public private(set) var errors: [FieldError] = [] { didSet { changed() } }
    public private(set) var saved: Visit? { didSet { changed() } }
    public private(set) var error: String? { didSet { changed() } }

    public init(router: ActionRouter, householdId: String, location: LocationSource? = nil) {
        self.router = router
        self.householdId = householdId
        self.location = location
        input = VisitInput(householdId: householdId, visitType: .routine, outcome: .met)
    }

    public func load() {
        do {
            let f = try router.store.visitForm(householdId: householdId)
            form = f
            if let t = f.visitTypes.first?.value { input.visitType = t }
            if let o = f.outcomes.first?.value { input.outcome = o }
            error = nil
        } catch {
            self.error = describe(error)
        }
    }

    /// Errors of one field (shown under it).
    public func errors(for field: String) -> [String] { errors.filter { $0.field == field }.map { $0.message } }

    @discardableResult
    public func validate() -> Bool {
        do {
            errors = try router.store.validateVisit(input: input)
        } catch {
            self.error = describe(error)
            return false
        }
        return errors.isEmpty
    }

    /// Save: the core validates, then records; the form closes.
    @discardableResult
    public func submit() async -> Visit? {
        guard validate() else { return nil }
        do {
            var draft = input
            if draft.location == nil, let fix = try? await location?.currentFix() {
                draft.location = fix.point
                draft.datum = fix.datum
            }
            let visit = try await router.store.recordVisit(input: draft)
            saved = visit
            error = nil
            router.navigation.pop()
            return visit
        } catch {
            self.error = describe(error)
            return nil
        }
    }
}

@MainActor
public final class ReportFormViewModel: ViewModel {
    public let router: ActionRouter
    let location: LocationSource
    public private(set) var form: ReportForm? { didSet { changed() } }
    public var input: ReportInput { didSet { changed() } }
    public private(set) var fix: LocationFix? { didSet { changed() } }
    public private(set) var errors: [FieldError] = [] { didSet { changed() } }
    public private(set) var saved: Report? { didSet { changed() } }
    public private(set) var error: String? { didSet { changed() } }

    public init(router: ActionRouter, gridId: String?, patrolId: String?, location: LocationSource) {
        self.router = router
        self.location = location
        input = ReportInput(gridId: gridId ?? "", category: .safetyHazard, location: GeoPoint(lat: 0, lng: 0),
                            description: "", source: patrolId == nil ? .resident : .patrol, patrolId: patrolId)
    }

    public func load() {
        do {
            let f = try router.store.reportForm()
            form = f
            if input.gridId.isEmpty, let g = f.grids.first?.id { input.gridId = g }
            if let c = f.categories.first?.value, !f.categories.contains(where: { $0.value == input.category }) {
                input.category = c
            }
            error = nil
        } catch {
            self.error = describe(error)
        }
    }

    /// Where the report is: a fix from the OS (the core checks it like any position).
    public func locate() async {
        do {
            let f = try await location.currentFix()
            fix = f
            input.location = f.point
            input.datum = f.datum
        } catch {
            self.error = describe(error)
        }
    }

    /// A photo the camera wrote to a file (the core copies it in and strips its metadata).
    public func addPhoto(path: String) { input.photos.append(path) }
    public func removePhoto(at index: Int) { input.photos.remove(at: index) }

    public func errors(for field: String) -> [String] { errors.filter { $0.field == field }.map { $0.message } }

    @discardableResult
    public func validate() -> Bool {
        do {
            errors = try router.store.validateReport(input: input)
        } catch {
            self.error = describe(error)
            return false
        }
        return errors.isEmpty
    }

    /// File it: validated by the core, recorded, and the form is replaced by the new case.
    @discardableResult
    public func submit() async -> Report? {
        if fix == nil { await locate() }
        guard validate() else { return nil }
        do {
            let report = try await router.store.fileReport(input: input)
            saved = report
            error = nil
            router.navigation.replaceTop(with: .caseDetail(caseId: report.caseId))
            return report
        } catch {
            self.error = describe(error)
            return nil
        }
    }
}
