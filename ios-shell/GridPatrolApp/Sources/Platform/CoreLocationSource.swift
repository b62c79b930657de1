// LocationSource on CoreLocation: one fix with its horizontalAccuracy and the simulated flag.

import CoreLocation
import GridPatrolKit

final class CoreLocationSource: NSObject, LocationSource, CLLocationManagerDelegate {
    private let manager = CLLocationManager()
    private var waiting: [CheckedContinuation<LocationFix, Error>] = []

    override init() {
        super.init()
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyBest
    }

    func currentFix() async throws -> LocationFix {
        switch manager.authorizationStatus {
        case .denied, .restricted: throw LocationError.notAuthorised
        default: break
        }
        return try await withCheckedThrowingContinuation { c in
            waiting.append(c)
            manager.requestLocation()
        }
    }

    func locationManager(_: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let l = locations.last else { return }
        let simulated: Bool
        if #available(iOS 15.0, *) {
            simulated = l.sourceInformation?.isSimulatedBySoftware ?? false
        } else {
            simulated = false
        }
        // horizontalAccuracy < 0 means "invalid": pass none, the core flags the fix.
        let fix = LocationFix(lat: l.coordinate.latitude, lng: l.coordinate.longitude,
                              accuracyM: l.horizontalAccuracy >= 0 ? l.horizontalAccuracy : nil,
                              simulated: simulated, datum: nil, at: l.timestamp)
        let all = waiting
        waiting = []
        all.forEach { $0.resume(returning: fix) }
    }

    func locationManager(_: CLLocationManager, didFailWithError _: Error) {
        let all = waiting
        waiting = []
        all.forEach { $0.resume(throwing: LocationError.unavailable) }
    }
}
