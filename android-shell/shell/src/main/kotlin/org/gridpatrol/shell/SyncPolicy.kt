// When to sync: a pure function of the device's conditions, the last sync's outcome and what
// waits to be sent. The core decides *what* to send and how; this decides only *when* to ask
// the platform's scheduler for it. Tested as a table (SyncPolicyTest).
package org.gridpatrol.shell

import java.time.Duration
import java.time.Instant

/** Why a sync is being considered. */
enum class SyncTrigger {
    /** The periodic job fired (pulls tasks even with nothing to send). */
    PERIODIC,
    /** The network came back (the core's `SyncReason.NETWORK_RESTORED`). */
    CONNECTIVITY_REGAINED,
    /** Something was recorded (the core's `SyncReason.RECORDED_WHILE_ONLINE`, or the shell's own). */
    RECORDED,
    /** The worker pressed 立即发送 "send now". */
    SEND_NOW,
}

/** How the last sync ended. */
enum class LastOutcome { NEVER, OK, UNREACHABLE, RATE_LIMITED, FAILED }

data class SyncHistory(
    val outcome: LastOutcome = LastOutcome.NEVER,
    /** Consecutive failed syncs (0 after a success). */
    val failures: Int = 0,
    val lastAttemptAt: Instant? = null,
    /** HQ's Retry-After, when it rate-limited us. */
    val retryAfter: Duration? = null,
)

data class SyncInputs(
    val conditions: DeviceConditions,
    val history: SyncHistory,
    val pendingRecords: Long,
    val pendingPhotos: Long,
    val trigger: SyncTrigger,
    val now: Instant,
)

/** What to do with photos in a records sync. */
enum class PhotoPlan {
    NONE,
    /** On unmetered: the sync uploads them too. */
    IN_THIS_SYNC,
    /** On metered (or low battery): a separate unique work, constrained to unmetered. */
    SEPARATE_UNMETERED_WORK,
}

sealed interface SyncDecision {
    enum class Why { OFFLINE, NOTHING_TO_SEND, BATTERY_LOW }

    data class Nothing(val why: Why) : SyncDecision

    /** Schedule the records sync (expedited when someone waits for it), and say what of photos. */
    data class SyncRecords(val expedited: Boolean, val photos: PhotoPlan) : SyncDecision

    /** Only photos wait: schedule the photo-upload work on an unmetered network. */
    data object UploadPhotosOnUnmetered : SyncDecision

    /** Failed recently: try again no sooner than [delay] from now. */
    data class WaitBackOff(val delay: Duration) : SyncDecision
}

object SyncPolicy {
    val BASE_BACKOFF: Duration = Duration.ofSeconds(30)
    val MAX_BACKOFF: Duration = Duration.ofMinutes(30)

    /** 30 s, 1 min, 2 min, … capped at 30 min, after `failures` consecutive failures. */
    fun backOff(failures: Int): Duration {
        if (failures <= 0) return Duration.ZERO
        val shift = (failures - 1).coerceAtMost(16)
        val d = BASE_BACKOFF.multipliedBy(1L shl shift)
        return if (d > MAX_BACKOFF) MAX_BACKOFF else d
    }

    fun decide(i: SyncInputs): SyncDecision {
        val c = i.conditions
        if (c.network == Network.NONE) return SyncDecision.Nothing(SyncDecision.Why.OFFLINE)

        val nothingPending = i.pendingRecords == 0L && i.pendingPhotos == 0L
        // Periodic, reconnect and send-now also pull tasks; a recording with nothing left has no work.
        if (nothingPending && i.trigger == SyncTrigger.RECORDED) {
            return SyncDecision.Nothing(SyncDecision.Why.NOTHING_TO_SEND)
        }

        // Back-off after failures. The worker's "send now" always goes; a regained network
        // overrides a back-off that came from being unreachable, not one HQ asked for.
        val h = i.history
        val overrides = i.trigger == SyncTrigger.SEND_NOW ||
            (i.trigger == SyncTrigger.CONNECTIVITY_REGAINED && h.outcome == LastOutcome.UNREACHABLE)
        if (h.failures > 0 && !overrides && h.lastAttemptAt != null) {
            var wait = backOff(h.failures)
            if (h.outcome == LastOutcome.RATE_LIMITED && h.retryAfter != null && h.retryAfter > wait) wait = h.retryAfter
            val elapsed = Duration.between(h.lastAttemptAt, i.now)
            if (elapsed < wait) return SyncDecision.WaitBackOff(wait.minus(elapsed))
        }

        val lowPower = c.batteryLow && !c.charging
        val photos = when {
            i.pendingPhotos == 0L -> PhotoPlan.NONE
            c.network == Network.UNMETERED && !lowPower -> PhotoPlan.IN_THIS_SYNC
            else -> PhotoPlan.SEPARATE_UNMETERED_WORK
        }
        // Only photos wait: they never go over a metered network, and never drain a low battery
        // unless the worker asks.
        if (i.pendingRecords == 0L && i.pendingPhotos > 0L && i.trigger != SyncTrigger.PERIODIC &&
            i.trigger != SyncTrigger.SEND_NOW
        ) {
            return if (photos == PhotoPlan.IN_THIS_SYNC) SyncDecision.SyncRecords(false, photos)
            else SyncDecision.UploadPhotosOnUnmetered
        }
        // A periodic pull on a low battery with nothing to send waits for the charger.
        if (lowPower && i.trigger == SyncTrigger.PERIODIC && i.pendingRecords == 0L) {
            return SyncDecision.Nothing(SyncDecision.Why.BATTERY_LOW)
        }
        // Expedited when someone waits: the worker pressed "send now", or records queued offline
        // go out as soon as the network is back.
        val expedited = i.trigger == SyncTrigger.SEND_NOW ||
            (i.trigger == SyncTrigger.CONNECTIVITY_REGAINED && i.pendingRecords > 0L)
        return SyncDecision.SyncRecords(expedited = expedited, photos = photos)
    }

    /** The work requests a decision turns into (what [SyncCoordinator] hands the scheduler). */
    fun requests(d: SyncDecision): List<WorkRequest> = when (d) {
        is SyncDecision.Nothing -> emptyList()
        is SyncDecision.WaitBackOff -> listOf(WorkRequest(WorkKind.SYNC, expedited = false, unmeteredOnly = false, delay = d.delay))
        SyncDecision.UploadPhotosOnUnmetered -> listOf(WorkRequest(WorkKind.PHOTO_UPLOAD, expedited = false, unmeteredOnly = true))
        is SyncDecision.SyncRecords -> buildList {
            add(WorkRequest(WorkKind.SYNC, expedited = d.expedited, unmeteredOnly = false))
            if (d.photos == PhotoPlan.SEPARATE_UNMETERED_WORK) {
                add(WorkRequest(WorkKind.PHOTO_UPLOAD, expedited = false, unmeteredOnly = true))
            }
        }
    }
}
