// Opening the worker's store: enrol once with the code from the street office, open on later
// launches. The store is encrypted (SQLCipher) with the key the platform's [KeyProvider] gives
// (Android: KeystoreKeyProvider in app/, 32 random bytes wrapped by an Android Keystore key in
// noBackupFilesDir). The installation id is made once and kept in the KeyStore (Android: outside
// backups), so a store restored onto another phone notices it is a copy (bindings/README.md).
//
// This is the one place the shell hands the key provider to the core: the enrolment presenter
// enrols through it, and the app opens here the store every other presenter and the SyncRunner
// (also in a process WorkManager started) work on.
package org.gridpatrol.shell

import java.io.File
import java.util.UUID
import org.gridpatrol.core.DeviceSettings
import org.gridpatrol.core.GridPatrolException
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.KeyProvider

class StoreOpener(
    private val folder: File,
    private val keyStore: KeyStore,
    /** The store's encryption key (the bindings' foreign trait; see [KeyProvider]). */
    private val keys: KeyProvider,
    /** Android's ANDROID_ID, proposed as the device id at enrolment. */
    private val deviceId: String?,
    private val settings: (DeviceSettings) -> DeviceSettings = { it },
) {
    private fun installationId(): String =
        keyStore.get(INSTALLATION_ID) ?: UUID.randomUUID().toString().also { keyStore.put(INSTALLATION_ID, it) }

    private fun deviceSettings() = settings(DeviceSettings(deviceId = deviceId, installationId = installationId()))

    /**
     * The store enrolled earlier, or null when there is none (then the app shows enrolment).
     * Throws the core's typed errors otherwise: `KeyUnavailable` (the Keystore could not give
     * the key: try again later, nothing was changed), `StoreKeyWrong` (the key does not open the
     * store: the Keystore lost or replaced it).
     */
    fun openExisting(): GridPatrolStore? = try {
        GridPatrolStore.open(folder.path, deviceSettings(), keys)
    } catch (e: GridPatrolException.NotInitialised) {
        null
    }

    suspend fun enrol(hqUrl: String, code: String): GridPatrolStore =
        GridPatrolStore.enrol(folder.path, hqUrl, code, deviceSettings(), keys)

    companion object {
        const val INSTALLATION_ID = "installation-id"
    }
}
