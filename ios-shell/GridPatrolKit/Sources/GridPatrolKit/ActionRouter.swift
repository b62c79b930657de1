// The one mapping from the core's `Action` to its call or to a screen (bindings/README.md,
// "Screens"). Which actions exist, and which ask first, is the core's: the router only follows
// `ActionOption.action` and `ActionOption.confirm`.

import Foundation
import GridPatrol

/// What a step needs beyond its action, gathered by the screen that offers it.
public struct ActionContext: Sendable {
    public var note: String?
    public var result: String?
    public var clear: ClearItems
    public var photos: [String]
    public var fix: LocationFix?

    public init(note: String? = nil, result: String? = nil, clear: ClearItems = ClearItems(), photos: [String] = [], fix: LocationFix? = nil) {
        self.note = note
        self.result = result
        self.clear = clear
        self.photos = photos
        self.fix = fix
    }
}

public enum ActionResult: Equatable {
    /// The call was made (the screens refresh from the core's streams).
    case done
    case navigated(Route)
    /// Ask the worker this question, then perform again with `confirmed: true`.
    case needsConfirmation(String)
    case failed(String)
}

@MainActor
public final class ActionRouter {
    public let store: GridPatrolStore
    public let navigation: Navigation
    public let sync: SyncCoordinator?

    public init(store: GridPatrolStore, navigation: Navigation, sync: SyncCoordinator?) {
        self.store = store
        self.navigation = navigation
        self.sync = sync
    }

    public func perform(_ option: ActionOption, confirmed: Bool = false, context: ActionContext = ActionContext()) async -> ActionResult {
        if let question = option.confirm, !confirmed {
            return .needsConfirmation(question)
        }
        do {
            switch option.action {
            case let .startPatrol(gridId, shift):
                let patrol = try await store.startPatrol(gridId: gridId, shift: shift)
                return go(.patrol(patrolId: patrol.id))
            case let .checkIn(patrolId):
                // The patrol screen's checklist is the check-in form.
                return go(.patrol(patrolId: patrolId))
            case let .finishPatrol(patrolId, outcome):
                _ = try await store.finishPatrol(patrolId: patrolId, outcome: outcome, note: context.note)
                return .done
            case let .recordVisit(householdId):
                return go(.visitForm(householdId: householdId))
            case let .fileReport(gridId):
                return go(.reportForm(gridId: gridId, patrolId: nil))
            case let .caseStep(caseId, to):
                _ = try await store.moveCase(input: CaseStepInput(
                    caseId: caseId, to: to, note: context.note, clear: context.clear, photos: context.photos))
                return .done
            case let .taskStep(taskId, action):
                _ = try await store.actOnTask(input: TaskActionInput(
                    taskId: taskId, action: action, result: context.result, photos: context.photos,
                    location: context.fix?.point, datum: context.fix?.datum))
                return .done
            case let .retryRejected(seq):
                try await store.retryRejected(seq: seq)
                return .done
            case let .discardRejected(seq):
                try await store.discardRejected(seq: seq, confirmed: true)
                return .done
            case .syncNow:
                let outcome: SyncOutcome?
                if let sync {
                    await sync.sendNow()
                    outcome = sync.lastOutcome
                } else {
                    outcome = await SyncRunner(store: store).run(SyncRequest(budget: SyncPolicy.foregroundBudget, photos: .include))
                }
                if case let .failed(e)? = outcome { return .failed(describe(e)) }
                return .done
            }
        } catch {
            return .failed(describe(error))
        }
    }

    private func go(_ route: Route) -> ActionResult {
        navigation.push(route)
        return .navigated(route)
    }
}
