// What only Android can provide, as plain interfaces. The app module implements them with the
// framework (app/src/main/java/org/gridpatrol/app/platform/); tests use fakes named Fake….
package org.gridpatrol.shell

import java.time.Duration
import java.time.Instant
import kotlinx.coroutines.flow.StateFlow

/** A position fix as the OS reports it (WGS-84 from FusedLocationProvider). */
data class Fix(
    val lat: Double,
    val lng: Double,
    /** Horizontal accuracy in metres, when the OS gives one. */
    val accuracyM: Double?,
    /** Android `Location.isMock()`: passed to the core, which flags (never refuses) it. */
    val mock: Boolean,
    val at: Instant,
)

/** One fresh fix for a check-in, an arrival, a report. */
interface LocationSource {
    /** A fresh fix, or null when none came within the OS's timeout (no permission, indoors). */
    suspend fun currentFix(): Fix?
}

// The store's encryption key is the bindings' own interface, `org.gridpatrol.core.KeyProvider`
// (`storeKey(): ByteArray`: 32 random bytes made on the first call and the same ever after;
// throws `KeyProviderException.Unavailable` when the key store cannot answer). The app implements
// it with the Android Keystore (app/…/platform/KeystoreKeyProvider.kt), the tests with
// FakeKeyProvider; the shell passes it to the core through [StoreOpener] only.

/** Secrets that must not leave the device (Android Keystore-wrapped storage). */
interface KeyStore {
    fun get(name: String): String?
    fun put(name: String, value: String)
    fun remove(name: String)
}

enum class Network { NONE, METERED, UNMETERED }

/** The device's connectivity and power as the OS reports them. */
data class DeviceConditions(
    val network: Network,
    val batteryLow: Boolean = false,
    val charging: Boolean = false,
)

/** ConnectivityManager callbacks and the battery broadcast, as one state. */
interface NetworkMonitor {
    val conditions: StateFlow<DeviceConditions>
}

/** What kind of background work (Android: WorkManager unique work). */
enum class WorkKind {
    /** Push the outbox, upload photos (when allowed), pull tasks: unique work "sync". */
    SYNC,
    /** Photo uploads only, on an unmetered network, with a progress notification: "photos". */
    PHOTO_UPLOAD,
}

/** One piece of background work to schedule. */
data class WorkRequest(
    val kind: WorkKind,
    /** Expedited work (Android `setExpedited`): the worker is waiting for it. */
    val expedited: Boolean,
    /** Constraint: any network, or unmetered only. */
    val unmeteredOnly: Boolean,
    /** Run no sooner than this (a back-off). */
    val delay: Duration = Duration.ZERO,
)

/** Background work (WorkManager). Scheduling only: the work itself calls [SyncRunner.run]. */
interface WorkScheduler {
    /** Enqueue unique work per kind, keeping one already queued (ExistingWorkPolicy.KEEP). */
    fun enqueue(request: WorkRequest)

    /** The periodic sync (PeriodicWorkRequest with a network constraint). */
    fun schedulePeriodic(every: Duration)
}

interface Clock {
    fun now(): Instant
}

object SystemClock : Clock {
    override fun now(): Instant = Instant.now()
}
