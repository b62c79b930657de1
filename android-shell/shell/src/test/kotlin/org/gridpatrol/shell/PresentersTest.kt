// Each presenter against a real store (the core through JNA) enrolled at a live HQ: the state
// it emits for each event.
package org.gridpatrol.shell

import java.time.Instant
import kotlinx.coroutines.runBlocking
import org.gridpatrol.core.GridPatrolException
import org.gridpatrol.core.model.Action
import org.gridpatrol.core.model.CaseFilter
import org.gridpatrol.protocol.Answer
import org.gridpatrol.protocol.CaseState
import org.gridpatrol.protocol.Lang
import org.gridpatrol.protocol.PatrolOutcome
import org.gridpatrol.protocol.PatrolShift
import org.gridpatrol.protocol.ReportCategory
import org.gridpatrol.protocol.TaskAction
import org.gridpatrol.protocol.VisitType
import org.gridpatrol.shell.presenters.*
import org.junit.After
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.BeforeClass
import org.junit.Test

class PresentersTest {
    companion object {
        lateinit var hq: Hq

        @BeforeClass @JvmStatic fun startHq() { hq = Hq() }

        @AfterClass @JvmStatic fun stopHq() { hq.stop() }
    }

    private lateinit var phone: Phone

    @Before fun setUp() { phone = Phone(hq) }

    @After fun tearDown() = phone.close()

    private fun enrolled() = runBlocking { phone.enrolDirectly(); phone.navigator.resetTo(Route.Home) }

    @Test fun enrolmentByCodeAndQr() = runBlocking<Unit> {
        var got: org.gridpatrol.core.GridPatrolStore? = null
        assertNull("nothing enrolled yet: the app shows enrolment", phone.opener.openExisting())
        val p = EnrolmentPresenter(phone.opener, phone.navigator, { got = it }, phone.scope)
        p.onEvent(EnrolmentEvent.Submit).join()
        assertEquals(ShellError(ShellError.Kind.INVALID_INPUT, "hqUrl"), p.state.value.error)

        p.onEvent(EnrolmentEvent.Scanned("gridpatrol://enrol?hq=${java.net.URLEncoder.encode(hq.url, Charsets.UTF_8)}&code=WRNG-CODE-0000")).join()
        assertEquals(hq.url, p.state.value.hqUrl)
        assertEquals("WRNG-CODE-0000", p.state.value.code)
        p.onEvent(EnrolmentEvent.Submit).join()
        assertEquals(ShellError.Kind.CODE_INVALID, p.state.value.error?.kind)
        assertFalse(p.state.value.enrolled)
        assertEquals(Route.Enrolment, phone.navigator.top)

        p.onEvent(EnrolmentEvent.SetCode(" ${hq.code()} ")).join()
        p.onEvent(EnrolmentEvent.Submit).join()
        assertTrue(p.state.value.enrolled)
        assertNull(p.state.value.error)
        assertEquals(listOf<Route>(Route.Home), phone.navigator.stack.value)
        assertEquals("w-001", got!!.device().workerId)
        // The installation id was made once and kept in the KeyStore.
        assertNotNull(phone.keyStore.get(StoreOpener.INSTALLATION_ID))
        phone.wire(got!!)
        assertEquals(SyncCoordinator.PERIODIC, phone.scheduler.periodic) // the periodic pull, once wired
        // A later launch opens the same store.
        phone.opener.openExisting()!!.use { assertEquals(got!!.device(), it.device()) }
    }

    @Test fun homeFollowsTheCoreAndRoutesItsActions() = runBlocking<Unit> {
        enrolled()
        val home = HomePresenter(phone.store, phone.navigator, phone.router, phone.scope)
        val first = await(home.state, "today") { it.today != null }.today!!
        assertEquals("g-0101", first.grids.single().id)
        assertTrue(first.mustVisit.any { it.householdId == "h-0001" })
        assertNull(first.patrol)

        val start = first.actions.first { (it.action as? Action.StartPatrol)?.shift == PatrolShift.NIGHT }
        home.onEvent(HomeEvent.Act(start)).join()
        val route = phone.navigator.top as Route.Patrol
        val running = await(home.state, "patrol in progress") { it.today?.patrol != null }.today!!.patrol!!
        assertEquals(route.patrolId, running.patrolId)

        home.onEvent(HomeEvent.OpenGrid("g-0101")).join()
        assertEquals(Route.Grid("g-0101"), phone.navigator.top)

        // Sync now → the policy → an expedited sync for the scheduler (one record waits).
        val syncNow = home.state.value.today!!.actions.first { it.action is Action.SyncNow }
        home.onEvent(HomeEvent.Act(syncNow)).join()
        assertTrue(phone.scheduler.enqueued.any { it.kind == WorkKind.SYNC && it.expedited })
    }

    @Test fun gridSearchAndVisitAction() = runBlocking<Unit> {
        enrolled()
        val grid = GridPresenter(phone.store, "g-0101", phone.navigator, phone.router, phone.scope)
        val all = await(grid.state, "grid") { it.grid != null }.grid!!
        assertTrue(all.households.size >= 3)
        grid.onEvent(GridEvent.Search("陈")).join()
        val found = await(grid.state, "search result") { s -> s.grid!!.households.size == 1 }
        assertEquals("陈阿姨", found.grid!!.households.single().name)
        assertEquals("陈", found.query.text)
        val household = found.grid!!.households.single()
        assertTrue(household.phone!!.contains("****"))
        val visit = household.actions.first { it.action is Action.RecordVisit }
        grid.onEvent(GridEvent.Act(visit)).join()
        assertEquals(Route.VisitForm(household.id), phone.navigator.top)
    }

    @Test fun patrolChecklistCheckInsAndFinish() = runBlocking<Unit> {
        enrolled()
        val patrol = phone.store.startPatrol("g-0101", PatrolShift.DAY)
        val p = PatrolPresenter(phone.store, patrol.id, phone.location, phone.permissions, phone.navigator, phone.router, phone.scope)
        val screen = await(p.state, "patrol") { it.patrol != null }.patrol!!
        assertTrue(screen.inProgress)
        assertTrue(screen.checklist.isNotEmpty())

        // Without the location permission: nothing recorded, the permission flow asks.
        p.onEvent(PatrolEvent.CheckIn).join()
        assertEquals(ShellError.Kind.PERMISSION_NEEDED, p.state.value.error?.kind)
        assertEquals(PermissionPrompt.SystemDialog(Permission.LOCATION), phone.permissions.state.value.prompt)
        phone.permissions.onEvent(PermissionEvent.DialogResult(Permission.LOCATION, granted = true, canAskAgain = false))

        for (item in screen.checklist) p.onEvent(PatrolEvent.Answered(item.itemId, item.choices.first().value)).join()
        assertEquals(screen.checklist.size, p.state.value.answers.size)
        p.onEvent(PatrolEvent.CheckIn).join()
        assertTrue(p.state.value.lastCheckIn!!.trusted)
        assertNull(p.state.value.error)
        val answered = await(p.state, "checklist answered") { s -> s.patrol!!.checklist.all { it.answered != null } }
        assertEquals(1, answered.patrol!!.checkpoints.size)

        // A weak fix is recorded and flagged, never refused.
        phone.location.next = Fix(INSIDE.lat, INSIDE.lng, 500.0, false, Instant.EPOCH)
        p.onEvent(PatrolEvent.CheckIn).join()
        assertFalse(p.state.value.lastCheckIn!!.trusted)
        val flagged = await(p.state, "two checkpoints") { it.patrol!!.checkpoints.size == 2 }
        assertFalse(flagged.patrol!!.checkpoints.last().trusted)
        assertNotNull(flagged.patrol!!.checkpoints.last().flag)

        // No fix at all: a clear error, nothing recorded.
        phone.location.next = null
        p.onEvent(PatrolEvent.CheckIn).join()
        assertEquals(ShellError.Kind.NO_LOCATION, p.state.value.error?.kind)

        // Report a finding: the report form for this grid and patrol.
        val finding = p.state.value.patrol!!.actions.first { it.action is Action.FileReport }
        p.onEvent(PatrolEvent.Act(finding)).join()
        assertEquals(Route.ReportForm("g-0101", patrol.id), phone.navigator.top)

        val finish = p.state.value.patrol!!.actions.first { (it.action as? Action.FinishPatrol)?.outcome == PatrolOutcome.NOTHING_FOUND }
        p.onEvent(PatrolEvent.Act(finish)).join()
        val done = await(p.state, "finished") { !it.patrol!!.inProgress }
        assertTrue(done.patrol!!.actions.none { it.action is Action.CheckIn })
    }

    @Test fun visitFormValidatedByTheCore() = runBlocking<Unit> {
        enrolled()
        phone.navigator.push(Route.VisitForm("h-0001"))
        val v = VisitFormPresenter(phone.store, "h-0001", phone.location, phone.permissions, phone.navigator, phone.scope)
        val loaded = await(v.state, "visit form") { it.form != null }
        assertEquals("陈阿姨", loaded.form!!.household.name)
        assertEquals(loaded.form!!.visitTypes.first().value, loaded.draft.visitType)

        val routine = loaded.form!!.visitTypes.first { !it.followUp }.value
        v.onEvent(VisitFormEvent.SetType(routine)).join()
        v.onEvent(VisitFormEvent.SetSatisfaction(4u)).join()
        v.onEvent(VisitFormEvent.Submit).join()
        assertEquals(listOf("satisfaction"), v.state.value.errors.map { it.field })
        assertNull(v.state.value.saved)
        assertEquals(Route.VisitForm("h-0001"), phone.navigator.top)

        v.onEvent(VisitFormEvent.SetSatisfaction(null)).join()
        v.onEvent(VisitFormEvent.SetNote("血压正常 (blood pressure fine)")).join()
        v.onEvent(VisitFormEvent.Submit).join()
        val saved = v.state.value.saved!!
        assertEquals(VisitType.ROUTINE, saved.visitType)
        assertTrue(v.state.value.errors.isEmpty())
        assertEquals(Route.Home, phone.navigator.top)
        assertEquals(1uL, phone.store.syncStatus().unsent.records)
    }

    @Test fun reportFormWithPhotoOpensTheCase() = runBlocking<Unit> {
        enrolled()
        phone.grantAll()
        phone.navigator.push(Route.ReportForm("g-0101"))
        val r = ReportFormPresenter(phone.store, "g-0101", null, phone.location, phone.permissions, phone.navigator, phone.scope)
        val loaded = await(r.state, "report form with a fix") { it.form != null && it.draft.location != null }
        assertEquals("g-0101", loaded.draft.gridId)
        val hazard = loaded.form!!.categories.first { it.value == ReportCategory.SAFETY_HAZARD }.value

        r.onEvent(ReportFormEvent.SetCategory(hazard)).join()
        r.onEvent(ReportFormEvent.SetDescription("")).join()
        r.onEvent(ReportFormEvent.Submit).join()
        assertEquals(listOf("description"), r.state.value.errors.map { it.field })
        assertNull(r.state.value.saved)

        r.onEvent(ReportFormEvent.SetDescription("楼道堆放杂物 (clutter in the stairwell)")).join()
        r.onEvent(ReportFormEvent.TakePhoto).join()
        assertEquals(PermissionPrompt.None, phone.permissions.state.value.prompt) // camera granted
        assertTrue(r.state.value.captureRequested)
        r.onEvent(ReportFormEvent.PhotoTaken(null)).join() // cancelled: nothing added
        assertFalse(r.state.value.captureRequested)
        assertTrue(r.state.value.draft.photos.isEmpty())
        r.onEvent(ReportFormEvent.TakePhoto).join()
        r.onEvent(ReportFormEvent.PhotoTaken(phone.photo(1))).join()
        assertFalse(r.state.value.captureRequested)
        r.onEvent(ReportFormEvent.Submit).join()
        val report = r.state.value.saved!!
        assertEquals(1, report.photos.size)
        assertEquals(Route.Case(report.caseId), phone.navigator.top)
        assertEquals(1u, phone.store.syncStatus().photosQueued)
        // The case screen shows the photo from the bytes the encrypted store returns.
        val c = CasePresenter(phone.store, report.caseId, phone.router, phone.scope)
        val sha = report.photos.single()
        val thumb = await(c.state, "thumbnail") { sha in it.thumbnails }.thumbnails.getValue(sha)
        assertEquals(listOf(0xFF, 0xD8), thumb.take(2).map { it.toInt() and 0xff }) // a JPEG
        assertTrue(thumb.contentEquals(phone.store.attachmentThumbnail(sha)))
        assertNull(c.state.value.error)
    }

    @Test fun theStoreIsEncryptedWithThePlatformsKey() = runBlocking<Unit> {
        // Enrolment through the presenter, with a key store that cannot answer: a typed error,
        // nothing created; once it answers, the store is made and encrypted with its key.
        phone.keys.locked = true
        val p = EnrolmentPresenter(phone.opener, phone.navigator, { phone.wire(it) }, phone.scope, defaultHqUrl = hq.url)
        p.onEvent(EnrolmentEvent.SetCode(hq.code())).join()
        p.onEvent(EnrolmentEvent.Submit).join()
        assertEquals(ShellError.Kind.KEY_UNAVAILABLE, p.state.value.error?.kind)
        assertTrue(p.state.value.error!!.detail!!.contains("keystore locked"))
        assertFalse(p.state.value.enrolled)
        assertFalse(java.io.File(phone.folder, "gridpatrol.db").exists())
        phone.keys.locked = false
        p.onEvent(EnrolmentEvent.SetCode(hq.code())).join()
        p.onEvent(EnrolmentEvent.Submit).join()
        assertTrue(p.state.value.enrolled)
        val header = java.io.File(phone.folder, "gridpatrol.db").inputStream().use { it.readNBytes(16) }
        assertFalse(header.contentEquals("SQLite format 3\u0000".encodeToByteArray()))
        // The same key at every call; a later launch opens the store with it.
        assertTrue(phone.keys.storeKey().contentEquals(phone.keys.storeKey()))
        phone.opener.openExisting()!!.use { assertEquals(phone.store.device(), it.device()) }
        // Another key (the Keystore lost or replaced it) or none at all: typed, never opened.
        val otherKey = StoreOpener(phone.folder, phone.keyStore, FakeKeyProvider(), deviceId = null)
        val wrong = try { otherKey.openExisting(); null } catch (e: GridPatrolException) { e }
        assertTrue("$wrong", wrong is GridPatrolException.StoreKeyWrong)
        assertEquals(ShellError.Kind.STORE_KEY_WRONG, ShellError.of(wrong!!).kind)
        val lockedKeys = FakeKeyProvider().apply { locked = true }
        val unavailable = try {
            StoreOpener(phone.folder, phone.keyStore, lockedKeys, deviceId = null).openExisting(); null
        } catch (e: GridPatrolException) { e }
        assertTrue("$unavailable", unavailable is GridPatrolException.KeyUnavailable)
        // A key of the wrong size is the core's InvalidInput on field "key".
        val short = try {
            StoreOpener(phone.folder, phone.keyStore, FakeKeyProvider(ByteArray(16)), deviceId = null).openExisting(); null
        } catch (e: GridPatrolException) { e }
        assertEquals(ShellError(ShellError.Kind.INVALID_INPUT, "key", (short as GridPatrolException.InvalidInput).reason), ShellError.of(short))
    }

    @Test fun caseInboxAndCaseSteps() = runBlocking<Unit> {
        enrolled()
        val report = phone.store.fileReport(
            org.gridpatrol.core.model.ReportInput(
                gridId = "g-0101", category = ReportCategory.RESIDENT_REQUEST, location = INSIDE,
                description = "路灯不亮 (street light out)", source = org.gridpatrol.protocol.ReportSource.RESIDENT,
            ),
        )
        val inbox = CaseInboxPresenter(phone.store, phone.navigator, phone.scope)
        val rows = await(inbox.state, "inbox") { it.inbox?.rows?.isNotEmpty() == true }.inbox!!.rows
        assertEquals(listOf(report.caseId), rows.map { it.caseId })
        inbox.onEvent(CaseInboxEvent.SetFilter(CaseFilter(openOnly = true, overdueOnly = true))).join()
        await(inbox.state, "overdue only: none") { it.filter.overdueOnly && it.inbox?.rows?.isEmpty() == true }
        // Another worker's grid: the core refuses the filter by field; the screen says so.
        inbox.onEvent(CaseInboxEvent.SetFilter(CaseFilter(openOnly = true, gridId = "g-0102"))).join()
        val refused = await(inbox.state, "refused filter") { it.error != null }
        assertEquals(ShellError(ShellError.Kind.INVALID_INPUT, "grid_id", refused.error!!.detail), refused.error)
        assertNull(refused.inbox)
        inbox.onEvent(CaseInboxEvent.SetFilter(CaseFilter(openOnly = true))).join()
        await(inbox.state, "back to my cases") { it.error == null && it.inbox?.rows?.size == 1 }
        inbox.onEvent(CaseInboxEvent.Open(report.caseId)).join()
        assertEquals(Route.Case(report.caseId), phone.navigator.top)

        val c = CasePresenter(phone.store, report.caseId, phone.router, phone.scope)
        val case = await(c.state, "case") { it.case != null }.case!!
        val close = case.actions.single { (it.action as? Action.CaseStep)?.to == CaseState.CLOSED }
        // Without the six clear items: the core names what is missing; nothing moved.
        c.onEvent(CaseScreenEvent.PhotoTaken(phone.photo(2))).join()
        c.onEvent(CaseScreenEvent.Act(close)).join()
        assertEquals(ShellError.Kind.CLEAR_ITEMS_MISSING, c.state.value.error?.kind)
        assertNull(c.state.value.lastStep)

        c.onEvent(CaseScreenEvent.SetFacts("路灯损坏")).join()
        c.onEvent(CaseScreenEvent.SetResponsibleUnit("物业 (property management)")).join()
        c.onEvent(CaseScreenEvent.SetDeadline(Instant.now().plusSeconds(86_400))).join()
        c.onEvent(CaseScreenEvent.SetOutcome("已修复 (fixed)")).join()
        c.onEvent(CaseScreenEvent.SetFeedback("居民满意")).join()
        c.onEvent(CaseScreenEvent.Act(close)).join()
        assertNull(c.state.value.error)
        assertEquals(CaseState.CLOSED, c.state.value.lastStep!!.to)
        await(c.state, "closed case") { it.case!!.state == CaseState.CLOSED }
    }

    @Test fun taskInboxAndTaskStepsWithConfirm() = runBlocking<Unit> {
        enrolled()
        phone.grantAll()
        val taskId = "t-shell-" + java.util.UUID.randomUUID().toString().take(8)
        hq.dispatch110(taskId, "u-shell-" + java.util.UUID.randomUUID().toString().take(8))
        val inbox = TaskInboxPresenter(phone.store, phone.navigator, phone.scope)
        await(inbox.state, "empty inbox") { it.inbox != null }
        phone.store.sync(null)
        val row = await(inbox.state, "the task") { s -> s.inbox!!.tasks.any { it.id == taskId } }.inbox!!.tasks.first { it.id == taskId }
        assertTrue(row.title.contains("噪音"))
        inbox.onEvent(TaskInboxEvent.Open(taskId)).join()
        assertEquals(Route.Task(taskId), phone.navigator.top)

        val t = TaskPresenter(phone.store, taskId, phone.location, phone.permissions, phone.router, phone.scope)
        val detail = await(t.state, "task") { it.task != null }.task!!
        assertEquals("138****5678", detail.caller)
        // Send back asks first; dismissing does nothing.
        val sendBack = detail.actions.first { (it.action as? Action.TaskStep)?.action == TaskAction.SEND_BACK }
        t.onEvent(TaskEvent.Act(sendBack)).join()
        assertEquals(sendBack, t.state.value.confirming?.option)
        t.onEvent(TaskEvent.Dismiss).join()
        assertNull(t.state.value.confirming)
        assertNull(t.state.value.updated)

        val ack = detail.actions.first { (it.action as? Action.TaskStep)?.action == TaskAction.ACKNOWLEDGE }
        t.onEvent(TaskEvent.Act(ack)).join()
        assertEquals(org.gridpatrol.protocol.TaskStatus.ACKNOWLEDGED, t.state.value.updated!!.status)
        await(t.state, "acknowledged") { it.task!!.status == org.gridpatrol.protocol.TaskStatus.ACKNOWLEDGED }
        inbox.onEvent(TaskInboxEvent.ShowClosed(true)).join()
        assertTrue(await(inbox.state, "with closed") { it.includeClosed }.includeClosed)
    }

    @Test fun syncStatusFollowsThePolicy() = runBlocking<Unit> {
        enrolled()
        val s = SyncStatusPresenter(phone.store, phone.coordinator, phone.runner, phone.router, phone.scope)
        phone.store.recordVisit(org.gridpatrol.core.model.VisitInput(householdId = "h-0002", visitType = VisitType.ROUTINE, outcome = org.gridpatrol.protocol.VisitOutcome.MET))
        val status = await(s.state, "one unsent") { it.status?.unsent?.records == 1uL }.status!!
        val syncNow = status.actions.first { it.action is Action.SyncNow }
        phone.scheduler.enqueued.clear()

        phone.network.set(DeviceConditions(Network.NONE))
        await(phone.coordinator.online, "offline") { it == false }
        s.onEvent(SyncStatusEvent.Act(syncNow)).join()
        assertEquals(SyncDecision.Nothing(SyncDecision.Why.OFFLINE), phone.coordinator.lastDecision.value)
        await(s.state, "offline decision shown") { it.decision == SyncDecision.Nothing(SyncDecision.Why.OFFLINE) }
        assertTrue(phone.scheduler.enqueued.isEmpty())

        phone.network.set(DeviceConditions(Network.METERED))
        await(phone.coordinator.online, "online") { it == true }
        phone.scheduler.enqueued.clear() // the regained network's own request
        s.onEvent(SyncStatusEvent.Act(syncNow)).join()
        assertEquals(listOf(WorkRequest(WorkKind.SYNC, expedited = true, unmeteredOnly = false)), phone.scheduler.enqueued.toList())
        phone.scheduler.runAll(phone.runner).forEach { assertTrue(it.isSuccess) }
        val after = await(s.state, "sent") { it.status?.unsent?.records == 0uL && it.history.outcome == LastOutcome.OK }
        assertEquals(0, after.history.failures)
    }

    @Test fun syncStatusRefusedRecordIsDiscardedOnlyAfterTheWorkerConfirms() = runBlocking<Unit> {
        // A household of this test's own, so moving it leaves the other tests' data alone.
        val householdId = "h-shell-" + java.util.UUID.randomUUID().toString().take(8)
        hq.post("/v1/admin/households", """{"id":"$householdId","grid_id":"g-0101","label":"9栋1单元101","name":"测试户"}""")
        enrolled()
        val s = SyncStatusPresenter(phone.store, phone.coordinator, phone.runner, phone.router, phone.scope)
        phone.store.recordVisit(org.gridpatrol.core.model.VisitInput(householdId = householdId, visitType = VisitType.ROUTINE, outcome = org.gridpatrol.protocol.VisitOutcome.MET))
        // Before the visit reaches HQ, the street office moves the household to another worker's
        // grid: HQ refuses that record alone. (The store is encrypted, so the record cannot be
        // tampered with from outside as tests/tests/sync_e2e.rs does with a clear store.)
        hq.put("/v1/admin/households/$householdId", """{"grid_id":"g-0102","label":"9栋1单元101","name":"测试户"}""")
        assertTrue(phone.runner.run(WorkRequest(WorkKind.SYNC, expedited = true, unmeteredOnly = false)).isSuccess)
        val refused = await(s.state, "one refused record") { it.status?.rejected?.size == 1 }.status!!.rejected.single()
        assertTrue(refused.reason, refused.reason.isNotEmpty())
        val discard = refused.actions.single { it.action is Action.DiscardRejected }
        assertNotNull(discard.confirm)
        assertTrue(refused.actions.any { it.action is Action.RetryRejected })

        // Asks first; dismissing keeps the record.
        s.onEvent(SyncStatusEvent.Act(discard)).join()
        assertEquals(discard, s.state.value.confirming?.option)
        s.onEvent(SyncStatusEvent.Dismiss).join()
        assertEquals(1, phone.store.syncStatus().rejected.size)
        // Confirmed: discarded.
        s.onEvent(SyncStatusEvent.Act(discard)).join()
        s.onEvent(SyncStatusEvent.Confirm).join()
        assertNull(s.state.value.error)
        await(s.state, "no refused record") { it.status?.rejected?.isEmpty() == true }
    }

    @Test fun settingsLanguageRelabelsEveryScreen() = runBlocking<Unit> {
        enrolled()
        val settings = SettingsPresenter(phone.store, phone.permissions, phone.scope)
        val home = HomePresenter(phone.store, phone.navigator, phone.router, phone.scope)
        await(home.state, "today") { it.today != null }
        assertEquals(Lang.BOTH, settings.state.value.language)
        assertEquals(Lang.entries.size, settings.state.value.languages.size)
        settings.onEvent(SettingsEvent.SetLanguage(Lang.EN)).join()
        assertEquals(Lang.EN, settings.state.value.language)
        await(home.state, "English labels") { it.today!!.workerRole == "full-time grid worker" }
        settings.onEvent(SettingsEvent.SetLanguage(Lang.ZH)).join()
        await(home.state, "Chinese labels") { it.today!!.workerRole == "专职网格员" }
        settings.onEvent(SettingsEvent.Permission(PermissionEvent.Need(Permission.CAMERA))).join()
        await(settings.state, "camera prompt") { it.permissions.prompt == PermissionPrompt.SystemDialog(Permission.CAMERA) }
    }

    @Test fun navigatorBackStack() {
        val n = Navigator(Route.Home)
        n.push(Route.CaseInbox)
        n.push(Route.CaseInbox) // a double tap pushes once
        n.push(Route.Case("c-1"))
        assertEquals(listOf(Route.Home, Route.CaseInbox, Route.Case("c-1")), n.stack.value)
        n.replace(Route.Task("t-1"))
        assertEquals(Route.Task("t-1"), n.top)
        assertTrue(n.pop())
        assertTrue(n.pop())
        assertFalse(n.pop())
        assertEquals(listOf<Route>(Route.Home), n.stack.value)
    }
}
