package org.gridpatrol.shell.presenters

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.flatMapLatest
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.gridFlow
import org.gridpatrol.core.model.ActionOption
import org.gridpatrol.core.model.GridScreen
import org.gridpatrol.core.model.HouseholdQuery
import org.gridpatrol.protocol.CareTag
import org.gridpatrol.shell.ActionRouter
import org.gridpatrol.shell.Navigator
import org.gridpatrol.shell.Presenter
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.ShellError
import org.gridpatrol.shell.results

/** 网格 A grid: boundary, buildings, the household search (the core filters and sorts). */
data class GridState(
    val gridId: String,
    val query: HouseholdQuery = HouseholdQuery(),
    val grid: GridScreen? = null,
    val error: ShellError? = null,
)

sealed interface GridEvent {
    data class Search(val text: String) : GridEvent
    data class FilterCareTag(val tag: CareTag?) : GridEvent
    data class FilterBuilding(val building: String?) : GridEvent
    /** One of `grid.actions` (record a visit per household, file a report). */
    data class Act(val option: ActionOption) : GridEvent
    data class OpenHousehold(val householdId: String) : GridEvent
    data class OpenCase(val caseId: String) : GridEvent
    data class OpenPatrol(val patrolId: String) : GridEvent
}

@OptIn(ExperimentalCoroutinesApi::class)
class GridPresenter(
    private val store: GridPatrolStore,
    gridId: String,
    private val navigator: Navigator,
    private val router: ActionRouter,
    scope: CoroutineScope,
) : Presenter<GridState, GridEvent>(GridState(gridId), scope) {
    private val query = MutableStateFlow(HouseholdQuery())

    init {
        // A new query re-opens the core's watch with it.
        follow(query.flatMapLatest { q -> store.gridFlow(gridId, q).results() }) { s, r ->
            r.fold({ s.copy(grid = it, error = null) }, { s.copy(error = ShellError.of(it)) })
        }
    }

    override suspend fun handle(event: GridEvent) {
        when (event) {
            is GridEvent.Search -> setQuery(query.value.copy(text = event.text.ifBlank { null }))
            is GridEvent.FilterCareTag -> setQuery(query.value.copy(careTag = event.tag))
            is GridEvent.FilterBuilding -> setQuery(query.value.copy(building = event.building))
            is GridEvent.Act -> attempt({ e -> set { it.copy(error = e) } }) { router.perform(event.option.action) }
            is GridEvent.OpenHousehold -> navigator.push(Route.VisitForm(event.householdId))
            is GridEvent.OpenCase -> navigator.push(Route.Case(event.caseId))
            is GridEvent.OpenPatrol -> navigator.push(Route.Patrol(event.patrolId))
        }
    }

    private fun setQuery(q: HouseholdQuery) {
        set { it.copy(query = q) }
        query.value = q
    }
}
