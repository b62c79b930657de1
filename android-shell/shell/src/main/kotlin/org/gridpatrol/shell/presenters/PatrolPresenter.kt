package org.gridpatrol.shell.presenters

import kotlinx.coroutines.CoroutineScope
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.model.Action
import org.gridpatrol.core.model.ActionOption
import org.gridpatrol.core.model.CheckInInput
import org.gridpatrol.core.model.PatrolScreen
import org.gridpatrol.core.patrolFlow
import org.gridpatrol.protocol.Answer
import org.gridpatrol.protocol.ChecklistAnswer
import org.gridpatrol.protocol.Checkpoint
import org.gridpatrol.protocol.GeoPoint
import org.gridpatrol.shell.ActionRouter
import org.gridpatrol.shell.Confirming
import org.gridpatrol.shell.LocationSource
import org.gridpatrol.shell.Navigator
import org.gridpatrol.shell.Permission
import org.gridpatrol.shell.PermissionEvent
import org.gridpatrol.shell.PermissionsPresenter
import org.gridpatrol.shell.Presenter
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.ShellError

/** 巡查 A patrol: checkpoints with their flags, the checklist form, the three parts. */
data class PatrolState(
    val patrolId: String,
    val patrol: PatrolScreen? = null,
    /** The checklist answers being filled in (item id → answer), sent with the next check-in. */
    val answers: Map<String, Answer> = emptyMap(),
    /** The check-in just recorded (its `trusted` flag says whether the fix counted). */
    val lastCheckIn: Checkpoint? = null,
    val confirming: Confirming? = null,
    val busy: Boolean = false,
    val error: ShellError? = null,
)

sealed interface PatrolEvent {
    data class Answered(val itemId: String, val answer: Answer) : PatrolEvent
    /** Check in here: a fresh fix from the LocationSource, with the checklist answers. */
    data object CheckIn : PatrolEvent
    /** One of `patrol.actions` (check in, finish with an outcome, report a finding). */
    data class Act(val option: ActionOption) : PatrolEvent
    data object Confirm : PatrolEvent
    data object Dismiss : PatrolEvent
}

class PatrolPresenter(
    private val store: GridPatrolStore,
    patrolId: String,
    private val location: LocationSource,
    private val permissions: PermissionsPresenter,
    private val navigator: Navigator,
    private val router: ActionRouter,
    scope: CoroutineScope,
) : Presenter<PatrolState, PatrolEvent>(PatrolState(patrolId), scope) {
    init {
        follow(store.patrolFlow(patrolId), { s, e -> s.copy(error = e) }) { s, p ->
            // Answers already recorded seed the form; the worker's own choices win.
            val recorded = p.checklist.mapNotNull { item -> item.answered?.let { item.itemId to it } }.toMap()
            s.copy(patrol = p, answers = recorded + s.answers)
        }
    }

    override suspend fun handle(event: PatrolEvent) {
        when (event) {
            is PatrolEvent.Answered -> set { it.copy(answers = it.answers + (event.itemId to event.answer)) }
            PatrolEvent.CheckIn -> checkIn()
            is PatrolEvent.Act ->
                if (event.option.confirm != null) set { it.copy(confirming = Confirming(event.option)) }
                else perform(event.option.action)
            PatrolEvent.Confirm -> state.value.confirming?.let { c ->
                set { it.copy(confirming = null) }
                perform(c.option.action, confirmed = true)
            }
            PatrolEvent.Dismiss -> set { it.copy(confirming = null, error = null) }
        }
    }

    private suspend fun perform(action: Action, confirmed: Boolean = false) {
        when (action) {
            is Action.CheckIn -> checkIn()
            is Action.FileReport -> navigator.push(Route.ReportForm(action.gridId, state.value.patrolId))
            else -> attempt(::fail) { router.perform(action, confirmed) }
        }
    }

    private fun fail(e: ShellError) = set { it.copy(error = e, busy = false) }

    private suspend fun checkIn() {
        if (!permissions.state.value.granted(Permission.LOCATION)) {
            permissions.onEvent(PermissionEvent.Need(Permission.LOCATION))
            fail(ShellError(ShellError.Kind.PERMISSION_NEEDED, "location"))
            return
        }
        set { it.copy(busy = true, error = null) }
        val fix = location.currentFix() ?: return fail(ShellError(ShellError.Kind.NO_LOCATION, "location"))
        val s = state.value
        val input = CheckInInput(
            location = GeoPoint(lat = fix.lat, lng = fix.lng),
            accuracyM = fix.accuracyM,
            answers = s.answers.map { (item, answer) -> ChecklistAnswer(itemId = item, answer = answer) },
            mockLocation = fix.mock,
        )
        val cp = attempt(::fail) { store.checkIn(s.patrolId, input) } ?: return
        set { it.copy(lastCheckIn = cp, busy = false) }
    }
}
