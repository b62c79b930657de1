package org.gridpatrol.shell.presenters

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.flatMapLatest
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.model.Action
import org.gridpatrol.core.model.ActionOption
import org.gridpatrol.core.model.TaskActionInput
import org.gridpatrol.core.model.TaskDetail
import org.gridpatrol.core.model.TaskInbox
import org.gridpatrol.core.taskFlow
import org.gridpatrol.core.taskInboxFlow
import org.gridpatrol.protocol.GeoPoint
import org.gridpatrol.protocol.Task
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

// ---------- 任务 task inbox (110 diversion, 12345, 民情清单) ----------

data class TaskInboxState(
    val includeClosed: Boolean = false,
    val inbox: TaskInbox? = null,
)

sealed interface TaskInboxEvent {
    data class ShowClosed(val show: Boolean) : TaskInboxEvent
    data class Open(val taskId: String) : TaskInboxEvent
}

@OptIn(ExperimentalCoroutinesApi::class)
class TaskInboxPresenter(
    private val store: GridPatrolStore,
    private val navigator: Navigator,
    scope: CoroutineScope,
) : Presenter<TaskInboxState, TaskInboxEvent>(TaskInboxState(), scope) {
    private val closed = MutableStateFlow(false)

    init {
        // Tasks HQ dispatches arrive with a sync; the core's stream shows them without polling.
        follow(closed.flatMapLatest { c -> store.taskInboxFlow(c) }) { s, inbox -> s.copy(inbox = inbox) }
    }

    override suspend fun handle(event: TaskInboxEvent) {
        when (event) {
            is TaskInboxEvent.ShowClosed -> {
                set { it.copy(includeClosed = event.show) }
                closed.value = event.show
            }
            is TaskInboxEvent.Open -> navigator.push(Route.Task(event.taskId))
        }
    }
}

// ---------- 任务 one task ----------

data class TaskState(
    val taskId: String,
    val task: TaskDetail? = null,
    /** The result text a step asks for (`steps[].needsResult`), e.g. the send-back reason. */
    val result: String = "",
    val photos: List<String> = emptyList(),
    val updated: Task? = null,
    val confirming: Confirming? = null,
    val busy: Boolean = false,
    val error: ShellError? = null,
)

sealed interface TaskEvent {
    data class SetResult(val text: String) : TaskEvent
    data class PhotoTaken(val path: String) : TaskEvent
    /** One of `task.actions`: a `TaskStep` its status allows. */
    data class Act(val option: ActionOption) : TaskEvent
    data object Confirm : TaskEvent
    data object Dismiss : TaskEvent
}

class TaskPresenter(
    private val store: GridPatrolStore,
    taskId: String,
    private val location: LocationSource,
    private val permissions: PermissionsPresenter,
    private val router: ActionRouter,
    scope: CoroutineScope,
) : Presenter<TaskState, TaskEvent>(TaskState(taskId), scope) {
    init {
        follow(store.taskFlow(taskId), { s, e -> s.copy(error = e) }) { s, t -> s.copy(task = t) }
    }

    override suspend fun handle(event: TaskEvent) {
        when (event) {
            is TaskEvent.SetResult -> set { it.copy(result = event.text) }
            is TaskEvent.PhotoTaken -> set { it.copy(photos = it.photos + event.path) }
            is TaskEvent.Act ->
                if (event.option.confirm != null) set { it.copy(confirming = Confirming(event.option)) }
                else perform(event.option.action)
            TaskEvent.Confirm -> state.value.confirming?.let { c ->
                set { it.copy(confirming = null) }
                perform(c.option.action, confirmed = true)
            }
            TaskEvent.Dismiss -> set { it.copy(confirming = null, error = null) }
        }
    }

    private fun fail(e: ShellError) = set { it.copy(error = e, busy = false) }

    private suspend fun perform(action: Action, confirmed: Boolean = false) {
        if (action !is Action.TaskStep) {
            attempt(::fail) { router.perform(action, confirmed) }
            return
        }
        val s = state.value
        // What the step takes is the core's answer (steps[].needsLocation / needsResult / takesPhotos).
        val step = s.task?.steps?.firstOrNull { it.action == action.action }
        var here: GeoPoint? = null
        if (step?.needsLocation == true) {
            if (!permissions.state.value.granted(Permission.LOCATION)) {
                permissions.onEvent(PermissionEvent.Need(Permission.LOCATION))
                return fail(ShellError(ShellError.Kind.PERMISSION_NEEDED, "location"))
            }
            val fix = location.currentFix() ?: return fail(ShellError(ShellError.Kind.NO_LOCATION, "location"))
            here = GeoPoint(lat = fix.lat, lng = fix.lng)
        }
        set { it.copy(busy = true, error = null) }
        val input = TaskActionInput(
            taskId = action.taskId,
            action = action.action,
            result = s.result.ifBlank { null },
            photos = if (step?.takesPhotos == true) s.photos else emptyList(),
            location = here,
        )
        val task = attempt(::fail) { store.actOnTask(input) } ?: return
        set { it.copy(updated = task, result = "", photos = emptyList(), busy = false) }
    }
}
