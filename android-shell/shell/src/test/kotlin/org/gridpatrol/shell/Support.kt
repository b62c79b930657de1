// Test support for the shell suite: a live HQ (as bindings/tests/kotlin does), fakes for the
// platform interfaces only (named Fake…), and helpers to await presenter states.
package org.gridpatrol.shell

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.security.SecureRandom
import java.time.Duration
import java.time.Instant
import java.util.Collections
import java.util.UUID
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import org.gridpatrol.core.DeviceSettings
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.KeyProvider
import org.gridpatrol.core.KeyProviderException
import org.gridpatrol.protocol.GeoPoint

val INSIDE = GeoPoint(lat = 31.232, lng = 121.473) // inside grid g-0101 of the sample config
private val ADMIN_TOKEN = "shell-suite-admin-" + UUID.randomUUID().toString().replace("-", "")

/** The JPEGs `cargo xtask test-shells` writes into $GRIDPATROL_FIXTURES. */
fun fixtureJpeg(variant: Int): ByteArray =
    File(System.getenv("GRIDPATROL_FIXTURES") ?: error("GRIDPATROL_FIXTURES is not set"), "photo-$variant.jpg").readBytes()

/** A real `gridpatrol hq serve` on loopback with a temporary SQLite folder. */
class Hq {
    private val bin = System.getenv("GRIDPATROL_BIN") ?: error("GRIDPATROL_BIN is not set")
    private val dir: File = Files.createTempDirectory("gp-shell-hq-").toFile()
    private val process: Process
    private val http: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
    val url: String

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
        thread(isDaemon = true) { runCatching { out.forEachLine { } } } // never block HQ on a full pipe
        val sample = ProcessBuilder(bin, "device", "sample-config").start().inputStream.readBytes().decodeToString()
        post("/v1/admin/import", sample)
    }

    fun stop() {
        process.destroy()
        process.waitFor(10, TimeUnit.SECONDS)
        dir.deleteRecursively()
    }

    private fun send(method: String, path: String, body: String?): ByteArray {
        val req = HttpRequest.newBuilder(URI.create(url + path))
            .header("Authorization", "Bearer $ADMIN_TOKEN")
            .timeout(Duration.ofSeconds(10))
            .method(method, if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(body))
        if (body != null) req.header("Content-Type", "application/json")
        val resp = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray())
        check(resp.statusCode() in 200..299) { "$method $path: ${resp.statusCode()} ${resp.body().decodeToString()}" }
        return resp.body()
    }

    fun get(path: String): String = send("GET", path, null).decodeToString()
    fun bytes(path: String): ByteArray = send("GET", path, null)
    fun post(path: String, json: String): String = send("POST", path, json).decodeToString()
    fun put(path: String, json: String): String = send("PUT", path, json).decodeToString()

    fun code(worker: String = "w-001"): String =
        Regex("\"code\":\"([^\"]+)\"").find(post("/v1/admin/workers/$worker/enrolment-codes", "{}"))!!.groupValues[1]

    /** How many times HQ's list of patrols/visits/reports holds the record `id`. */
    fun count(kind: String, id: String): Int =
        Regex(Regex.escape("\"id\":\"$id\"")).findAll(get("/v1/admin/$kind?from=2000-01-01&to=2100-01-01")).count()

    /** Dispatch a 110 non-police diversion task to worker w-001. */
    fun dispatch110(taskId: String, unitId: String) {
        post("/v1/admin/units", """{"id":"$unitId","kind":"justice","name":"司法所 (justice office)","community_ids":["c-01"]}""")
        post(
            "/v1/admin/tasks",
            """{"id":"$taskId","source":"diversion_110","title":"邻里噪音纠纷 (noise dispute)","description":"110 转派",
               "target_unit":"人民调解 (mediation)","assignee_id":"w-001","grid_id":"g-0101","deadline":"2030-01-01T00:00:00Z",
               "unit_id":"$unitId","caller":"13812345678"}""",
        )
    }
}

// ---------- fakes for the platform interfaces ----------

class FakeLocationSource(var next: Fix? = Fix(INSIDE.lat, INSIDE.lng, 8.0, false, Instant.EPOCH)) : LocationSource {
    override suspend fun currentFix(): Fix? = next
}

class FakeKeyStore : KeyStore {
    val values = Collections.synchronizedMap(mutableMapOf<String, String>())
    override fun get(name: String): String? = values[name]
    override fun put(name: String, value: String) { values[name] = value }
    override fun remove(name: String) { values.remove(name) }
}

/**
 * The store key as the Keystore-backed provider behaves: 32 bytes from [SecureRandom] made on the
 * first call and the same at every call after (kept in memory here, not in a Keystore). [locked]
 * makes it throw as a Keystore that cannot answer does.
 */
class FakeKeyProvider(private var key: ByteArray? = null) : KeyProvider {
    @Volatile var locked = false
    val calls = AtomicInteger()

    override fun storeKey(): ByteArray {
        calls.incrementAndGet()
        if (locked) throw KeyProviderException.Unavailable("keystore locked (test)")
        synchronized(this) {
            val k = key ?: ByteArray(32).also { SecureRandom().nextBytes(it) }.also { key = it }
            return k.copyOf()
        }
    }
}

class FakeNetworkMonitor(initial: DeviceConditions = DeviceConditions(Network.UNMETERED)) : NetworkMonitor {
    private val flow = MutableStateFlow(initial)
    override val conditions: StateFlow<DeviceConditions> = flow
    fun set(c: DeviceConditions) { flow.value = c }
}

class FakeWorkScheduler : WorkScheduler {
    val enqueued: MutableList<WorkRequest> = Collections.synchronizedList(mutableListOf())
    var periodic: Duration? = null
    override fun enqueue(request: WorkRequest) { enqueued += request }
    override fun schedulePeriodic(every: Duration) { periodic = every }

    /** What WorkManager would do: run each queued request through the app's one sync path. */
    suspend fun runAll(runner: SyncRunner): List<Result<*>> {
        val batch = synchronized(enqueued) { enqueued.toList().also { enqueued.clear() } }
        return batch.map { runner.run(it) }
    }
}

class FakeClock(var at: Instant = Instant.parse("2026-11-30T12:00:00Z")) : Clock {
    override fun now(): Instant = at
}

// ---------- the shell as the app assembles it, on a real store ----------

/** One worker's phone: a real store enrolled at the live HQ, and the shell's parts around it. */
class Phone(val hq: Hq) : AutoCloseable {
    val dir: File = Files.createTempDirectory("gp-shell-phone-").toFile()
    val keyStore = FakeKeyStore()
    val keys = FakeKeyProvider()
    val network = FakeNetworkMonitor()
    val scheduler = FakeWorkScheduler()
    val location = FakeLocationSource()
    val clock = FakeClock()
    /** Exceptions that escaped a presenter's or the coordinator's coroutines: none, ever. */
    val escaped: MutableList<Throwable> = Collections.synchronizedList(mutableListOf())
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineExceptionHandler { _, e -> escaped += e })
    val navigator = Navigator(Route.Enrolment)
    val permissions = PermissionsPresenter()
    val folder = File(dir, "store")
    val opener = StoreOpener(folder, keyStore, keys, deviceId = null) { it.copy(syncMaxAttempts = 2u) }
    lateinit var store: GridPatrolStore
    lateinit var runner: SyncRunner
    lateinit var coordinator: SyncCoordinator
    lateinit var router: ActionRouter

    /** What the app does once it holds a store (after enrolment or at a later launch). */
    fun wire(s: GridPatrolStore) {
        store = s
        runner = SyncRunner(s, clock, network)
        coordinator = SyncCoordinator(s, network, scheduler, runner, clock)
        coordinator.attach(scope)
        router = ActionRouter(s, navigator, coordinator)
    }

    suspend fun enrolDirectly() {
        wire(opener.enrol(hq.url, hq.code()))
        await(coordinator.online, "the first connectivity hint") { it != null }
    }

    fun photo(variant: Int): String = File(dir, "photo-$variant.jpg").apply { writeBytes(fixtureJpeg(variant)) }.path

    fun grantAll() = Permission.entries.forEach { permissions.onEvent(PermissionEvent.OsReports(it, true)) }

    override fun close() {
        runBlocking { scope.coroutineContext[Job]!!.cancelAndJoin() }
        if (::store.isInitialized) store.close()
        dir.deleteRecursively()
        check(escaped.isEmpty()) { "uncaught in the shell's coroutines: $escaped" }
    }
}

/** The first state of [flow] that satisfies [p] (within 10 s). */
suspend fun <S> await(flow: StateFlow<S>, what: String = "state", p: (S) -> Boolean): S =
    try {
        withTimeout(10_000) { flow.first(p) }
    } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
        throw AssertionError("timed out waiting for $what; last: ${flow.value}")
    }
