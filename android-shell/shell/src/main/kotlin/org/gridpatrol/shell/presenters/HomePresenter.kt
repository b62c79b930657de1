package org.gridpatrol.shell.presenters

import kotlinx.coroutines.CoroutineScope
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.model.ActionOption
import org.gridpatrol.core.model.TodayView
import org.gridpatrol.core.todayFlow
import org.gridpatrol.shell.ActionRouter
import org.gridpatrol.shell.Confirming
import org.gridpatrol.shell.Navigator
import org.gridpatrol.shell.Presenter
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.ShellError

/** 今日 Home: the core's `today()` as it changes, and its actions. */
data class HomeState(
    val today: TodayView? = null,
    val confirming: Confirming? = null,
    val busy: Boolean = false,
    val error: ShellError? = null,
)

sealed interface HomeEvent {
    /** One of `today.actions` (start a patrol, check in, finish, file a report, sync now). */
    data class Act(val option: ActionOption) : HomeEvent
    data object Confirm : HomeEvent
    data object Dismiss : HomeEvent
    data class OpenGrid(val gridId: String) : HomeEvent
    data class OpenHousehold(val householdId: String) : HomeEvent
    data class OpenCase(val caseId: String) : HomeEvent
    data class OpenTask(val taskId: String) : HomeEvent
    data class OpenPatrol(val patrolId: String) : HomeEvent
    data class Go(val route: Route) : HomeEvent
}

class HomePresenter(
    private val store: GridPatrolStore,
    private val navigator: Navigator,
    private val router: ActionRouter,
    scope: CoroutineScope,
) : Presenter<HomeState, HomeEvent>(HomeState(), scope) {
    init {
        follow(store.todayFlow(), { s, e -> s.copy(error = e) }) { s, today -> s.copy(today = today) }
    }

    override suspend fun handle(event: HomeEvent) {
        when (event) {
            is HomeEvent.Act ->
                if (event.option.confirm != null) set { it.copy(confirming = Confirming(event.option)) }
                else perform(event.option)
            HomeEvent.Confirm -> state.value.confirming?.let { c ->
                set { it.copy(confirming = null) }
                perform(c.option, confirmed = true)
            }
            HomeEvent.Dismiss -> set { it.copy(confirming = null, error = null) }
            is HomeEvent.OpenGrid -> navigator.push(Route.Grid(event.gridId))
            is HomeEvent.OpenHousehold -> navigator.push(Route.VisitForm(event.householdId))
            is HomeEvent.OpenCase -> navigator.push(Route.Case(event.caseId))
            is HomeEvent.OpenTask -> navigator.push(Route.Task(event.taskId))
            is HomeEvent.OpenPatrol -> navigator.push(Route.Patrol(event.patrolId))
            is HomeEvent.Go -> navigator.push(event.route)
        }
    }

    private suspend fun perform(option: ActionOption, confirmed: Boolean = false) {
        set { it.copy(busy = true, error = null) }
        attempt({ e -> set { it.copy(error = e) } }) { router.perform(option.action, confirmed) }
        set { it.copy(busy = false) }
    }
}
