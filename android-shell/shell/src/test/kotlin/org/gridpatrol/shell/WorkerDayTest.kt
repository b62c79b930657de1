// A grid worker's day through the presenters only, against a live `gridpatrol hq serve`: the
// story of issue 13. Fakes stand in only for the platform (network, scheduler, location, keystore).
package org.gridpatrol.shell

import java.time.Instant
import java.util.UUID
import kotlinx.coroutines.runBlocking
import org.gridpatrol.core.model.Action
import org.gridpatrol.protocol.PatrolOutcome
import org.gridpatrol.protocol.PatrolShift
import org.gridpatrol.protocol.ReportCategory
import org.gridpatrol.protocol.TaskAction
import org.gridpatrol.protocol.TaskStatus
import org.gridpatrol.shell.presenters.*
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.BeforeClass
import org.junit.Test

class WorkerDayTest {
    companion object {
        lateinit var hq: Hq

        @BeforeClass @JvmStatic fun startHq() { hq = Hq() }

        @AfterClass @JvmStatic fun stopHq() { hq.stop() }
    }

    @Test fun aWorkersDayThroughThePresenters() = runBlocking<Unit> {
        Phone(hq).use { phone ->
            val nav = phone.navigator
            val perms = phone.permissions

            // 1. Enrol by the code the street office issued.
            val enrol = EnrolmentPresenter(phone.opener, nav, { phone.wire(it) }, phone.scope, defaultHqUrl = hq.url)
            enrol.onEvent(EnrolmentEvent.SetCode(hq.code())).join()
            enrol.onEvent(EnrolmentEvent.Submit).join()
            assertTrue(enrol.state.value.enrolled)
            assertEquals(Route.Home, nav.top)
            await(phone.coordinator.online, "online") { it == true }

            // 2. Home: my grid and the must-visit households.
            val home = HomePresenter(phone.store, nav, phone.router, phone.scope)
            val today = await(home.state, "today") { it.today != null }.today!!
            assertEquals(listOf("g-0101"), today.grids.map { it.id })
            val mustVisit = today.mustVisit.first { it.householdId == "h-0001" }
            assertEquals("陈阿姨", mustVisit.name)

            // 3. Night patrol: the checklist, a good check-in and a weak one (flagged, not refused).
            val night = today.actions.first { (it.action as? Action.StartPatrol)?.shift == PatrolShift.NIGHT }
            home.onEvent(HomeEvent.Act(night)).join()
            val patrolId = (nav.top as Route.Patrol).patrolId
            val patrol = PatrolPresenter(phone.store, patrolId, phone.location, perms, nav, phone.router, phone.scope)
            val checklist = await(patrol.state, "patrol") { it.patrol != null }.patrol!!.checklist
            perms.onEvent(PermissionEvent.Need(Permission.LOCATION))
            assertEquals(PermissionPrompt.SystemDialog(Permission.LOCATION), perms.state.value.prompt)
            perms.onEvent(PermissionEvent.DialogResult(Permission.LOCATION, granted = true, canAskAgain = false))
            for (item in checklist) patrol.onEvent(PatrolEvent.Answered(item.itemId, item.choices.first().value)).join()
            patrol.onEvent(PatrolEvent.CheckIn).join()
            assertTrue(patrol.state.value.lastCheckIn!!.trusted)
            phone.location.next = Fix(INSIDE.lat + 0.0005, INSIDE.lng, 250.0, false, Instant.EPOCH)
            patrol.onEvent(PatrolEvent.CheckIn).join()
            assertFalse(patrol.state.value.lastCheckIn!!.trusted)
            assertEquals(1u, await(home.state, "one weak check-in") { it.today?.patrol?.weakCheckins == 1u }.today!!.patrol!!.weakCheckins)
            phone.location.next = Fix(INSIDE.lat, INSIDE.lng, 6.0, false, Instant.EPOCH)

            // 4. A hazard found on the patrol: the report form with a photo (the fixture JPEG).
            val finding = patrol.state.value.patrol!!.actions.first { it.action is Action.FileReport }
            patrol.onEvent(PatrolEvent.Act(finding)).join()
            val formRoute = nav.top as Route.ReportForm
            assertEquals(patrolId, formRoute.patrolId)
            val report = ReportFormPresenter(phone.store, formRoute.gridId, formRoute.patrolId, phone.location, perms, nav, phone.scope)
            await(report.state, "report form with a fix") { it.form != null && it.draft.location != null }
            report.onEvent(ReportFormEvent.SetCategory(ReportCategory.SAFETY_HAZARD)).join()
            report.onEvent(ReportFormEvent.SetDescription("消防通道堆放杂物 (fire lane blocked)")).join()
            report.onEvent(ReportFormEvent.TakePhoto).join()
            assertEquals(PermissionPrompt.SystemDialog(Permission.CAMERA), perms.state.value.prompt)
            assertFalse(report.state.value.captureRequested)
            perms.onEvent(PermissionEvent.DialogResult(Permission.CAMERA, granted = true, canAskAgain = false))
            report.onEvent(ReportFormEvent.TakePhoto).join()
            assertTrue(report.state.value.captureRequested)
            report.onEvent(ReportFormEvent.PhotoTaken(phone.photo(4))).join()
            report.onEvent(ReportFormEvent.Submit).join()
            val filed = report.state.value.saved ?: throw AssertionError("not filed: ${report.state.value}")
            assertEquals(Route.Case(filed.caseId), nav.top)
            nav.pop()
            val finish = await(patrol.state, "finish offered") { s -> s.patrol!!.actions.any { it.action is Action.FinishPatrol } }
                .patrol!!.actions.first { (it.action as? Action.FinishPatrol)?.outcome == PatrolOutcome.FINDINGS }
            patrol.onEvent(PatrolEvent.Act(finish)).join()
            await(patrol.state, "patrol finished") { it.patrol?.inProgress == false }
            assertTrue(nav.pop()) // back to home
            assertEquals(Route.Home, nav.top)
            // Recorded while online: the core asked, the policy scheduled a regular sync.
            assertTrue(phone.scheduler.enqueued.toList().all { it.kind == WorkKind.SYNC && !it.expedited })
            assertTrue(phone.scheduler.enqueued.isNotEmpty())
            phone.scheduler.enqueued.clear() // (it had not run yet when the network went)

            // 5. Offline: the monitor says so, and the policy schedules nothing, not even "send now".
            phone.network.set(DeviceConditions(Network.NONE))
            await(phone.coordinator.online, "offline") { it == false }
            val sync = SyncStatusPresenter(phone.store, phone.coordinator, phone.runner, phone.router, phone.scope)
            val sendNow = await(sync.state, "sync status") { it.status != null }.status!!.actions.first { it.action is Action.SyncNow }
            sync.onEvent(SyncStatusEvent.Act(sendNow)).join()
            assertEquals(SyncDecision.Nothing(SyncDecision.Why.OFFLINE), phone.coordinator.lastDecision.value)
            assertTrue(phone.scheduler.enqueued.isEmpty())

            // 6. A visit to the must-visit household, offline.
            home.onEvent(HomeEvent.OpenHousehold(mustVisit.householdId)).join()
            assertEquals(Route.VisitForm("h-0001"), nav.top)
            val visitForm = VisitFormPresenter(phone.store, "h-0001", phone.location, perms, nav, phone.scope)
            await(visitForm.state, "visit form") { it.form != null }
            visitForm.onEvent(VisitFormEvent.SetNote("独居老人，身体良好 (lives alone, well)")).join()
            visitForm.onEvent(VisitFormEvent.Submit).join()
            val visit = visitForm.state.value.saved ?: throw AssertionError("not saved: ${visitForm.state.value}")
            assertEquals(Route.Home, nav.top)
            assertTrue("offline: nothing scheduled", phone.scheduler.enqueued.isEmpty())
            val waiting = await(sync.state, "all waiting") { it.status?.unsent?.records?.let { n -> n >= 5uL } == true }
            assertEquals(1u, waiting.status!!.photosQueued)

            // 7. Connectivity returns: the policy asks the scheduler for an expedited sync.
            phone.network.set(DeviceConditions(Network.UNMETERED))
            await(phone.coordinator.online, "online again") { it == true }
            assertEquals(SyncDecision.SyncRecords(expedited = true, photos = PhotoPlan.IN_THIS_SYNC), phone.coordinator.lastDecision.value)
            assertEquals(listOf(WorkRequest(WorkKind.SYNC, expedited = true, unmeteredOnly = false)), phone.scheduler.enqueued.toList())

            // 8. The work runs (as WorkManager would) against the live HQ.
            phone.scheduler.runAll(phone.runner).forEach { r -> r.getOrThrow() }
            assertEquals(LastOutcome.OK, phone.runner.history.value.outcome)
            await(sync.state, "all sent, shown") { s ->
                s.status?.unsent?.records == 0uL && s.status?.photosQueued == 0u && s.history.outcome == LastOutcome.OK
            }
            assertEquals(1, hq.count("patrols", patrolId))
            assertEquals(1, hq.count("reports", filed.id))
            assertEquals(1, hq.count("visits", visit.id))
            val hqPatrol = Regex("\\{[^{}]*\"id\":\"${Regex.escape(patrolId)}\"[^{}]*\\}")
                .find(hq.get("/v1/admin/patrols?from=2000-01-01&to=2100-01-01"))!!.value
            assertTrue(hqPatrol, Regex("\"checkins\":2\\b").containsMatchIn(hqPatrol))
            val photo = hq.bytes("/v1/admin/attachments/${filed.photos.single()}")
            assertEquals(filed.photos.single(), java.security.MessageDigest.getInstance("SHA-256").digest(photo).joinToString("") { "%02x".format(it) })

            // 9. HQ dispatches a 110 diversion task; the periodic pull brings it and the task
            // inbox presenter shows it through the core's change stream.
            val inbox = TaskInboxPresenter(phone.store, nav, phone.scope)
            await(inbox.state, "task inbox") { it.inbox != null }
            val taskId = "t-day-" + UUID.randomUUID().toString().take(8)
            hq.dispatch110(taskId, "u-day-" + UUID.randomUUID().toString().take(8))
            assertEquals(SyncDecision.SyncRecords(false, PhotoPlan.NONE), phone.coordinator.request(SyncTrigger.PERIODIC))
            phone.scheduler.runAll(phone.runner).forEach { r -> r.getOrThrow() }
            await(inbox.state, "the 110 task") { s -> s.inbox!!.tasks.any { it.id == taskId } }
            inbox.onEvent(TaskInboxEvent.Open(taskId)).join()

            // 10. Acknowledge, arrive (a fix), complete (a result).
            val task = TaskPresenter(phone.store, taskId, phone.location, perms, phone.router, phone.scope)
            suspend fun step(a: TaskAction) {
                val opt = await(task.state, "step $a") { s -> s.task?.actions?.any { (it.action as? Action.TaskStep)?.action == a } == true }
                    .task!!.actions.first { (it.action as? Action.TaskStep)?.action == a }
                task.onEvent(TaskEvent.Act(opt)).join()
                assertNull("$a: ${task.state.value.error}", task.state.value.error)
            }
            step(TaskAction.ACKNOWLEDGE)
            step(TaskAction.ARRIVE)
            task.onEvent(TaskEvent.SetResult("双方调解成功 (settled)")).join()
            step(TaskAction.COMPLETE)
            assertEquals(TaskStatus.DONE, task.state.value.updated!!.status)
            await(task.state, "done") { it.task?.status == TaskStatus.DONE }

            // The steps go out with the next sync; HQ shows the task done.
            sync.onEvent(SyncStatusEvent.Act(sendNow)).join()
            phone.scheduler.runAll(phone.runner).forEach { r -> r.getOrThrow() }
            await(sync.state, "steps sent") { it.status?.unsent?.records == 0uL }
            val hqTask = Regex("\"id\":\"${Regex.escape(taskId)}\"[^{}]*\"status\":\"\\w+\"").find(hq.get("/v1/admin/tasks"))!!.value
            assertTrue(hqTask, hqTask.endsWith("\"status\":\"done\""))
        }
    }
}
