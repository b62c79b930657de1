package org.gridpatrol.shell.presenters

import kotlinx.coroutines.CoroutineScope
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.model.DeviceInfo
import org.gridpatrol.protocol.Lang
import org.gridpatrol.shell.PermissionEvent
import org.gridpatrol.shell.PermissionState
import org.gridpatrol.shell.PermissionsPresenter
import org.gridpatrol.shell.Presenter

/** 设置 Settings: the labels' language, this device, the permissions. */
data class SettingsState(
    val language: Lang,
    /** The choices (the app labels them from strings.xml: 中文, English, 中文 (English)). */
    val languages: List<Lang>,
    val device: DeviceInfo,
    val permissions: PermissionState,
)

sealed interface SettingsEvent {
    data class SetLanguage(val lang: Lang) : SettingsEvent
    data class Permission(val event: PermissionEvent) : SettingsEvent
}

class SettingsPresenter(
    private val store: GridPatrolStore,
    private val permissions: PermissionsPresenter,
    scope: CoroutineScope,
) : Presenter<SettingsState, SettingsEvent>(
    SettingsState(store.language(), Lang.entries.toList(), store.device(), permissions.state.value),
    scope,
) {
    init {
        follow(permissions.state) { s, p -> s.copy(permissions = p) }
    }

    override suspend fun handle(event: SettingsEvent) {
        when (event) {
            is SettingsEvent.SetLanguage -> {
                // Every screen's labels follow: the core re-emits each watched screen.
                store.setLanguage(event.lang)
                set { it.copy(language = store.language()) }
            }
            is SettingsEvent.Permission -> permissions.onEvent(event.event)
        }
    }
}
