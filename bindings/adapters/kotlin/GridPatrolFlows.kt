// Screen watches as Kotlin Flows (shipped beside the generated bindings; see bindings/README.md).
// Each flow is cold: collecting it opens a watch on the core, emits the screen now and again each
// time the core's change events make it differ; cancelling the collector closes the watch.
package org.gridpatrol.core

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import org.gridpatrol.core.model.*

/** The flow of a watch object: `open` makes the watch, `next` awaits its next model. */
fun <W : AutoCloseable, T> screenFlow(open: () -> W, next: suspend (W) -> T): Flow<T> = flow {
    open().use { w -> while (true) emit(next(w)) }
}

fun GridPatrolStore.todayFlow(): Flow<TodayView> = screenFlow({ watchToday() }) { it.next() }

fun GridPatrolStore.gridFlow(gridId: String, query: HouseholdQuery = HouseholdQuery()): Flow<GridScreen> =
    screenFlow({ watchGrid(gridId, query) }) { it.next() }

fun GridPatrolStore.patrolFlow(patrolId: String): Flow<PatrolScreen> =
    screenFlow({ watchPatrol(patrolId) }) { it.next() }

fun GridPatrolStore.caseInboxFlow(filter: CaseFilter = CaseFilter()): Flow<CaseInbox> =
    screenFlow({ watchCaseInbox(filter) }) { it.next() }

fun GridPatrolStore.caseFlow(caseId: String): Flow<CaseTimeline> = screenFlow({ watchCase(caseId) }) { it.next() }

fun GridPatrolStore.taskInboxFlow(includeClosed: Boolean = false): Flow<TaskInbox> =
    screenFlow({ watchTaskInbox(includeClosed) }) { it.next() }

fun GridPatrolStore.taskFlow(taskId: String): Flow<TaskDetail> = screenFlow({ watchTask(taskId) }) { it.next() }

fun GridPatrolStore.syncStatusFlow(): Flow<SyncStatusScreen> = screenFlow({ watchSyncStatus() }) { it.next() }
