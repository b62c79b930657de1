package org.gridpatrol.app.platform

import android.annotation.SuppressLint
import android.content.Context
import android.location.Location
import android.os.Build
import com.google.android.gms.location.LocationServices
import com.google.android.gms.location.Priority
import com.google.android.gms.tasks.CancellationTokenSource
import java.time.Instant
import kotlinx.coroutines.suspendCancellableCoroutine
import org.gridpatrol.shell.Fix
import org.gridpatrol.shell.LocationSource
import kotlin.coroutines.resume

/**
 * One fresh fix from FusedLocationProvider, with the OS's mock-location flag (the core flags a
 * mock or weak fix; it never refuses one). The permission is checked by the shell's permission
 * flow before this is called. Phones without Google Play services (most sold in mainland China)
 * need a LocationManager-based LocationSource instead (README.md, "Not done").
 */
class FusedLocationSource(context: Context) : LocationSource {
    private val client = LocationServices.getFusedLocationProviderClient(context)

    @SuppressLint("MissingPermission")
    override suspend fun currentFix(): Fix? = suspendCancellableCoroutine { cont ->
        val cancel = CancellationTokenSource()
        cont.invokeOnCancellation { cancel.cancel() }
        client.getCurrentLocation(Priority.PRIORITY_HIGH_ACCURACY, cancel.token)
            .addOnSuccessListener { loc: Location? -> cont.resume(loc?.toFix()) }
            .addOnFailureListener { cont.resume(null) }
    }
}

private fun Location.toFix() = Fix(
    lat = latitude,
    lng = longitude,
    accuracyM = if (hasAccuracy()) accuracy.toDouble() else null,
    mock = if (Build.VERSION.SDK_INT >= 31) isMock else @Suppress("DEPRECATION") isFromMockProvider,
    at = Instant.ofEpochMilli(time),
)
