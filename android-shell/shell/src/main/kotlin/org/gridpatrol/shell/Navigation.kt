// Navigation state: a back stack of routes. The app's NavHost (or a `when` over the top route)
// renders the top; presenters push and pop through [Navigator].
package org.gridpatrol.shell

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

sealed interface Route {
    data object Enrolment : Route
    data object Home : Route
    data class Grid(val gridId: String) : Route
    data class Patrol(val patrolId: String) : Route
    data class VisitForm(val householdId: String) : Route
    data class ReportForm(val gridId: String?, val patrolId: String? = null) : Route
    data object CaseInbox : Route
    data class Case(val caseId: String) : Route
    data object TaskInbox : Route
    data class Task(val taskId: String) : Route
    data object SyncStatus : Route
    data object Settings : Route
}

class Navigator(start: Route) {
    private val _stack = MutableStateFlow(listOf(start))
    val stack: StateFlow<List<Route>> = _stack.asStateFlow()
    val top: Route get() = _stack.value.last()

    fun push(r: Route) = _stack.update { if (it.last() == r) it else it + r }

    /** Back; false when already at the root (the activity finishes). */
    fun pop(): Boolean {
        var popped = false
        _stack.update { if (it.size > 1) { popped = true; it.dropLast(1) } else it }
        return popped
    }

    /** Replace the current route (e.g. a finished form shows what it made). */
    fun replace(r: Route) = _stack.update { it.dropLast(1) + r }

    /** Start over from [r] (after enrolment: home). */
    fun resetTo(r: Route) = _stack.update { listOf(r) }
}
