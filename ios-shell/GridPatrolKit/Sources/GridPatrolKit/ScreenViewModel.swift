// The shape every screen's view model shares: the core's screen model as it is, an error line,
// the action waiting for the worker's confirmation, and the action buttons' handler.

import Foundation
import GridPatrol

@MainActor
open class ScreenViewModel<Screen>: ViewModel {
    public let router: ActionRouter
    public var store: GridPatrolStore { router.store }

    /// The core's screen model, rendered as it is.
    public internal(set) var screen: Screen? { didSet { changed() } }
    /// The last failure in words (a typed core error).
    public internal(set) var error: String? { didSet { changed() } }
    /// An action whose `confirm` question is on screen.
    public internal(set) var pendingConfirmation: ActionOption? { didSet { changed() } }
    /// The outcome of the last action (navigated, done, failed).
    public internal(set) var lastResult: ActionResult? { didSet { changed() } }
    public internal(set) var busy = false { didSet { changed() } }

    public init(router: ActionRouter) {
        self.router = router
    }

    /// Read the screen from the core once.
    open func read() throws -> Screen { fatalError("subclasses read their screen") }
    /// The core's change stream of this screen.
    open func updates() -> AsyncThrowingStream<Screen, Error>? { nil }

    public func load() {
        do {
            screen = try read()
            error = nil
        } catch {
            self.error = describe(error)
        }
    }

    /// Show the screen now and follow the core's change stream until `stop()`.
    public func start() {
        load()
        guard updates() != nil else { return }
        watch({ [unowned self] in self.updates()! }, apply: { [weak self] value in self?.screen = value },
              failed: { [weak self] error in self?.error = describe(error) })
    }

    /// A button of the screen (`screen.actions`): asks first when the core says so.
    @discardableResult
    public func perform(_ option: ActionOption, confirmed: Bool = false) async -> ActionResult {
        let result = await run(option, confirmed: confirmed)
        switch result {
        case .needsConfirmation:
            pendingConfirmation = option
        case .failed(let message):
            pendingConfirmation = nil
            error = message
        default:
            pendingConfirmation = nil
            error = nil
        }
        lastResult = result
        if case .done = result, updates() == nil { load() }
        return result
    }

    /// The worker answered the confirmation question.
    @discardableResult
    public func confirm(_ yes: Bool) async -> ActionResult? {
        guard let option = pendingConfirmation else { return nil }
        pendingConfirmation = nil
        return yes ? await perform(option, confirmed: true) : nil
    }

    /// Subclasses add context (a location fix, a form's answers) to an action.
    open func run(_ option: ActionOption, confirmed: Bool) async -> ActionResult {
        busy = true
        defer { busy = false }
        return await router.perform(option, confirmed: confirmed)
    }
}
