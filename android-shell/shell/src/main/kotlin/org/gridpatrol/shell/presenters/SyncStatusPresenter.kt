package org.gridpatrol.shell.presenters

import kotlinx.coroutines.CoroutineScope
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.model.ActionOption
import org.gridpatrol.core.model.SyncStatusScreen
import org.gridpatrol.core.syncStatusFlow
import org.gridpatrol.shell.ActionRouter
import org.gridpatrol.shell.Confirming
import org.gridpatrol.shell.Presenter
import org.gridpatrol.shell.ShellError
import org.gridpatrol.shell.SyncCoordinator
import org.gridpatrol.shell.SyncDecision
import org.gridpatrol.shell.SyncHistory
import org.gridpatrol.shell.SyncRunner

/** 同步 Unsent work, refused records with HQ's reason, photos queued, the last decision. */
data class SyncStatusState(
    val status: SyncStatusScreen? = null,
    /** What the policy decided last ("offline: waiting", "scheduled", "retry in 2 min"). */
    val decision: SyncDecision? = null,
    val history: SyncHistory = SyncHistory(),
    val confirming: Confirming? = null,
    val busy: Boolean = false,
    val error: ShellError? = null,
)

sealed interface SyncStatusEvent {
    /** One of `status.actions` or a rejected item's: sync now, retry, discard (asks first). */
    data class Act(val option: ActionOption) : SyncStatusEvent
    data object Confirm : SyncStatusEvent
    data object Dismiss : SyncStatusEvent
}

class SyncStatusPresenter(
    store: GridPatrolStore,
    coordinator: SyncCoordinator,
    runner: SyncRunner,
    private val router: ActionRouter,
    scope: CoroutineScope,
) : Presenter<SyncStatusState, SyncStatusEvent>(SyncStatusState(), scope) {
    init {
        follow(store.syncStatusFlow(), { s, e -> s.copy(error = e) }) { s, st -> s.copy(status = st) }
        follow(coordinator.lastDecision) { s, d -> s.copy(decision = d) }
        follow(runner.history) { s, h -> s.copy(history = h) }
    }

    override suspend fun handle(event: SyncStatusEvent) {
        when (event) {
            is SyncStatusEvent.Act ->
                if (event.option.confirm != null) set { it.copy(confirming = Confirming(event.option)) }
                else perform(event.option)
            SyncStatusEvent.Confirm -> state.value.confirming?.let { c ->
                set { it.copy(confirming = null) }
                perform(c.option, confirmed = true)
            }
            SyncStatusEvent.Dismiss -> set { it.copy(confirming = null, error = null) }
        }
    }

    private suspend fun perform(option: ActionOption, confirmed: Boolean = false) {
        set { it.copy(busy = true, error = null) }
        attempt({ e -> set { it.copy(error = e) } }) { router.perform(option.action, confirmed) }
        set { it.copy(busy = false) }
    }
}
