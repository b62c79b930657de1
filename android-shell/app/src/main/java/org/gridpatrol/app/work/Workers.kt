package org.gridpatrol.app.work

import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.content.pm.ServiceInfo
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.work.CoroutineWorker
import androidx.work.ForegroundInfo
import androidx.work.WorkerParameters
import org.gridpatrol.app.GridPatrolApp
import org.gridpatrol.app.R
import org.gridpatrol.shell.SyncTrigger
import org.gridpatrol.shell.WorkKind
import org.gridpatrol.shell.WorkRequest

// Every worker runs the shell's SyncRunner.run (the one call into the core's sync). A failure
// is not retried by WorkManager: the runner records it and the policy's back-off decides.

/** The records sync (unique work "sync"): expedited for "send now" and reconnects. */
class SyncWorker(ctx: Context, params: WorkerParameters) : CoroutineWorker(ctx, params) {
    override suspend fun doWork(): Result {
        val graph = GridPatrolApp.graph(applicationContext) ?: return Result.success() // not enrolled
        graph.runner.run(WorkRequest(WorkKind.SYNC, expedited = false, unmeteredOnly = false))
            .onFailure { graph.coordinator.request(SyncTrigger.PERIODIC) } // schedules the back-off
        return Result.success()
    }

    // Expedited work on Android < 12 runs as a foreground service and needs a notification.
    override suspend fun getForegroundInfo(): ForegroundInfo = progressInfo(applicationContext, 0, 0)
}

/** The periodic pull (every 30 min with a network): asks the policy, which may wait. */
class PeriodicSyncWorker(ctx: Context, params: WorkerParameters) : CoroutineWorker(ctx, params) {
    override suspend fun doWork(): Result {
        GridPatrolApp.graph(applicationContext)?.coordinator?.request(SyncTrigger.PERIODIC)
        return Result.success()
    }
}

/** Photo uploads on an unmetered network (unique work "photos"), with a progress notification. */
class PhotoUploadWorker(ctx: Context, params: WorkerParameters) : CoroutineWorker(ctx, params) {
    override suspend fun doWork(): Result {
        val graph = GridPatrolApp.graph(applicationContext) ?: return Result.success()
        setForeground(progressInfo(applicationContext, 0, 0))
        graph.runner.run(WorkRequest(WorkKind.PHOTO_UPLOAD, expedited = false, unmeteredOnly = true)) { p ->
            setForegroundAsync(progressInfo(applicationContext, p.done.toInt(), p.total.toInt()))
        }
        return Result.success()
    }
}

private const val CHANNEL = "sync"
private const val NOTIFICATION_ID = 42

private fun progressInfo(ctx: Context, done: Int, total: Int): ForegroundInfo {
    val nm = ctx.getSystemService(NotificationManager::class.java)
    if (Build.VERSION.SDK_INT >= 26) {
        nm.createNotificationChannel(
            NotificationChannel(CHANNEL, ctx.getString(R.string.notification_channel_sync), NotificationManager.IMPORTANCE_LOW),
        )
    }
    val n = NotificationCompat.Builder(ctx, CHANNEL)
        .setSmallIcon(android.R.drawable.stat_sys_upload)
        .setContentTitle(ctx.getString(R.string.notification_uploading))
        .setProgress(total, done, total == 0)
        .setOngoing(true)
        .build()
    return if (Build.VERSION.SDK_INT >= 29) ForegroundInfo(NOTIFICATION_ID, n, ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC)
    else ForegroundInfo(NOTIFICATION_ID, n)
}
