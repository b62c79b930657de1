// The runtime-permission flow (location for check-ins and arrivals, camera for report photos,
// notifications for the photo-upload progress) as a pure state machine. The app feeds it what
// Android answers (ActivityResultContracts.RequestPermission, shouldShowRequestPermissionRationale)
// and shows what `prompt` says; it decides nothing else.
package org.gridpatrol.shell

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

enum class Permission { LOCATION, CAMERA, NOTIFICATIONS }

enum class Grant {
    /** Not asked yet (or not known yet). */
    UNKNOWN,
    GRANTED,
    /** Denied once: explain, then ask again. */
    DENIED_CAN_ASK,
    /** Denied with "don't ask again": only the system settings can change it. */
    DENIED_PERMANENTLY,
}

sealed interface PermissionPrompt {
    data object None : PermissionPrompt
    /** Explain why (e.g. "打卡需要定位 (check-ins need your location)") before asking again. */
    data class Rationale(val permission: Permission) : PermissionPrompt
    /** Launch the system dialog. */
    data class SystemDialog(val permission: Permission) : PermissionPrompt
    /** Offer a button to the app's system settings page. */
    data class OpenSettings(val permission: Permission) : PermissionPrompt
}

data class PermissionState(
    val grants: Map<Permission, Grant> = Permission.entries.associateWith { Grant.UNKNOWN },
    val prompt: PermissionPrompt = PermissionPrompt.None,
) {
    fun granted(p: Permission): Boolean = grants[p] == Grant.GRANTED
}

sealed interface PermissionEvent {
    /** What the OS says on start / resume (ContextCompat.checkSelfPermission). */
    data class OsReports(val permission: Permission, val granted: Boolean) : PermissionEvent
    /** A feature needs the permission now (check-in, camera capture, upload notification). */
    data class Need(val permission: Permission) : PermissionEvent
    data object RationaleAccepted : PermissionEvent
    data object RationaleDeclined : PermissionEvent
    /** The system dialog's answer, with shouldShowRequestPermissionRationale after it. */
    data class DialogResult(val permission: Permission, val granted: Boolean, val canAskAgain: Boolean) : PermissionEvent
    /** Back from the settings page (the OS re-checked). */
    data class ReturnedFromSettings(val permission: Permission, val granted: Boolean) : PermissionEvent
}

object PermissionFlow {
    fun reduce(s: PermissionState, e: PermissionEvent): PermissionState = when (e) {
        is PermissionEvent.OsReports -> {
            val old = s.grants.getValue(e.permission)
            val g = when {
                e.granted -> Grant.GRANTED
                old == Grant.GRANTED -> Grant.UNKNOWN // revoked in settings: ask afresh
                else -> old
            }
            s.copy(grants = s.grants + (e.permission to g))
        }
        is PermissionEvent.Need -> s.copy(
            prompt = when (s.grants.getValue(e.permission)) {
                Grant.GRANTED -> PermissionPrompt.None
                Grant.UNKNOWN -> PermissionPrompt.SystemDialog(e.permission)
                Grant.DENIED_CAN_ASK -> PermissionPrompt.Rationale(e.permission)
                Grant.DENIED_PERMANENTLY -> PermissionPrompt.OpenSettings(e.permission)
            },
        )
        PermissionEvent.RationaleAccepted -> when (val p = s.prompt) {
            is PermissionPrompt.Rationale -> s.copy(prompt = PermissionPrompt.SystemDialog(p.permission))
            else -> s
        }
        PermissionEvent.RationaleDeclined -> if (s.prompt is PermissionPrompt.Rationale) s.copy(prompt = PermissionPrompt.None) else s
        is PermissionEvent.DialogResult -> s.copy(
            grants = s.grants + (
                e.permission to when {
                    e.granted -> Grant.GRANTED
                    e.canAskAgain -> Grant.DENIED_CAN_ASK
                    else -> Grant.DENIED_PERMANENTLY
                }
                ),
            prompt = PermissionPrompt.None,
        )
        is PermissionEvent.ReturnedFromSettings -> s.copy(
            grants = s.grants + (e.permission to if (e.granted) Grant.GRANTED else Grant.DENIED_PERMANENTLY),
            prompt = PermissionPrompt.None,
        )
    }
}

/** The permission flow as a presenter-like holder the screens share. */
class PermissionsPresenter(initial: PermissionState = PermissionState()) {
    private val _state = MutableStateFlow(initial)
    val state: StateFlow<PermissionState> = _state.asStateFlow()

    fun onEvent(e: PermissionEvent) = _state.update { PermissionFlow.reduce(it, e) }
}
