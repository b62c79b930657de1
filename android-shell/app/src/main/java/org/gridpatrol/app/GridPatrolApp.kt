package org.gridpatrol.app

import android.app.Application
import android.content.Context
import android.provider.Settings
import java.io.File
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import org.gridpatrol.app.platform.AndroidKeyStore
import org.gridpatrol.app.platform.AndroidNetworkMonitor
import org.gridpatrol.app.platform.FusedLocationSource
import org.gridpatrol.app.platform.KeystoreKeyProvider
import org.gridpatrol.app.work.AndroidWorkScheduler
import org.gridpatrol.core.GridPatrolException
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.shell.ActionRouter
import org.gridpatrol.shell.Navigator
import org.gridpatrol.shell.PermissionsPresenter
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.ShellError
import org.gridpatrol.shell.StoreOpener
import org.gridpatrol.shell.SyncCoordinator
import org.gridpatrol.shell.SyncRunner
import org.gridpatrol.shell.SystemClock

/** What one process holds once the worker is enrolled: one store handle, the sync path. */
class AppGraph(val store: GridPatrolStore, app: GridPatrolApp) {
    val runner = SyncRunner(store, SystemClock, app.network)
    val coordinator = SyncCoordinator(store, app.network, app.scheduler, runner, SystemClock)
    val router = ActionRouter(store, app.navigator, coordinator)

    init {
        coordinator.attach(app.scope)
    }
}

class GridPatrolApp : Application() {
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val keyStore by lazy { AndroidKeyStore(this) }
    /** The store's encryption key: random bytes wrapped by an Android Keystore key. */
    val storeKeys by lazy { KeystoreKeyProvider(this) }
    val network by lazy { AndroidNetworkMonitor(this) }
    val scheduler by lazy { AndroidWorkScheduler(this) }
    val location by lazy { FusedLocationSource(this) }
    val permissions = PermissionsPresenter()
    val navigator = Navigator(Route.Enrolment)
    val opener by lazy {
        StoreOpener(
            File(filesDir, "gridpatrol"),
            keyStore,
            storeKeys,
            deviceId = Settings.Secure.getString(contentResolver, Settings.Secure.ANDROID_ID),
        )
    }

    @Volatile var graph: AppGraph? = null
        private set

    /** Why the enrolled store could not be opened at launch (the key store), for the screens. */
    @Volatile var openError: ShellError? = null
        private set

    fun onStore(store: GridPatrolStore) {
        graph = AppGraph(store, this)
    }

    /** Open the enrolled store with the Keystore's key, once; null when there is none or it failed. */
    @Synchronized
    fun openGraph(): AppGraph? {
        graph?.let { return it }
        return try {
            opener.openExisting()?.let { store ->
                onStore(store)
                openError = null
                navigator.resetTo(Route.Home)
                graph
            }
        } catch (e: GridPatrolException) {
            // KeyUnavailable (the Keystore failed: a later launch or worker tries again) or
            // StoreKeyWrong (the key is gone: the store stays as it is, unreadable; HQ has what
            // was synced). Never delete the store here.
            openError = ShellError.of(e)
            null
        }
    }

    override fun onCreate() {
        super.onCreate()
        openGraph()
    }

    companion object {
        /** For workers, which WorkManager may start in a fresh process: opened on first use. */
        fun graph(context: Context): AppGraph? = (context.applicationContext as GridPatrolApp).openGraph()
    }
}
