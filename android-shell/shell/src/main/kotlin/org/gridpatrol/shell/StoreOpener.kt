// Opening the worker's store: enrol once with the code from the street office, open on later
// launches. The installation id is made once and kept in the KeyStore (Android: outside
// backups), so a store restored onto another phone notices it is a copy (bindings/README.md).
package org.gridpatrol.shell

import java.io.File
import java.util.UUID
import org.gridpatrol.core.DeviceSettings
import org.gridpatrol.core.GridPatrolException
import org.gridpatrol.core.GridPatrolStore

class StoreOpener(
    private val folder: File,
    private val keyStore: KeyStore,
    /** Android's ANDROID_ID, proposed as the device id at enrolment. */
    private val deviceId: String?,
    private val settings: (DeviceSettings) -> DeviceSettings = { it },
) {
    private fun installationId(): String =
        keyStore.get(INSTALLATION_ID) ?: UUID.randomUUID().toString().also { keyStore.put(INSTALLATION_ID, it) }

    private fun deviceSettings() = settings(DeviceSettings(deviceId = deviceId, installationId = installationId()))

    /** The store enrolled earlier, or null (then the app shows enrolment). */
    fun openExisting(): GridPatrolStore? = try {
        GridPatrolStore.open(folder.path, deviceSettings())
    } catch (e: GridPatrolException.NotInitialised) {
        null
    }

    suspend fun enrol(hqUrl: String, code: String): GridPatrolStore =
        GridPatrolStore.enrol(folder.path, hqUrl, code, deviceSettings())

    companion object {
        const val INSTALLATION_ID = "installation-id"
    }
}
