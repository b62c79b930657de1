// The publishing pattern every view model uses.
//
// Checked with the Swift 6.0.3 toolchain in the Debian-trixie chroot: Combine does not exist on
// Linux, and the Observation framework imports but does not link (libswiftObservation.so:
// undefined reference to `swift::threading::fatal`). So the state lives in plain stored
// properties whose `didSet` calls `changed()`; on Apple platforms the same call drives
// `ObservableObject.objectWillChange`, so SwiftUI's `@StateObject`/`@ObservedObject` work
// unchanged, and here tests subscribe with `observe`.

import Foundation
#if canImport(Combine)
import Combine
#endif

/// Subscription handle returned by `ViewModel.observe`; dropping it does not cancel, call `cancel()`.
public struct Observation: Hashable, Sendable {
    let id: Int
}

@MainActor
open class ViewModel {
    private var observers: [Int: () -> Void] = [:]
    private var nextObserver = 0
    /// How many times the published state changed (tests and debugging).
    public private(set) var revision = 0

    public init() {}

    /// Called after every change of published state (on the main actor).
    public func observe(_ onChange: @escaping () -> Void) -> Observation {
        nextObserver += 1
        observers[nextObserver] = onChange
        return Observation(id: nextObserver)
    }

    public func cancel(_ observation: Observation) {
        observers[observation.id] = nil
    }

    /// Subclasses call this from the `didSet` of each published property.
    public func changed() {
        #if canImport(Combine)
        objectWillChange.send()
        #endif
        revision += 1
        for f in observers.values { f() }
    }

    /// Tasks (stream watches) owned by this view model, cancelled by `stop()`.
    var watches: [_Concurrency.Task<Void, Never>] = []

    /// Stop watching the core's change streams (the view disappeared).
    public func stop() {
        for w in watches { w.cancel() }
        watches = []
    }

    /// Watch one of the core's screen streams: each element is handed to `apply` on the main
    /// actor; an error ends the watch and is handed to `failed`.
    func watch<T>(_ stream: @escaping () -> AsyncThrowingStream<T, Error>, apply: @escaping @MainActor (T) -> Void,
                  failed: @escaping @MainActor (Error) -> Void) {
        let task = _Concurrency.Task { @MainActor in
            do {
                for try await value in stream() {
                    if _Concurrency.Task.isCancelled { break }
                    apply(value)
                }
            } catch is CancellationError {
            } catch {
                if !_Concurrency.Task.isCancelled { failed(error) }
            }
        }
        watches.append(task)
    }
}

#if canImport(Combine)
extension ViewModel: ObservableObject {}
#endif

/// What a view shows for a failed call: the core's typed error in words, never what a person
/// typed (the core's errors carry field names and ids only).
public func describe(_ error: Error) -> String {
    if let e = error as? GridPatrolErrorText { return e.text }
    return String(describing: error)
}

/// Errors the shell itself raises.
public struct GridPatrolErrorText: Error, Equatable, CustomStringConvertible {
    public let text: String
    public init(_ text: String) { self.text = text }
    public var description: String { text }
}
