package org.gridpatrol.app.platform

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.BatteryManager
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.update
import org.gridpatrol.shell.DeviceConditions
import org.gridpatrol.shell.NetworkMonitor
import org.gridpatrol.shell.Network as ShellNetwork

/** ConnectivityManager's default-network callback and the battery broadcasts, as one StateFlow. */
class AndroidNetworkMonitor(context: Context) : NetworkMonitor {
    private val cm = context.getSystemService(ConnectivityManager::class.java)
    private val state = MutableStateFlow(DeviceConditions(ShellNetwork.NONE))
    override val conditions: StateFlow<DeviceConditions> = state

    init {
        cm.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
                val validated = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
                val unmetered = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
                val n = when {
                    !validated -> ShellNetwork.NONE
                    unmetered -> ShellNetwork.UNMETERED
                    else -> ShellNetwork.METERED
                }
                state.update { it.copy(network = n) }
            }

            override fun onLost(network: Network) = state.update { it.copy(network = ShellNetwork.NONE) }
        })
        val battery = object : BroadcastReceiver() {
            override fun onReceive(c: Context, i: Intent) {
                when (i.action) {
                    Intent.ACTION_BATTERY_LOW -> state.update { it.copy(batteryLow = true) }
                    Intent.ACTION_BATTERY_OKAY -> state.update { it.copy(batteryLow = false) }
                    Intent.ACTION_POWER_CONNECTED -> state.update { it.copy(charging = true) }
                    Intent.ACTION_POWER_DISCONNECTED -> state.update { it.copy(charging = false) }
                }
            }
        }
        val filter = IntentFilter().apply {
            addAction(Intent.ACTION_BATTERY_LOW)
            addAction(Intent.ACTION_BATTERY_OKAY)
            addAction(Intent.ACTION_POWER_CONNECTED)
            addAction(Intent.ACTION_POWER_DISCONNECTED)
        }
        context.registerReceiver(battery, filter)
        val bm = context.getSystemService(BatteryManager::class.java)
        state.update { it.copy(charging = bm.isCharging) }
    }
}
