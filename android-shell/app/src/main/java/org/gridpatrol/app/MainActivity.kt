package org.gridpatrol.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.BackHandler
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import org.gridpatrol.app.ui.*
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.presenters.*

/** The one activity: renders the top of the shell's back stack. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = application as GridPatrolApp
        setContent {
            MaterialTheme {
                val stack by app.navigator.stack.collectAsStateWithLifecycle()
                BackHandler(enabled = stack.size > 1) { app.navigator.pop() }
                PermissionHost(app.permissions)
                Screen(app, stack.last())
            }
        }
    }
}

@Composable
private fun Screen(app: GridPatrolApp, route: Route) {
    val g = app.graph
    if (g == null || route == Route.Enrolment) {
        val p = presenter(route) { scope -> EnrolmentPresenter(app.opener, app.navigator, app::onStore, scope) }
        return EnrolmentScreen(p, app.openError)
    }
    val nav = app.navigator
    when (route) {
        Route.Enrolment -> Unit
        Route.Home -> HomeScreen(presenter(route) { HomePresenter(g.store, nav, g.router, it) })
        is Route.Grid -> GridScreen(presenter(route) { GridPresenter(g.store, route.gridId, nav, g.router, it) })
        is Route.Patrol -> PatrolScreen(
            presenter(route) { PatrolPresenter(g.store, route.patrolId, app.location, app.permissions, nav, g.router, it) },
        )
        is Route.VisitForm -> VisitFormScreen(
            presenter(route) { VisitFormPresenter(g.store, route.householdId, app.location, app.permissions, nav, it) },
        )
        is Route.ReportForm -> ReportFormScreen(
            presenter(route) { ReportFormPresenter(g.store, route.gridId, route.patrolId, app.location, app.permissions, nav, it) },
        )
        Route.CaseInbox -> CaseInboxScreen(presenter(route) { CaseInboxPresenter(g.store, nav, it) })
        is Route.Case -> CaseScreen(presenter(route) { CasePresenter(g.store, route.caseId, g.router, it) })
        Route.TaskInbox -> TaskInboxScreen(presenter(route) { TaskInboxPresenter(g.store, nav, it) })
        is Route.Task -> TaskScreen(
            presenter(route) { TaskPresenter(g.store, route.taskId, app.location, app.permissions, g.router, it) },
        )
        Route.SyncStatus -> SyncStatusScreen(
            presenter(route) { SyncStatusPresenter(g.store, g.coordinator, g.runner, g.router, it) },
        )
        Route.Settings -> SettingsScreen(presenter(route) { SettingsPresenter(g.store, app.permissions, it) })
    }
}
