package org.gridpatrol.app.work

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.OutOfQuotaPolicy
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import java.time.Duration
import java.util.concurrent.TimeUnit
import org.gridpatrol.shell.WorkKind
import org.gridpatrol.shell.WorkRequest
import org.gridpatrol.shell.WorkScheduler

/** The shell's WorkScheduler on WorkManager: unique work per kind, KEEP (debounces). */
class AndroidWorkScheduler(context: Context) : WorkScheduler {
    private val wm = WorkManager.getInstance(context)

    override fun enqueue(request: WorkRequest) {
        val network = if (request.unmeteredOnly) NetworkType.UNMETERED else NetworkType.CONNECTED
        val constraints = Constraints.Builder().setRequiredNetworkType(network).build()
        val work = when (request.kind) {
            WorkKind.SYNC -> OneTimeWorkRequestBuilder<SyncWorker>()
            WorkKind.PHOTO_UPLOAD -> OneTimeWorkRequestBuilder<PhotoUploadWorker>()
        }.setConstraints(constraints)
            .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
            .apply {
                if (request.delay > Duration.ZERO) setInitialDelay(request.delay)
                else if (request.expedited) setExpedited(OutOfQuotaPolicy.RUN_AS_NON_EXPEDITED_WORK_REQUEST)
            }
            .build()
        // An expedited request replaces a queued regular one; otherwise the queued one is kept.
        val policy = if (request.expedited) ExistingWorkPolicy.REPLACE else ExistingWorkPolicy.KEEP
        wm.enqueueUniqueWork(uniqueName(request.kind), policy, work)
    }

    override fun schedulePeriodic(every: Duration) {
        val constraints = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()
        wm.enqueueUniquePeriodicWork(
            "sync-periodic",
            ExistingPeriodicWorkPolicy.KEEP,
            PeriodicWorkRequestBuilder<PeriodicSyncWorker>(every).setConstraints(constraints).build(),
        )
    }

    companion object {
        fun uniqueName(kind: WorkKind) = when (kind) {
            WorkKind.SYNC -> "sync"
            WorkKind.PHOTO_UPLOAD -> "photos"
        }
    }
}
