// The shell's whole sync path: the policy's inputs gathered in one place (SyncCoordinator), the
// scheduler asked for work, and the work run through ONE call into the core (SyncRunner.run).
package org.gridpatrol.shell

import java.time.Duration
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.gridpatrol.core.GridPatrolException
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.SyncProgressListener
import org.gridpatrol.core.SyncReason
import org.gridpatrol.core.SyncScheduler
import org.gridpatrol.core.model.SyncProgress
import org.gridpatrol.core.model.NetworkKind
import org.gridpatrol.core.model.SyncMode
import org.gridpatrol.core.model.SyncReport
import org.gridpatrol.core.model.SyncSend

/**
 * Runs one scheduled piece of sync work. This is the ONLY place the shell calls the core's
 * sync: `store.syncWith(mode, …)` with the network the [NetworkMonitor] reports (a photo-upload
 * work item runs only on unmetered networks, by its constraint).
 */
class SyncRunner(
    private val store: GridPatrolStore,
    private val clock: Clock,
    private val network: NetworkMonitor? = null,
) {
    private val _history = MutableStateFlow(SyncHistory())
    val history: StateFlow<SyncHistory> = _history.asStateFlow()

    suspend fun run(request: WorkRequest, progress: ((SyncProgress) -> Unit)? = null): Result<SyncReport> {
        val listener = progress?.let { p ->
            object : SyncProgressListener {
                override fun onProgress(progress: SyncProgress) = p(progress)
            }
        }
        val started = clock.now()
        return try {
            val net = network?.conditions?.value?.network
            val mode = SyncMode(
                send = SyncSend.RECORDS_AND_PHOTOS,
                network = if (request.unmeteredOnly || net == Network.UNMETERED) NetworkKind.UNMETERED else NetworkKind.METERED,
            )
            val report = store.syncWith(mode, null, listener)
            _history.value = SyncHistory(LastOutcome.OK, 0, started, null)
            Result.success(report)
        } catch (e: GridPatrolException) {
            val outcome = when (e) {
                is GridPatrolException.HqUnreachable -> LastOutcome.UNREACHABLE
                is GridPatrolException.RateLimited -> LastOutcome.RATE_LIMITED
                else -> LastOutcome.FAILED
            }
            val retryAfter = (e as? GridPatrolException.RateLimited)?.let { Duration.ofSeconds(it.retryAfterS.toLong()) }
            _history.update { SyncHistory(outcome, it.failures + 1, started, retryAfter) }
            Result.failure(e)
        }
    }
}

/**
 * Gathers the policy's inputs (device conditions, the runner's history, the core's unsent
 * counts), decides with [SyncPolicy] and hands the scheduler the resulting work. It is also the
 * core's `SyncScheduler` and forwards the network monitor's changes as the core's
 * connectivity hint (`networkChanged`).
 */
class SyncCoordinator(
    private val store: GridPatrolStore,
    private val network: NetworkMonitor,
    private val scheduler: WorkScheduler,
    private val runner: SyncRunner,
    private val clock: Clock,
) : SyncScheduler {
    private val _last = MutableStateFlow<SyncDecision?>(null)
    /** The last decision (shown on the sync-status screen, asserted by tests). */
    val lastDecision: StateFlow<SyncDecision?> = _last.asStateFlow()
    private val _online = MutableStateFlow<Boolean?>(null)
    /** The connectivity last forwarded to the core (null: not yet). */
    val online: StateFlow<Boolean?> = _online.asStateFlow()

    /**
     * Register with the core as its scheduler and follow the NetworkMonitor for as long as
     * [scope] lives (the app: its process scope). The periodic pull is scheduled here too.
     */
    fun attach(scope: CoroutineScope, every: Duration = PERIODIC): Job {
        store.setSyncScheduler(this)
        scheduler.schedulePeriodic(every)
        return scope.launch { network.conditions.collect { onConditionsChanged(it) } }
    }

    /** Forward a change of connectivity as the core's hint (metered ↔ unmetered is no change). */
    fun onConditionsChanged(c: DeviceConditions) {
        val online = c.network != Network.NONE
        if (online == _online.value) return
        // The core answers "restored" (once) through syncWanted(NETWORK_RESTORED).
        store.networkChanged(online)
        _online.value = online
    }

    companion object {
        val PERIODIC: Duration = Duration.ofMinutes(30)
    }

    /** Called by the core on its thread; never throws back into it. */
    override fun syncWanted(reason: SyncReason) {
        try {
            request(
                when (reason) {
                    SyncReason.NETWORK_RESTORED -> SyncTrigger.CONNECTIVITY_REGAINED
                    SyncReason.RECORDED_WHILE_ONLINE -> SyncTrigger.RECORDED
                },
            )
        } catch (e: GridPatrolException) {
            // The store could not be read (closing, say): nothing is scheduled; the periodic
            // work asks again.
        }
    }

    /** Decide for [trigger] now and schedule what the policy says. */
    fun request(trigger: SyncTrigger): SyncDecision {
        val status = store.syncStatus()
        val decision = SyncPolicy.decide(
            SyncInputs(
                conditions = network.conditions.value,
                history = runner.history.value,
                pendingRecords = status.unsent.records.toLong(),
                pendingPhotos = status.photosQueued.toLong(),
                trigger = trigger,
                now = clock.now(),
            ),
        )
        _last.value = decision
        SyncPolicy.requests(decision).forEach(scheduler::enqueue)
        return decision
    }
}
