package org.gridpatrol.shell

import java.time.Duration
import java.time.Instant
import org.gridpatrol.shell.Network.METERED
import org.gridpatrol.shell.Network.NONE
import org.gridpatrol.shell.Network.UNMETERED
import org.gridpatrol.shell.PhotoPlan.IN_THIS_SYNC
import org.gridpatrol.shell.PhotoPlan.SEPARATE_UNMETERED_WORK
import org.gridpatrol.shell.SyncDecision.Nothing
import org.gridpatrol.shell.SyncDecision.SyncRecords
import org.gridpatrol.shell.SyncDecision.UploadPhotosOnUnmetered
import org.gridpatrol.shell.SyncDecision.WaitBackOff
import org.gridpatrol.shell.SyncDecision.Why
import org.gridpatrol.shell.SyncTrigger.CONNECTIVITY_REGAINED
import org.gridpatrol.shell.SyncTrigger.PERIODIC
import org.gridpatrol.shell.SyncTrigger.RECORDED
import org.gridpatrol.shell.SyncTrigger.SEND_NOW
import org.junit.Assert.assertEquals
import org.junit.Test

class SyncPolicyTest {
    private val now = Instant.parse("2026-11-30T12:00:00Z")

    private data class Row(
        val network: Network,
        val batteryLow: Boolean,
        val charging: Boolean,
        val last: LastOutcome,
        val failures: Int,
        /** Seconds since the last attempt. */
        val agoS: Long,
        val records: Long,
        val photos: Long,
        val trigger: SyncTrigger,
        val expected: SyncDecision,
    )

    private val ok = LastOutcome.OK
    private val unreachable = LastOutcome.UNREACHABLE
    private val failed = LastOutcome.FAILED

    // network  low    chg    last         fails ago  recs photos trigger        → decision
    private val table = listOf(
        Row(NONE, false, false, ok, 0, 60, 5, 0, SEND_NOW, Nothing(Why.OFFLINE)),
        Row(NONE, false, false, ok, 0, 60, 5, 2, RECORDED, Nothing(Why.OFFLINE)),
        Row(NONE, false, true, ok, 0, 60, 0, 0, PERIODIC, Nothing(Why.OFFLINE)),
        Row(UNMETERED, false, false, ok, 0, 60, 0, 0, RECORDED, Nothing(Why.NOTHING_TO_SEND)),
        // Periodic, reconnect and send-now pull tasks even with nothing to send.
        Row(UNMETERED, false, false, ok, 0, 60, 0, 0, PERIODIC, SyncRecords(false, PhotoPlan.NONE)),
        Row(METERED, false, false, ok, 0, 60, 0, 0, CONNECTIVITY_REGAINED, SyncRecords(false, PhotoPlan.NONE)),
        Row(METERED, false, false, ok, 0, 60, 0, 0, SEND_NOW, SyncRecords(true, PhotoPlan.NONE)),
        // Records queued offline go expedited when the network is back; photos by network.
        Row(UNMETERED, false, false, ok, 0, 60, 3, 1, CONNECTIVITY_REGAINED, SyncRecords(true, IN_THIS_SYNC)),
        Row(METERED, false, false, ok, 0, 60, 3, 1, CONNECTIVITY_REGAINED, SyncRecords(true, SEPARATE_UNMETERED_WORK)),
        Row(METERED, false, false, ok, 0, 60, 3, 0, RECORDED, SyncRecords(false, PhotoPlan.NONE)),
        Row(UNMETERED, false, false, ok, 0, 60, 1, 0, RECORDED, SyncRecords(false, PhotoPlan.NONE)),
        // Only photos waiting: never over a metered network.
        Row(METERED, false, false, ok, 0, 60, 0, 2, RECORDED, UploadPhotosOnUnmetered),
        Row(UNMETERED, false, false, ok, 0, 60, 0, 2, RECORDED, SyncRecords(false, IN_THIS_SYNC)),
        // A low battery keeps photos for the unmetered/charging work and skips idle pulls.
        Row(UNMETERED, true, false, ok, 0, 60, 2, 2, RECORDED, SyncRecords(false, SEPARATE_UNMETERED_WORK)),
        Row(UNMETERED, true, true, ok, 0, 60, 2, 2, RECORDED, SyncRecords(false, IN_THIS_SYNC)),
        Row(UNMETERED, true, false, ok, 0, 60, 0, 0, PERIODIC, Nothing(Why.BATTERY_LOW)),
        Row(UNMETERED, true, false, ok, 0, 60, 1, 0, PERIODIC, SyncRecords(false, PhotoPlan.NONE)),
        // Back-off: 30 s, 60 s, 120 s … after consecutive failures.
        Row(UNMETERED, false, false, failed, 1, 10, 2, 0, RECORDED, WaitBackOff(Duration.ofSeconds(20))),
        Row(UNMETERED, false, false, failed, 3, 100, 2, 0, PERIODIC, WaitBackOff(Duration.ofSeconds(20))),
        Row(UNMETERED, false, false, failed, 3, 120, 2, 0, PERIODIC, SyncRecords(false, PhotoPlan.NONE)),
        Row(UNMETERED, false, false, failed, 20, 60, 2, 0, PERIODIC, WaitBackOff(Duration.ofMinutes(29))),
        // "Send now" goes through a back-off; a regained network only through an unreachable one.
        Row(UNMETERED, false, false, failed, 3, 10, 2, 0, SEND_NOW, SyncRecords(true, PhotoPlan.NONE)),
        Row(UNMETERED, false, false, unreachable, 3, 10, 2, 0, CONNECTIVITY_REGAINED, SyncRecords(true, PhotoPlan.NONE)),
        Row(UNMETERED, false, false, failed, 3, 10, 2, 0, CONNECTIVITY_REGAINED, WaitBackOff(Duration.ofSeconds(110))),
    )

    @Test fun decisionTable() {
        for ((i, r) in table.withIndex()) {
            val inputs = SyncInputs(
                conditions = DeviceConditions(r.network, r.batteryLow, r.charging),
                history = SyncHistory(r.last, r.failures, now.minusSeconds(r.agoS)),
                pendingRecords = r.records,
                pendingPhotos = r.photos,
                trigger = r.trigger,
                now = now,
            )
            assertEquals("row $i: $r", r.expected, SyncPolicy.decide(inputs))
        }
    }

    @Test fun rateLimitHonoursHqsRetryAfterOverTheBackOff() {
        val h = SyncHistory(LastOutcome.RATE_LIMITED, 1, now.minusSeconds(10), retryAfter = Duration.ofSeconds(300))
        val i = SyncInputs(DeviceConditions(UNMETERED), h, 1, 0, CONNECTIVITY_REGAINED, now)
        assertEquals(WaitBackOff(Duration.ofSeconds(290)), SyncPolicy.decide(i))
    }

    @Test fun backOffDoublesAndCaps() {
        assertEquals(listOf(0L, 30, 60, 120, 240, 480, 960, 1800, 1800), (0..8).map { SyncPolicy.backOff(it).seconds })
    }

    @Test fun decisionsBecomeWorkRequests() {
        assertEquals(emptyList<WorkRequest>(), SyncPolicy.requests(Nothing(Why.OFFLINE)))
        assertEquals(
            listOf(
                WorkRequest(WorkKind.SYNC, expedited = true, unmeteredOnly = false),
                WorkRequest(WorkKind.PHOTO_UPLOAD, expedited = false, unmeteredOnly = true),
            ),
            SyncPolicy.requests(SyncRecords(true, SEPARATE_UNMETERED_WORK)),
        )
        assertEquals(
            listOf(WorkRequest(WorkKind.SYNC, expedited = true, unmeteredOnly = false)),
            SyncPolicy.requests(SyncRecords(true, IN_THIS_SYNC)),
        )
        assertEquals(
            listOf(WorkRequest(WorkKind.PHOTO_UPLOAD, expedited = false, unmeteredOnly = true)),
            SyncPolicy.requests(UploadPhotosOnUnmetered),
        )
        assertEquals(
            listOf(WorkRequest(WorkKind.SYNC, expedited = false, unmeteredOnly = false, delay = Duration.ofSeconds(5))),
            SyncPolicy.requests(WaitBackOff(Duration.ofSeconds(5))),
        )
    }
}
