// The one mapping from the core's `Action` (each screen's buttons) to what the shell does:
// a core call, a scheduled sync, or a navigation to the screen that collects the rest of the
// input (the checklist for a check-in, the clear items for a case step, a result or a fix for
// a task step). bindings/README.md lists the same mapping.
package org.gridpatrol.shell

import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.model.Action
import org.gridpatrol.core.model.ActionOption

class ActionRouter(
    private val store: GridPatrolStore,
    private val navigator: Navigator,
    private val sync: SyncCoordinator,
) {
    /**
     * Perform [action]; screens that own a form intercept theirs before calling this.
     * [confirmed]: the worker said yes to the action's `confirm` question (discarding a refused
     * record needs it; the core refuses the discard without it).
     */
    suspend fun perform(action: Action, confirmed: Boolean = false) {
        when (action) {
            is Action.StartPatrol -> {
                val patrol = store.startPatrol(action.gridId, action.shift)
                navigator.push(Route.Patrol(patrol.id))
            }
            is Action.CheckIn -> navigator.push(Route.Patrol(action.patrolId))
            is Action.FinishPatrol -> store.finishPatrol(action.patrolId, action.outcome, null)
            is Action.RecordVisit -> navigator.push(Route.VisitForm(action.householdId))
            is Action.FileReport -> navigator.push(Route.ReportForm(action.gridId))
            is Action.CaseStep -> navigator.push(Route.Case(action.caseId))
            is Action.TaskStep -> navigator.push(Route.Task(action.taskId))
            is Action.RetryRejected -> store.retryRejected(action.seq)
            is Action.DiscardRejected -> store.discardRejected(action.seq, confirmed)
            Action.SyncNow -> sync.request(SyncTrigger.SEND_NOW)
        }
    }
}

/** The confirm-first step every screen shares: an action with `confirm` waits for a yes. */
data class Confirming(val option: ActionOption)
