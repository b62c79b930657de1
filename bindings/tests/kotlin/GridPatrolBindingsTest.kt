// GridPatrol's Kotlin binding (the Android binding, on the JVM) against a live HQ.
// Run by `cargo xtask test-bindings kotlin`: JNA finds libgridpatrol_ffi.so through
// -Djna.library.path, GRIDPATROL_BIN is the `gridpatrol` binary HQ runs from.
package org.gridpatrol.tests

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.StandardOpenOption
import java.nio.file.attribute.PosixFilePermissions
import java.security.MessageDigest
import java.security.SecureRandom
import java.time.Duration
import java.time.Instant
import java.util.Collections
import java.util.UUID
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.gridpatrol.core.*
import org.gridpatrol.core.model.*
import org.gridpatrol.protocol.*
import org.junit.After
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.BeforeClass
import org.junit.Test

private val ADMIN_TOKEN = "kt-suite-admin-" + UUID.randomUUID().toString().replace("-", "")
private val INSIDE = GeoPoint(lat = 31.232, lng = 121.473) // inside grid g-0101 of the sample config

/** A tiny JPEG with a comment the store strips (testing/src/lib.rs `tiny_jpeg_with_comment`,
 *  written by `cargo xtask test-bindings` into $GRIDPATROL_FIXTURES). */
fun tinyJpeg(variant: Int): ByteArray =
    File(System.getenv("GRIDPATROL_FIXTURES") ?: error("GRIDPATROL_FIXTURES is not set"), "photo-$variant.jpg").readBytes()

/** (width, height) from a JPEG's SOF segment. */
fun jpegSize(data: ByteArray): Pair<Int, Int> {
    var i = 2
    while (i + 9 < data.size) {
        val marker = data[i + 1].toInt() and 0xff
        val length = ((data[i + 2].toInt() and 0xff) shl 8) or (data[i + 3].toInt() and 0xff)
        if (marker in 0xC0..0xC2) {
            val h = ((data[i + 5].toInt() and 0xff) shl 8) or (data[i + 6].toInt() and 0xff)
            val w = ((data[i + 7].toInt() and 0xff) shl 8) or (data[i + 8].toInt() and 0xff)
            return w to h
        }
        i += 2 + length
    }
    error("no SOF segment")
}

fun sha256Hex(bytes: ByteArray): String =
    MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

private val SQLITE_HEADER = "SQLite format 3\u0000".encodeToByteArray()

/**
 * The store key as a test (or a desktop JVM) keeps it: 32 bytes from [SecureRandom], written
 * once to a file of its own outside the store folder (owner-only), read back at every later
 * call. On Android the same bytes are wrapped by an Android Keystore key (bindings/README.md).
 */
class FileKeyProvider(val file: File) : KeyProvider {
    override fun storeKey(): ByteArray {
        if (!file.exists()) {
            val key = randomBytes(32)
            try {
                Files.write(file.toPath(), key, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.SYNC)
                Files.setPosixFilePermissions(file.toPath(), PosixFilePermissions.fromString("rw-------"))
            } catch (e: java.nio.file.FileAlreadyExistsException) {
                // Made meanwhile by another call: that one is the key.
            } catch (e: java.io.IOException) {
                throw KeyProviderException.Unavailable("cannot write the key file: ${e.javaClass.simpleName}")
            }
        }
        return file.readBytes()
    }
}

/** Always the given bytes: another installation's key, or one of the wrong size. */
class FixedKey(private val key: ByteArray) : KeyProvider {
    override fun storeKey(): ByteArray = key.copyOf()
}

/** A key store that cannot answer (a failing Keystore, a phone not yet unlocked). */
object LockedKeys : KeyProvider {
    override fun storeKey(): ByteArray = throw KeyProviderException.Unavailable("keystore locked (test)")
}

fun randomBytes(n: Int): ByteArray = ByteArray(n).also { SecureRandom().nextBytes(it) }

/** Whether [needle] occurs in this array. */
fun ByteArray.holds(needle: ByteArray): Boolean {
    if (needle.isEmpty()) return true
    outer@ for (i in 0..size - needle.size) {
        for (j in needle.indices) if (this[i + j] != needle[j]) continue@outer
        return true
    }
    return false
}

/** Every file under [folder] with its bytes. */
fun filesUnder(folder: File): Map<File, ByteArray> = folder.walkTopDown().filter { it.isFile }.associateWith { it.readBytes() }

/** A real `gridpatrol hq serve` on loopback with a temporary SQLite folder. */
class Hq {
    private val bin = System.getenv("GRIDPATROL_BIN") ?: error("GRIDPATROL_BIN is not set")
    /** HQ's SQLite folder (clear text: the residents' names are in its bytes). */
    val dir: File = Files.createTempDirectory("gp-hq-").toFile()
    private val process: Process
    private val http: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
    val url: String
    /** HQ's test data: the sample configuration it imported. */
    val sample: String

    init {
        val pb = ProcessBuilder(bin, "hq", "serve", "--listen", "127.0.0.1:0", "--database", dir.path)
            .redirectErrorStream(true)
        pb.environment()["GRIDPATROL_ADMIN_TOKEN"] = ADMIN_TOKEN
        process = pb.start()
        val out = process.inputStream.bufferedReader()
        var found: String? = null
        while (found == null) {
            val line = out.readLine() ?: error("HQ exited before listening")
            if ("listening on " in line) found = line.substringAfter("listening on ").trim()
        }
        url = found
        thread(isDaemon = true) { out.forEachLine { } } // never let HQ block on a full pipe
        sample = ProcessBuilder(bin, "device", "sample-config").start().inputStream.readBytes().decodeToString()
        post("/v1/admin/import", sample)
    }

    /** The residents' names and phone numbers in HQ's test data (households are flat objects). */
    fun residents(): List<String> =
        Regex("\\{[^{}]*\"id\"\\s*:\\s*\"h-[^{}]*\\}").findAll(sample).flatMap { h ->
            listOf("name", "phone").mapNotNull { f -> Regex("\"$f\"\\s*:\\s*\"([^\"]+)\"").find(h.value)?.groupValues?.get(1) }
        }.toList()

    fun stop() {
        process.destroy()
        process.waitFor(10, TimeUnit.SECONDS)
        dir.deleteRecursively()
    }

    private fun send(method: String, path: String, body: String?): ByteArray {
        val req = HttpRequest.newBuilder(URI.create(url + path))
            .header("Authorization", "Bearer $ADMIN_TOKEN")
            .timeout(Duration.ofSeconds(10))
            .method(
                method,
                if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(body),
            )
        if (body != null) req.header("Content-Type", "application/json")
        val resp = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray())
        check(resp.statusCode() in 200..299) { "$method $path: ${resp.statusCode()} ${resp.body().decodeToString()}" }
        return resp.body()
    }

    fun get(path: String): String = send("GET", path, null).decodeToString()
    fun bytes(path: String): ByteArray = send("GET", path, null)
    fun post(path: String, json: String): String = send("POST", path, json).decodeToString()

    fun code(worker: String = "w-001"): String =
        Regex("\"code\":\"([^\"]+)\"").find(post("/v1/admin/workers/$worker/enrolment-codes", "{}"))!!.groupValues[1]

    /** How many times HQ's list of patrols/visits/reports holds the record `id`. */
    fun count(kind: String, id: String): Int =
        Regex(Regex.escape("\"id\":\"$id\"")).findAll(get("/v1/admin/$kind?from=2000-01-01&to=2100-01-01")).count()
}

/** Expect `T` from `block` (which may suspend: the helper is inlined into the coroutine). */
inline fun <reified T : Throwable> expect(block: () -> Unit): T {
    try {
        block()
    } catch (e: Throwable) {
        if (e is T) return e
        throw AssertionError("expected ${T::class.simpleName}, got $e", e)
    }
    throw AssertionError("expected ${T::class.simpleName}, nothing was thrown")
}

class GridPatrolBindingsTest {
    companion object {
        lateinit var hq: Hq

        @BeforeClass @JvmStatic fun startHq() {
            hq = Hq()
        }

        @AfterClass @JvmStatic fun stopHq() {
            hq.stop()
        }
    }

    private lateinit var dir: File
    private lateinit var folder: File
    private lateinit var keys: FileKeyProvider
    private lateinit var store: GridPatrolStore

    @Before fun enrol() = runBlocking<Unit> {
        dir = Files.createTempDirectory("gp-phone-").toFile()
        folder = File(dir, "store")
        // The key file sits in a folder of its own, never in the store folder (the platform's key store).
        keys = FileKeyProvider(File(dir, "keys").apply { mkdirs() }.resolve("store.key"))
        store = GridPatrolStore.enrol(folder.path, hq.url, hq.code(), DeviceSettings(syncMaxAttempts = 2u), keys)
    }

    @After fun close() {
        store.close()
        dir.deleteRecursively()
    }

    /** A camera-sized JPEG (written by `cargo xtask test-bindings` into $GRIDPATROL_FIXTURES). */
    private fun cameraPhoto(): String =
        File(dir, "camera.jpg").apply { writeBytes(File(System.getenv("GRIDPATROL_FIXTURES"), "camera.jpg").readBytes()) }.path

    private fun photo(variant: Int): String = File(dir, "photo-$variant.jpg").apply { writeBytes(tinyJpeg(variant)) }.path

    private fun allAnswers() = store.activeTemplate().patrol.checklist.map { ChecklistAnswer(itemId = it.id, answer = Answer.OK) }

    /** A worker's day driven only by screen models and their actions. */
    @Test fun aFieldDayThroughScreenModelsReachesHqExactlyOnce() = runBlocking<Unit> {
        val changes = Collections.synchronizedList(mutableListOf<DataChange>())
        store.addDataChangedListener(object : DataChangedListener {
            override fun onDataChanged(change: DataChange) { changes += change }
        })
        assertEquals("w-001", store.device().workerId)

        // Home: my grid from the list, today's patrols not started, the actions on offer.
        val home = store.today()
        val grid = home.grids.first()
        assertEquals("g-0101", grid.id)
        assertEquals(ShiftStatus.NOT_STARTED, grid.dayPatrol)
        assertTrue(grid.boundary.size >= 3)
        val start = home.actions.map { it.action }.filterIsInstance<Action.StartPatrol>().first { it.shift == PatrolShift.NIGHT }
        // The grid screen: a household picked from the list (search by name), phone masked.
        val household = store.gridScreen(start.gridId, HouseholdQuery(text = "陈")).households.first()
        assertTrue(household.phone!!.contains("****"))

        // 巡查: the patrol screen's checklist is the form; its parts say why.
        var patrol = store.startPatrol(start.gridId, start.shift)
        var screen = store.patrolScreen(patrol.id)
        val answers = screen.checklist.map { ChecklistAnswer(itemId = it.itemId, answer = it.choices.first().value) }
        repeat(2) {
            assertTrue(store.checkIn(patrol.id, CheckInInput(location = INSIDE, accuracyM = 8.0, answers = answers)).trusted)
        }
        screen = store.patrolScreen(patrol.id)
        assertTrue(screen.parts.take(2).joinToString { it.why }, screen.parts.take(2).all { it.done })
        val finish = screen.actions.map { it.action }.filterIsInstance<Action.FinishPatrol>()
            .first { it.outcome == PatrolOutcome.NOTHING_FOUND }
        patrol = store.finishPatrol(finish.patrolId, finish.outcome, null)
        assertEquals(ShiftStatus.DONE, store.today().grids.first().nightPatrol)

        // 走访 through the visit form, checked by the core first.
        val form = store.visitForm(household.id)
        val routine = form.visitTypes.first { !it.followUp }.value
        val bad = VisitInput(householdId = household.id, visitType = routine, outcome = form.outcomes.first().value, satisfaction = 4u)
        assertEquals(listOf("satisfaction"), store.validateVisit(bad).map { it.field })
        val visit = store.recordVisit(VisitInput(householdId = household.id, visitType = routine, outcome = form.outcomes.first().value))

        // 上报 through the report form, with a photo; the case shows in the inbox.
        val rf = store.reportForm()
        val input = ReportInput(
            gridId = rf.grids.first().id,
            category = rf.categories.first { it.reportAtOnce }.value,
            location = INSIDE,
            description = "电动车楼道充电 (e-bike charging in the stairwell)",
            source = ReportSource.RESIDENT,
            photos = listOf(cameraPhoto()),
        )
        assertTrue(store.validateReport(input).isEmpty())
        val report = store.fileReport(input)
        // Stored downscaled (a camera-sized file to 1600 px), with a thumbnail for lists.
        // Photos live inside the encrypted store: the calls return their bytes.
        val stored = store.attachmentPhoto(report.photos[0])
        assertEquals(report.photos[0], sha256Hex(stored))
        assertEquals(1600 to 1200, jpegSize(stored))
        assertEquals(320 to 240, jpegSize(store.attachmentThumbnail(report.photos[0])))
        expect<GridPatrolException.NotFound> { store.attachmentOriginal(report.photos[0]) } // the template keeps none
        assertEquals("attachment", expect<GridPatrolException.NotFound> { store.attachmentPhoto("0".repeat(64)) }.entity)
        for ((file, bytes) in filesUnder(folder)) assertFalse(file.path, bytes.holds(stored.copyOfRange(0, 64)))
        assertEquals(listOf(report.caseId), store.caseInbox(CaseFilter(openOnly = true)).rows.map { it.caseId })
        val case = store.caseTimeline(report.caseId)
        assertEquals(report.photos, case.photos.map { it.sha256 })
        val close = case.actions.map { it.action }.filterIsInstance<Action.CaseStep>().single { it.to == CaseState.CLOSED }
        val closed = store.moveCase(
            CaseStepInput(
                caseId = close.caseId,
                to = close.to,
                clear = ClearItems(
                    facts = "楼道内电动车充电",
                    responsibleUnit = "物业 (property management)",
                    deadline = Instant.now().plus(Duration.ofDays(1)),
                    outcome = "已移除 (removed)",
                    // The ledger is the office's, the satisfaction the follow-up visit's (role table).
                    feedback = "居民满意",
                ),
                photos = listOf(photo(2)),
            ),
        )
        assertEquals(CaseState.CLOSED, closed.to)
        assertEquals(listOf(ClearItem.LEDGER), store.caseTimeline(report.caseId).clear.filter { !it.done }.map { it.item })
        val status = store.syncStatus()
        assertTrue(status.unsent.records > 0uL)
        assertEquals(2u, status.photosQueued)

        // 110 非警务分流: HQ routes a task to a unit and this worker; the task inbox's Flow shows
        // it after the sync that brings it, without polling.
        val taskId = "t-kt-" + UUID.randomUUID().toString().take(8)
        val unitId = "u-kt-" + UUID.randomUUID().toString().take(8)
        hq.post("/v1/admin/units", """{"id":"$unitId","kind":"justice","name":"司法所 (justice office)","community_ids":["c-01"]}""")
        val inboxes = Channel<TaskInbox>(Channel.UNLIMITED)
        val watching = launch { store.taskInboxFlow().collect { inboxes.send(it) } }
        assertFalse(inboxes.receive().tasks.any { it.id == taskId })
        hq.post(
            "/v1/admin/tasks",
            """{"id":"$taskId","source":"diversion_110","title":"邻里噪音纠纷 (noise dispute)","description":"110 转派",
               "target_unit":"人民调解 (mediation)","assignee_id":"w-001","grid_id":"g-0101","deadline":"2030-01-01T00:00:00Z",
               "unit_id":"$unitId","caller":"13812345678"}""",
        )
        // A sync bounded to 2 s (an iOS background window is ~30 s); a run the budget stops says
        // what is left, and the next one goes on from there.
        val seen = Collections.synchronizedList(mutableListOf<SyncProgress>())
        val listener = object : SyncProgressListener {
            override fun onProgress(progress: SyncProgress) { seen += progress }
        }
        val budget = SyncMode(send = SyncSend.RECORDS_AND_PHOTOS, network = NetworkKind.UNMETERED, timeBudgetMs = 2_000uL)
        val runs = mutableListOf(store.syncWith(budget, null, listener))
        while (runs.last().stoppedOnBudget && runs.size < 10) {
            assertTrue(runs.last().recordsLeft + runs.last().photosLeft > 0uL)
            runs += store.syncWith(budget, null, listener)
        }
        assertFalse(runs.last().stoppedOnBudget)
        assertEquals(SyncPhase.DONE, seen.last().phase)
        assertTrue(runs.sumOf { it.tasksReceived } >= 1uL)
        assertEquals(2uL, runs.sumOf { it.photosUploaded })
        withTimeout(5_000) {
            while (!inboxes.receive().tasks.any { it.id == taskId }) { /* the next change */ }
        }
        watching.cancel()

        // The task page: caller masked, the steps its status allows, each an action.
        var page = store.taskDetail(taskId)
        assertEquals("138****5678", page.caller)
        assertEquals("司法所 (justice office)", page.unit)
        val ack = page.actions.map { it.action }.filterIsInstance<Action.TaskStep>().single { it.action == TaskAction.ACKNOWLEDGE }
        store.actOnTask(TaskActionInput(taskId = ack.taskId, action = ack.action))
        page = store.taskDetail(taskId)
        assertTrue(page.steps.single { it.action == TaskAction.ARRIVE }.needsLocation)
        val noFix = expect<GridPatrolException.InvalidInput> {
            store.actOnTask(TaskActionInput(taskId = taskId, action = TaskAction.ARRIVE))
        }
        assertEquals("location", noFix.field)
        store.actOnTask(TaskActionInput(taskId = taskId, action = TaskAction.ARRIVE, location = INSIDE))
        val done = store.actOnTask(TaskActionInput(taskId = taskId, action = TaskAction.COMPLETE, result = "双方调解成功 (settled)"))
        assertEquals(TaskStatus.DONE, done.status)
        assertEquals(0uL, store.sync(null).unsentAfter)
        assertEquals(0uL, store.syncStatus().unsent.records)

        // HQ holds every record exactly once, and the photo's bytes hash to its id.
        assertEquals(1, hq.count("patrols", patrol.id))
        assertEquals(1, hq.count("visits", visit.id))
        assertEquals(1, hq.count("reports", report.id))
        val hqPatrol = Regex("\\{[^{}]*\"id\":\"${Regex.escape(patrol.id)}\"[^{}]*\\}") // rows are flat objects
            .find(hq.get("/v1/admin/patrols?from=2000-01-01&to=2100-01-01"))!!.value
        assertTrue(hqPatrol, Regex("\"checkins\":2\\b").containsMatchIn(hqPatrol))
        val hqCase = hq.get("/v1/admin/cases/${report.caseId}")
        assertTrue(hqCase.contains("\"state\":\"closed\""))
        assertEquals(1, Regex(Regex.escape("\"id\":\"${closed.id}\"")).findAll(hqCase).count())
        assertEquals(2, Regex("\"to\":\"").findAll(hqCase).count()) // events: reported, closed
        // The task's own fields come before its nested details: from its id to its status.
        val hqTask = Regex("\"id\":\"${Regex.escape(taskId)}\"[^{}]*\"status\":\"\\w+\"").find(hq.get("/v1/admin/tasks"))!!.value
        assertTrue(hqTask, hqTask.endsWith("\"status\":\"done\""))
        val bytes = hq.bytes("/v1/admin/attachments/${report.photos[0]}")
        assertEquals(report.photos[0], sha256Hex(bytes))
        assertFalse(bytes.decodeToString().contains("SECRETCAM"))

        // The listeners were told too: each recording, and the syncs that changed data.
        assertTrue(changes.any { it is DataChange.Recorded && it.kind == RecordKind.REPORT && it.id == report.id })
        assertTrue(changes.filterIsInstance<DataChange.Synced>().size >= 2)
    }

    @Test fun bTypedErrors() = runBlocking<Unit> {
        val patrol = store.startPatrol("g-0101", PatrolShift.DAY)
        val bad = expect<GridPatrolException.InvalidInput> {
            store.checkIn(patrol.id, CheckInInput(location = GeoPoint(lat = 200.0, lng = 121.0)))
        }
        assertEquals("location.lat", bad.field)
        assertTrue(bad.reason, bad.reason.contains("-90"))

        val report = store.fileReport(
            ReportInput(
                gridId = "g-0101",
                category = ReportCategory.DISPUTE,
                location = INSIDE,
                description = "邻里纠纷 (neighbours)",
                source = ReportSource.PATROL,
                patrolId = patrol.id,
            ),
        )
        val illegal = expect<GridPatrolException.IllegalTransition> {
            store.moveCase(CaseStepInput(caseId = report.caseId, to = CaseState.DISPATCHED))
        }
        assertEquals(CaseState.REPORTED, illegal.from)
        assertEquals(CaseState.DISPATCHED, illegal.to)
        // Legal, but the office's step (the role table): refused on the phone.
        val role = expect<GridPatrolException.RoleNotAllowed> {
            store.moveCase(CaseStepInput(caseId = report.caseId, to = CaseState.ACCEPTED))
        }
        assertEquals("to", role.field)
        assertEquals(listOf(CaseState.CLOSED), store.caseTimeline(report.caseId).nextSteps.map { it.to })
        assertEquals("case", expect<GridPatrolException.NotFound> { store.caseTimeline("no-such-case") }.entity)

        expect<GridPatrolException.EnrolmentCodeInvalid> {
            GridPatrolStore.enrol(File(dir, "other").path, hq.url, "WRNG-CODE-0000", DeviceSettings(), keys)
        }
        val unreachable = expect<GridPatrolException.HqUnreachable> {
            GridPatrolStore.enrol(File(dir, "other").path, "http://127.0.0.1:9", hq.code(), DeviceSettings(), keys)
        }
        assertTrue(unreachable.reason.isNotEmpty())
        expect<GridPatrolException.NotInitialised> {
            GridPatrolStore.open(File(dir, "nothing-here").path, DeviceSettings(), keys)
        }

        // Closing without the six clear items names what is missing.
        val other = store.fileReport(
            ReportInput(
                gridId = "g-0101",
                category = ReportCategory.RESIDENT_REQUEST,
                location = INSIDE,
                description = "路灯不亮 (street light out)",
                source = ReportSource.RESIDENT,
            ),
        )
        val notClear = expect<GridPatrolException.ClearItemsMissing> {
            store.moveCase(CaseStepInput(caseId = other.caseId, to = CaseState.CLOSED, photos = listOf(photo(3))))
        }
        assertTrue(ClearItem.FACTS in notClear.missing)
        assertFalse(ClearItem.LEDGER in notClear.missing)
        // One sealed family: a `when` over GridPatrolException is exhaustive.
        val described = when (val e: GridPatrolException = notClear) {
            is GridPatrolException.ClearItemsMissing -> e.missing.joinToString { it.label() }
            else -> "other"
        }
        assertTrue(described, described.contains("情况清"))
    }

    @Test fun cTwoThreadsAndConcurrentSyncsShareOneStore() = runBlocking<Unit> {
        val ids = Collections.synchronizedList(mutableListOf<String>())
        val recorders = listOf("h-0001", "h-0002").map { household ->
            async(Dispatchers.IO) {
                repeat(15) {
                    ids += store.recordVisit(
                        VisitInput(householdId = household, visitType = VisitType.ROUTINE, outcome = VisitOutcome.MET),
                    ).id
                    store.today()
                }
            }
        }
        // Two syncs at once while the threads record: the store runs them one after the other.
        val syncs = List(2) { async(Dispatchers.IO) { store.sync(null) } }
        recorders.awaitAll()
        assertEquals(2, syncs.awaitAll().size)
        store.sync(null)
        assertEquals(0uL, store.today().unsent.records)
        assertEquals(30, ids.size)
        val atHq = hq.get("/v1/admin/visits?from=2000-01-01&to=2100-01-01")
        for (id in ids) assertEquals(1, Regex(Regex.escape("\"id\":\"$id\"")).findAll(atHq).count())
    }

    @Test fun dConnectivityHintAsksForASync() = runBlocking<Unit> {
        val reasons = Collections.synchronizedList(mutableListOf<SyncReason>())
        store.setSyncScheduler(object : SyncScheduler {
            override fun syncWanted(reason: SyncReason) { reasons += reason }
        })
        assertFalse(store.networkChanged(false))
        assertTrue(reasons.isEmpty())
        assertTrue(store.networkChanged(true))
        assertFalse("a repeated hint asks for nothing more", store.networkChanged(true))
        assertEquals(listOf(SyncReason.NETWORK_RESTORED), reasons.toList())
        store.recordVisit(VisitInput(householdId = "h-0003", visitType = VisitType.ROUTINE, outcome = VisitOutcome.NOT_HOME))
        assertEquals(SyncReason.RECORDED_WHILE_ONLINE, reasons.last())
        assertEquals(0uL, store.sync(null).unsentAfter)
    }

    @Test fun eLabelsAndASecondHandleSharingTheStore() = runBlocking<Unit> {
        assertEquals("结案 (closed)", CaseState.CLOSED.label())
        assertEquals("安全隐患", ReportCategory.SAFETY_HAZARD.zh())
        assertEquals("acknowledge", TaskAction.ACKNOWLEDGE.code())
        val today = store.today()
        assertTrue(today.workerRole.contains("("))
        assertTrue(today.unsent.message.contains("("))
        // The store's language labels every screen: Chinese alone, English alone, or both.
        assertEquals("closed", CaseState.CLOSED.labelIn(Lang.EN))
        store.setLanguage(Lang.ZH)
        assertEquals("专职网格员", store.today().workerRole)
        store.setLanguage(Lang.EN)
        assertEquals("full-time grid worker", store.today().workerRole)
        store.setLanguage(Lang.BOTH)
        // AutoCloseable: a second handle on the same folder, closed by `use`. Handles on one
        // folder share the store and its listeners.
        val changes = Collections.synchronizedList(mutableListOf<DataChange>())
        store.addDataChangedListener(object : DataChangedListener {
            override fun onDataChanged(change: DataChange) { changes += change }
        })
        GridPatrolStore.open(folder.path, DeviceSettings(), keys).use { again ->
            assertEquals(store.device(), again.device())
            var last = ""
            for (handle in listOf(again, store, again)) {
                last = handle.recordVisit(VisitInput(householdId = "h-0002", visitType = VisitType.ROUTINE, outcome = VisitOutcome.MET)).id
            }
            assertTrue(changes.any { it is DataChange.Recorded && it.id == last })
        }
        assertEquals(3uL, store.today().unsent.records)
    }

    @Test fun fTheStoreIsEncryptedAtRestWithTheProvidersKey() = runBlocking<Unit> {
        // The phone holds HQ's residents (names and phones, for the worker's grid)…
        val residents = hq.residents()
        assertTrue(residents.toString(), residents.size >= 4 && residents.any { it.startsWith("138") })
        val shown = store.gridScreen("g-0101", HouseholdQuery()).households
        assertTrue(shown.map { it.name }.toString(), shown.any { it.name in residents })
        store.recordVisit(VisitInput(householdId = shown.first().id, visitType = VisitType.ROUTINE, outcome = VisitOutcome.MET))
        store.fileReport(
            ReportInput(
                gridId = "g-0101", category = ReportCategory.SAFETY_HAZARD, location = INSIDE,
                description = "楼道堆物 (clutter)", source = ReportSource.RESIDENT, photos = listOf(photo(4)),
            ),
        )
        store.sync(null)
        // The byte search finds them where they are in clear — HQ's own SQLite folder — so the
        // check below can fail.
        val atHq = filesUnder(hq.dir).values
        for (name in hq.residents().filter { !it.all(Char::isDigit) }) {
            assertTrue("$name at HQ", atHq.any { it.holds(name.encodeToByteArray()) })
        }
        // …yet no file under the store folder carries a name or a phone number in clear.
        val files = filesUnder(folder)
        val db = File(folder, "gridpatrol.db")
        assertTrue(files.keys.toString(), db in files)
        assertFalse(files.getValue(db).copyOf(16).contentEquals(SQLITE_HEADER))
        for ((file, bytes) in files) {
            assertFalse(file.path, bytes.copyOf(minOf(16, bytes.size)).contentEquals(SQLITE_HEADER))
            for (secret in residents) assertFalse("$secret in clear in $file", bytes.holds(secret.encodeToByteArray()))
        }
        // The key: made once by the provider, the same at every call, outside the store folder.
        val key = keys.file.readBytes()
        assertEquals(32, key.size)
        assertArrayEquals(key, keys.storeKey())
        assertFalse(keys.file.canonicalPath.startsWith(folder.canonicalPath + File.separator))
        for ((file, bytes) in files) assertFalse(file.path, bytes.holds(key))

        // Another key, while the store is open in this process and once it is closed: refused.
        expect<GridPatrolException.StoreKeyWrong> { GridPatrolStore.open(folder.path, DeviceSettings(), FixedKey(randomBytes(32))) }
        val device = store.device()
        store.close()
        expect<GridPatrolException.StoreKeyWrong> { GridPatrolStore.open(folder.path, DeviceSettings(), FixedKey(randomBytes(32))) }
        // A provider that cannot answer, and a key of the wrong size: typed errors.
        val locked = expect<GridPatrolException.KeyUnavailable> { GridPatrolStore.open(folder.path, DeviceSettings(), LockedKeys) }
        assertTrue(locked.reason, locked.reason.contains("keystore locked"))
        val short = expect<GridPatrolException.InvalidInput> { GridPatrolStore.open(folder.path, DeviceSettings(), FixedKey(randomBytes(16))) }
        assertEquals("key", short.field)
        expect<GridPatrolException.KeyUnavailable> {
            GridPatrolStore.enrol(File(dir, "other").path, hq.url, hq.code(), DeviceSettings(), LockedKeys)
        }
        assertFalse(File(dir, "other/gridpatrol.db").exists())
        // The right key from a fresh provider on the same key file opens it, data intact.
        store = GridPatrolStore.open(folder.path, DeviceSettings(), FileKeyProvider(keys.file))
        assertEquals(device, store.device())
        assertEquals(0uL, store.today().unsent.records)
        assertNotEquals(0, store.gridScreen("g-0101", HouseholdQuery()).households.size)
    }
}
