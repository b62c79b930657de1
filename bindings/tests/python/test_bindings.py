"""GridPatrol's Python binding against a live HQ.

Run by `cargo xtask test-bindings python` (PYTHONPATH holds the generated module and its
library; GRIDPATROL_BIN is the `gridpatrol` binary HQ runs from).
"""

import asyncio
import gc
import hashlib
import json
import os
import secrets
import subprocess
import tempfile
import threading
import unittest
import urllib.request
from datetime import datetime, timedelta, timezone

# Each type comes from the crate that defines it: the protocol's vocabulary and records, the
# core's inputs and sync phases, the bindings' store, settings, listeners and error.
from gridpatrol_core import (
    Action,
    CaseFilter,
    CaseStepInput,
    CheckInInput,
    HouseholdQuery,
    ReportInput,
    ShiftStatus,
    SyncPhase,
    TaskActionInput,
    VisitInput,
)
from gridpatrol_core import NetworkKind, SyncCancel, SyncMode, SyncSend
from gridpatrol_ffi import (
    DataChange,
    DataChangedListener,
    DeviceSettings,
    GridPatrolError,
    GridPatrolStore,
    KeyProvider,
    KeyProviderError,
    SyncProgressListener,
    SyncReason,
    SyncScheduler,
)
from gridpatrol_streams import task_inbox_updates
from gridpatrol_protocol import (
    Answer,
    CaseState,
    ChecklistAnswer,
    ClearItem,
    ClearItems,
    GeoPoint,
    Lang,
    PatrolOutcome,
    PatrolShift,
    ReportCategory,
    ReportSource,
    TaskAction,
    TaskStatus,
    VisitOutcome,
    VisitType,
)

ADMIN_TOKEN = "py-suite-admin-" + secrets.token_hex(16)
INSIDE = GeoPoint(lat=31.232, lng=121.473)  # inside grid g-0101 of the sample config


def tiny_jpeg(variant: int) -> bytes:
    """A tiny JPEG with a comment the store strips (testing/src/lib.rs `tiny_jpeg_with_comment`,
    written by `cargo xtask test-bindings` into $GRIDPATROL_FIXTURES)."""
    with open(os.path.join(os.environ["GRIDPATROL_FIXTURES"], f"photo-{variant}.jpg"), "rb") as f:
        return f.read()


SQLITE_HEADER = b"SQLite format 3\0"


class FileKeyProvider(KeyProvider):
    """The store key the way a desktop or test installation keeps it: 32 bytes from the OS's
    secure random (``secrets``), written once to a file of its own — outside the store folder,
    readable by this user only — and read back at every later call."""

    def __init__(self, path):
        self.path = path
        self.calls = 0

    def store_key(self):
        self.calls += 1
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            with open(self.path, "rb") as f:
                return f.read()
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        return key


class FixedKey(KeyProvider):
    """Always the same given bytes (another installation's key, or a key of the wrong size)."""

    def __init__(self, key):
        self.key = key

    def store_key(self):
        return self.key


class LockedKeys(KeyProvider):
    """A platform key store that cannot answer (a locked Keychain, a failing Keystore)."""

    def store_key(self):
        raise KeyProviderError.Unavailable("keystore locked (test)")


def files_under(folder):
    """Every file under ``folder``, with its bytes."""
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                yield path, f.read()


def residents_of_sample(sample):
    """Names and phone numbers of the residents in HQ's test data (the sample configuration)."""
    out = []
    for h in sample["households"]:
        out.append(h["name"])
        if h.get("phone"):
            out.append(h["phone"])
    return out


class Hq:
    """A real `gridpatrol hq serve` on loopback with a temporary SQLite folder."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="gp-hq-")
        env = dict(os.environ, GRIDPATROL_ADMIN_TOKEN=ADMIN_TOKEN)
        self.proc = subprocess.Popen(
            [os.environ["GRIDPATROL_BIN"], "hq", "serve", "--listen", "127.0.0.1:0", "--database", self.dir.name],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        self.url = None
        for line in self.proc.stdout:
            if "listening on " in line:
                self.url = line.strip().split("listening on ", 1)[1]
                break
        if not self.url:
            raise RuntimeError("HQ did not start")
        # Keep draining its output so it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        sample = subprocess.run(
            [os.environ["GRIDPATROL_BIN"], "device", "sample-config"], check=True, capture_output=True, text=True
        ).stdout
        self.sample = json.loads(sample)
        self.post("/v1/admin/import", self.sample)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.dir.cleanup()

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + ADMIN_TOKEN)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    def get(self, path):
        return json.loads(self.request("GET", path))

    def post(self, path, body):
        return json.loads(self.request("POST", path, body) or b"null")

    def code(self, worker="w-001"):
        return self.post(f"/v1/admin/workers/{worker}/enrolment-codes", {})["code"]

    def rows(self, kind):
        """HQ's rows of patrols, visits or reports."""
        rows = self.get(f"/v1/admin/{kind}?from=2000-01-01&to=2100-01-01")
        return rows if isinstance(rows, list) else rows["rows"]

    def ids(self, kind):
        """Ids HQ holds for patrols, visits or reports (with repeats, if any)."""
        return [r["id"] for r in self.rows(kind)]


HQ: Hq = None


def setUpModule():
    global HQ
    HQ = Hq()


def tearDownModule():
    HQ.stop()


class Progress(SyncProgressListener):
    def __init__(self):
        self.seen = []

    def on_progress(self, progress):
        self.seen.append(progress)


class Changes(DataChangedListener):
    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()

    def on_data_changed(self, change):
        with self.lock:
            self.seen.append(change)


class Scheduler(SyncScheduler):
    def __init__(self):
        self.reasons = []

    def sync_wanted(self, reason):
        self.reasons.append(reason)


class BindingsTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="gp-phone-")
        # The key lives in a folder of its own, never in the store folder (the platform's key store).
        os.mkdir(os.path.join(self.tmp.name, "keys"), 0o700)
        self.keys = FileKeyProvider(os.path.join(self.tmp.name, "keys", "store.key"))
        self.folder = os.path.join(self.tmp.name, "store")
        self.store = await GridPatrolStore.enrol(
            self.folder, HQ.url, HQ.code(), DeviceSettings(sync_max_attempts=2), self.keys
        )

    async def asyncTearDown(self):
        del self.store
        self.tmp.cleanup()

    def photo(self, variant):
        path = os.path.join(self.tmp.name, f"photo-{variant}.jpg")
        with open(path, "wb") as f:
            f.write(tiny_jpeg(variant))
        return path

    def camera_photo(self):
        """A camera-sized JPEG (written by `cargo xtask test-bindings` into $GRIDPATROL_FIXTURES)."""
        path = os.path.join(self.tmp.name, "camera.jpg")
        with open(os.path.join(os.environ["GRIDPATROL_FIXTURES"], "camera.jpg"), "rb") as src, open(path, "wb") as f:
            f.write(src.read())
        return path

    def all_answers(self):
        return [ChecklistAnswer(item_id=i.id, answer=Answer.OK) for i in self.store.active_template().patrol.checklist]

    async def test_a_field_day_through_screen_models_reaches_hq_exactly_once(self):
        """A worker's day driven only by screen models and their actions."""
        s = self.store
        changes = Changes()
        s.add_data_changed_listener(changes)
        self.assertEqual(s.device().worker_id, "w-001")

        # Home: my grid from the list, with today's patrols not started.
        home = s.today()
        grid = home.grids[0]
        self.assertEqual(grid.id, "g-0101")
        self.assertEqual(grid.day_patrol, ShiftStatus.NOT_STARTED)
        self.assertGreaterEqual(len(grid.boundary), 3)
        start = next(
            a.action for a in home.actions if isinstance(a.action, Action.START_PATROL) and a.action.shift == PatrolShift.NIGHT
        )
        # The grid screen: a household picked from the list (search by name).
        grid_screen = s.grid_screen(start.grid_id, HouseholdQuery(text="陈"))
        household = grid_screen.households[0]
        self.assertTrue(household.phone.count("*") >= 4, "phones are masked")

        # 巡查: the patrol screen's checklist is the form; its parts say why.
        patrol = await s.start_patrol(start.grid_id, start.shift)
        screen = s.patrol_screen(patrol.id)
        answers = [ChecklistAnswer(item_id=i.item_id, answer=i.choices[0].value) for i in screen.checklist]
        for _ in range(2):
            cp = await s.check_in(patrol.id, CheckInInput(location=INSIDE, accuracy_m=8.0, answers=answers))
            self.assertTrue(cp.trusted)
        screen = s.patrol_screen(patrol.id)
        self.assertTrue(all(p.done for p in screen.parts[:2]), [p.why for p in screen.parts])
        finish = next(
            a.action for a in screen.actions
            if isinstance(a.action, Action.FINISH_PATROL) and a.action.outcome == PatrolOutcome.NOTHING_FOUND
        )
        patrol = await s.finish_patrol(finish.patrol_id, finish.outcome, None)
        self.assertEqual(s.today().grids[0].night_patrol, ShiftStatus.DONE)

        # 走访 through the visit form, checked by the core first.
        form = s.visit_form(household.id)
        routine = next(t.value for t in form.visit_types if not t.follow_up)
        bad = VisitInput(household_id=household.id, visit_type=routine, outcome=form.outcomes[0].value, satisfaction=4)
        self.assertEqual([e.field for e in s.validate_visit(bad)], ["satisfaction"])
        visit = await s.record_visit(
            VisitInput(household_id=household.id, visit_type=routine, outcome=form.outcomes[0].value)
        )

        # 上报 through the report form, with a photo; the case shows in the inbox.
        rf = s.report_form()
        hazard = next(c for c in rf.categories if c.report_at_once)
        report_input = ReportInput(
            grid_id=rf.grids[0].id,
            category=hazard.value,
            location=INSIDE,
            description="电动车楼道充电 (e-bike charging in the stairwell)",
            source=ReportSource.RESIDENT,
            photos=[self.camera_photo()],
        )
        self.assertEqual(s.validate_report(report_input), [])
        report = await s.file_report(report_input)
        # Stored downscaled (a 12 MP-style camera file to 1600 px), with a thumbnail for lists.
        self.assertEqual(max(jpeg_size(s.attachment_photo(report.photos[0]))), 1600)
        self.assertEqual(max(jpeg_size(s.attachment_thumbnail(report.photos[0]))), 320)
        inbox = s.case_inbox(CaseFilter(open_only=True))
        self.assertEqual([r.case_id for r in inbox.rows], [report.case_id])
        case = s.case_timeline(report.case_id)
        self.assertEqual([p.sha256 for p in case.photos], report.photos)
        close = next(a.action for a in case.actions if a.action.to == CaseState.CLOSED)
        closed = await s.move_case(
            CaseStepInput(
                case_id=close.case_id,
                to=close.to,
                clear=ClearItems(
                    facts="楼道内电动车充电",
                    responsible_unit="物业 (property management)",
                    deadline=datetime.now(timezone.utc) + timedelta(days=1),
                    outcome="已移除 (removed)",
                    feedback="居民满意",
                ),
                photos=[self.photo(2)],
            )
        )
        self.assertEqual(closed.to, CaseState.CLOSED)
        self.assertEqual([c.item for c in s.case_timeline(report.case_id).clear if not c.done], [ClearItem.LEDGER])

        # The sync status screen says what is not yet sent.
        status = s.sync_status()
        self.assertGreater(status.unsent.records, 0)
        self.assertEqual(status.photos_queued, 2)

        # 110 非警务分流: HQ routes a task to a unit and this worker; the task inbox's change
        # stream shows it after the sync that brings it, without polling.
        task_id = "t-py-" + secrets.token_hex(4)
        unit_id = "u-py-" + secrets.token_hex(4)
        HQ.post("/v1/admin/units", {"id": unit_id, "kind": "justice", "name": "司法所 (justice office)", "community_ids": ["c-01"]})
        stream = task_inbox_updates(s)
        before = await anext(stream)
        self.assertNotIn(task_id, [t.id for t in before.tasks])
        HQ.post(
            "/v1/admin/tasks",
            {
                "id": task_id,
                "source": "diversion_110",
                "title": "邻里噪音纠纷 (noise dispute)",
                "description": "110 转派",
                "target_unit": "人民调解 (mediation)",
                "assignee_id": "w-001",
                "grid_id": "g-0101",
                "deadline": "2030-01-01T00:00:00Z",
                "unit_id": unit_id,
                "caller": "13812345678",
            },
        )

        async def arrives():
            async for inbox in stream:
                if task_id in [t.id for t in inbox.tasks]:
                    return inbox

        waiting = asyncio.create_task(arrives())
        # A sync bounded to 2 s (an iOS background window is ~30 s); a run the budget stops says
        # what is left, and the next one goes on from there.
        listener = Progress()
        budget = SyncMode(time_budget_ms=2000, send=SyncSend.RECORDS_AND_PHOTOS, network=NetworkKind.UNMETERED)
        runs = [await s.sync_with(budget, None, listener)]
        while runs[-1].stopped_on_budget and len(runs) < 10:
            self.assertGreater(runs[-1].records_left + runs[-1].photos_left, 0)
            runs.append(await s.sync_with(budget, None, listener))
        self.assertFalse(runs[-1].stopped_on_budget)
        self.assertEqual(listener.seen[-1].phase, SyncPhase.DONE)
        self.assertGreaterEqual(sum(r.tasks_received for r in runs), 1)
        self.assertEqual(sum(r.photos_uploaded for r in runs), 2)
        await asyncio.wait_for(waiting, timeout=5)
        await stream.aclose()

        # The task page: caller masked, the steps its status allows, each an action.
        page = s.task_detail(task_id)
        self.assertEqual(page.caller, "138****5678")
        self.assertEqual(page.unit, "司法所 (justice office)")
        ack = next(a.action for a in page.actions if a.action.action == TaskAction.ACKNOWLEDGE)
        await s.act_on_task(TaskActionInput(task_id=ack.task_id, action=ack.action))
        page = s.task_detail(task_id)
        arrive = next(st for st in page.steps if st.action == TaskAction.ARRIVE)
        self.assertTrue(arrive.needs_location)
        with self.assertRaises(GridPatrolError.InvalidInput) as no_fix:
            await s.act_on_task(TaskActionInput(task_id=task_id, action=TaskAction.ARRIVE))
        self.assertEqual(no_fix.exception.field, "location")
        await s.act_on_task(TaskActionInput(task_id=task_id, action=TaskAction.ARRIVE, location=INSIDE))
        done = await s.act_on_task(
            TaskActionInput(task_id=task_id, action=TaskAction.COMPLETE, result="双方调解成功 (settled)")
        )
        self.assertEqual(done.status, TaskStatus.DONE)
        second = await s.sync(None)
        self.assertEqual(second.unsent_after, 0)
        self.assertEqual(s.sync_status().unsent.records, 0)

        # HQ holds every record exactly once, and the photo's bytes hash to its id.
        self.assertEqual(HQ.ids("patrols").count(patrol.id), 1)
        self.assertEqual(HQ.ids("visits").count(visit.id), 1)
        self.assertEqual(HQ.ids("reports").count(report.id), 1)
        hq_patrol = next(r for r in HQ.rows("patrols") if r["id"] == patrol.id)
        self.assertEqual(hq_patrol["checkins"], 2)
        hq_case = HQ.get(f"/v1/admin/cases/{report.case_id}")
        self.assertEqual(hq_case["state"], "closed")
        self.assertEqual([e["id"] for e in hq_case["events"]].count(closed.id), 1)
        self.assertEqual(len(hq_case["events"]), 2)  # reported, closed
        hq_task = next(t for t in HQ.get("/v1/admin/tasks") if t["id"] == task_id)
        self.assertEqual(hq_task["status"], "done")
        photo = HQ.request("GET", f"/v1/admin/attachments/{report.photos[0]}")
        self.assertEqual(hashlib.sha256(photo).hexdigest(), report.photos[0])
        self.assertNotIn(b"SECRETCAM", photo)

        # The listeners were told too: each recording, and the syncs that changed data.
        self.assertIn(DataChange.RECORDED, [type(c) for c in changes.seen])
        self.assertGreaterEqual(len([c for c in changes.seen if isinstance(c, DataChange.SYNCED)]), 2)

    async def test_b_typed_errors(self):
        s = self.store
        patrol = await s.start_patrol("g-0101", PatrolShift.DAY)
        with self.assertRaises(GridPatrolError.InvalidInput) as bad:
            await s.check_in(patrol.id, CheckInInput(location=GeoPoint(lat=200.0, lng=121.0)))
        self.assertEqual(bad.exception.field, "location.lat")
        self.assertIn("-90", bad.exception.reason)

        report = await s.file_report(
            ReportInput(
                grid_id="g-0101",
                category=ReportCategory.DISPUTE,
                location=INSIDE,
                description="邻里纠纷 (neighbours)",
                source=ReportSource.PATROL,
                patrol_id=patrol.id,
            )
        )
        with self.assertRaises(GridPatrolError.IllegalTransition) as illegal:
            await s.move_case(CaseStepInput(case_id=report.case_id, to=CaseState.DISPATCHED))
        self.assertEqual((illegal.exception._from, illegal.exception.to), (CaseState.REPORTED, CaseState.DISPATCHED))
        # Legal, but the office's step (the role table): refused on the phone, nothing recorded.
        with self.assertRaises(GridPatrolError.RoleNotAllowed) as role:
            await s.move_case(CaseStepInput(case_id=report.case_id, to=CaseState.ACCEPTED))
        self.assertEqual(role.exception.field, "to")
        self.assertEqual([o.to for o in s.case_timeline(report.case_id).next_steps], [CaseState.CLOSED])
        with self.assertRaises(GridPatrolError.NotFound) as missing:
            s.case_timeline("no-such-case")
        self.assertEqual(missing.exception.entity, "case")

        with self.assertRaises(GridPatrolError.EnrolmentCodeInvalid):
            await GridPatrolStore.enrol(
                os.path.join(self.tmp.name, "other"), HQ.url, "WRNG-CODE-0000", DeviceSettings(), self.keys
            )
        with self.assertRaises(GridPatrolError.HqUnreachable) as unreachable:
            await GridPatrolStore.enrol(
                os.path.join(self.tmp.name, "other"), "http://127.0.0.1:9", HQ.code(), DeviceSettings(), self.keys
            )
        self.assertTrue(unreachable.exception.reason)
        with self.assertRaises(GridPatrolError.NotInitialised):
            GridPatrolStore.open(os.path.join(self.tmp.name, "nothing-here"), DeviceSettings(), self.keys)

        # Closing without the six clear items names what is missing.
        other = await s.file_report(
            ReportInput(
                grid_id="g-0101",
                category=ReportCategory.RESIDENT_REQUEST,
                location=INSIDE,
                description="路灯不亮 (street light out)",
                source=ReportSource.RESIDENT,
            )
        )
        with self.assertRaises(GridPatrolError.ClearItemsMissing) as not_clear:
            await s.move_case(CaseStepInput(case_id=other.case_id, to=CaseState.CLOSED, photos=[self.photo(3)]))
        self.assertIn(ClearItem.FACTS, not_clear.exception.missing)
        self.assertNotIn(ClearItem.LEDGER, not_clear.exception.missing)
        # Errors are exceptions of one family.
        self.assertIsInstance(not_clear.exception, GridPatrolError)

    async def test_c_two_threads_and_concurrent_syncs_share_one_store(self):
        s = self.store
        errors = []
        ids = []
        lock = threading.Lock()

        def worker(household):
            try:
                for _ in range(15):
                    # A plain thread has no event loop: run the recording call on a fresh one.
                    v = asyncio.run(
                        s.record_visit(
                            VisitInput(household_id=household, visit_type=VisitType.ROUTINE, outcome=VisitOutcome.MET)
                        )
                    )
                    s.today()
                    with lock:
                        ids.append(v.id)
            except Exception as e:  # noqa: BLE001 - any error fails the test below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(h,)) for h in ("h-0001", "h-0002")]
        for t in threads:
            t.start()
        # Two syncs at once while the threads record: the store runs them one after the other.
        reports = await asyncio.gather(s.sync(None), s.sync(None))
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(reports), 2)
        await s.sync(None)
        self.assertEqual(s.today().unsent.records, 0)
        at_hq = HQ.ids("visits")
        self.assertEqual(len(ids), 30)
        self.assertTrue(all(at_hq.count(i) == 1 for i in ids))

    async def test_d_connectivity_hint_asks_for_a_sync(self):
        s = self.store
        scheduler = Scheduler()
        s.set_sync_scheduler(scheduler)
        self.assertFalse(s.network_changed(False))
        self.assertEqual(scheduler.reasons, [])
        self.assertTrue(s.network_changed(True))
        self.assertFalse(s.network_changed(True), "a repeated hint asks for nothing more")
        self.assertEqual(scheduler.reasons, [SyncReason.NETWORK_RESTORED])
        await s.record_visit(VisitInput(household_id="h-0003", visit_type=VisitType.ROUTINE, outcome=VisitOutcome.NOT_HOME))
        self.assertEqual(scheduler.reasons[-1], SyncReason.RECORDED_WHILE_ONLINE)
        report = await s.sync(None)
        self.assertEqual(report.unsent_after, 0)

    def test_e_labels_are_chinese_and_english(self):
        self.assertEqual(CaseState.CLOSED.label(), "结案 (closed)")
        self.assertEqual(ReportCategory.SAFETY_HAZARD.zh(), "安全隐患")
        self.assertEqual(TaskAction.ACKNOWLEDGE.code(), "acknowledge")
        today = self.store.today()
        self.assertIn("(", today.worker_role)
        self.assertIn("(", today.unsent.message)
        self.assertEqual(CaseState.CLOSED.label_in(Lang.EN), "closed")
        # The store's language labels every screen; Chinese alone, English alone, or both.
        self.store.set_language(Lang.ZH)
        self.assertEqual(self.store.today().worker_role, "专职网格员")
        self.store.set_language(Lang.EN)
        self.assertEqual(self.store.today().worker_role, "full-time grid worker")
        self.assertEqual(self.store.language(), Lang.EN)
        self.store.set_language(Lang.BOTH)

    async def test_f_a_second_handle_shares_the_store_and_its_listeners(self):
        changes = Changes()
        self.store.add_data_changed_listener(changes)
        again = GridPatrolStore.open(self.folder, DeviceSettings(), self.keys)
        self.assertEqual(again.device(), self.store.device())
        for handle in (again, self.store, again):
            v = await handle.record_visit(
                VisitInput(household_id="h-0002", visit_type=VisitType.ROUTINE, outcome=VisitOutcome.MET)
            )
        self.assertIn(v.id, [c.id for c in changes.seen if isinstance(c, DataChange.RECORDED)])
        self.assertEqual(self.store.today().unsent.records, 3)
        del again


    async def test_g_photos_are_downscaled_and_a_sync_can_be_bounded(self):
        s = self.store
        camera = os.path.join(self.tmp.name, "camera.jpg")
        with open(os.path.join(os.environ["GRIDPATROL_FIXTURES"], "camera.jpg"), "rb") as src, open(camera, "wb") as f:
            f.write(src.read())
        report = await s.file_report(
            ReportInput(
                grid_id="g-0101",
                category=ReportCategory.SAFETY_HAZARD,
                location=INSIDE,
                description="楼道堆物 (clutter in the stairwell)",
                source=ReportSource.RESIDENT,
                photos=[camera],
            )
        )
        sha = report.photos[0]
        # Photos live inside the encrypted store: the calls return their bytes.
        stored = s.attachment_photo(sha)
        self.assertIsInstance(stored, bytes)
        self.assertEqual(hashlib.sha256(stored).hexdigest(), sha)
        self.assertEqual(jpeg_size(stored), (1600, 1200))
        self.assertEqual(jpeg_size(s.attachment_thumbnail(sha)), (320, 240))
        with self.assertRaises(GridPatrolError.NotFound):
            s.attachment_original(sha)
        with self.assertRaises(GridPatrolError.NotFound) as missing:
            s.attachment_photo("0" * 64)
        self.assertEqual(missing.exception.entity, "attachment")
        # No copy of the photo (or its thumbnail) sits in the store folder as a file.
        for path, data in files_under(self.folder):
            self.assertNotIn(stored[:64], data, path)

        heic = os.path.join(self.tmp.name, "IMG_0001.HEIC")
        with open(heic, "wb") as f:
            f.write(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(32))
        with self.assertRaises(GridPatrolError.PhotoRefused) as refused:
            await s.file_report(
                ReportInput(
                    grid_id="g-0101",
                    category=ReportCategory.SAFETY_HAZARD,
                    location=INSIDE,
                    description="x",
                    source=ReportSource.RESIDENT,
                    photos=[heic],
                )
            )
        self.assertEqual((refused.exception.field, refused.exception.kind), ("photos[0]", "unsupported_format"))

        # Cancelled before it starts: nothing sent, said in the report.
        cancel = SyncCancel()
        cancel.cancel()
        anything = SyncMode(send=SyncSend.RECORDS_AND_PHOTOS, network=NetworkKind.UNMETERED)
        r = await s.sync_with(anything, cancel, None)
        self.assertTrue(r.cancelled)
        self.assertEqual((r.pushed, r.records_left, r.photos_left), (0, 1, 1))
        # On mobile data with photos waiting for Wi-Fi: the record goes, the photo waits.
        r = await s.sync_with(
            SyncMode(
                time_budget_ms=2000,
                send=SyncSend.RECORDS_AND_PHOTOS,
                network=NetworkKind.METERED,
                photos_wait_for_unmetered=True,
            ),
            None,
            None,
        )
        self.assertFalse(r.stopped_on_budget)
        self.assertTrue(r.photos_held_back)
        self.assertEqual((r.records_left, r.photos_left, r.photo_bytes_left), (0, 1, len(stored)))
        r = await s.sync_with(
            SyncMode(time_budget_ms=2000, send=SyncSend.RECORDS_AND_PHOTOS, network=NetworkKind.METERED), SyncCancel(), None
        )
        self.assertEqual((r.photos_uploaded, r.photos_left, r.photo_bytes_left), (1, 0, 0))
        self.assertEqual(HQ.request("GET", f"/v1/admin/attachments/{sha}"), stored)

    async def test_h_the_store_is_encrypted_at_rest_with_the_providers_key(self):
        s = self.store
        # The phone holds HQ's residents (names and phones, for the worker's grid)…
        residents = residents_of_sample(HQ.sample)
        self.assertGreaterEqual(len(residents), 4)
        shown = s.grid_screen("g-0101", HouseholdQuery()).households
        self.assertTrue(any(h.name in residents for h in shown), [h.name for h in shown])
        await s.record_visit(VisitInput(household_id=shown[0].id, visit_type=VisitType.ROUTINE, outcome=VisitOutcome.MET))
        await s.file_report(
            ReportInput(
                grid_id="g-0101",
                category=ReportCategory.SAFETY_HAZARD,
                location=INSIDE,
                description="楼道堆物 (clutter)",
                source=ReportSource.RESIDENT,
                photos=[self.photo(4)],
            )
        )
        await s.sync(None)
        # The byte search finds them where they are in clear — HQ's own SQLite folder — so the
        # check below can fail.
        at_hq = b"".join(data for _, data in files_under(HQ.dir.name))
        for name in (h["name"] for h in HQ.sample["households"]):
            self.assertIn(name.encode("utf-8"), at_hq)
        # …yet no file under the store folder carries a name or a phone number in clear.
        with open(os.path.join(self.folder, "gridpatrol.db"), "rb") as f:
            self.assertNotEqual(f.read(16), SQLITE_HEADER)
        files = dict(files_under(self.folder))
        self.assertIn(os.path.join(self.folder, "gridpatrol.db"), files)
        for path, data in files.items():
            self.assertFalse(data.startswith(SQLITE_HEADER), path)
            for secret in residents:
                self.assertNotIn(secret.encode("utf-8"), data, f"{secret!r} in clear in {path}")
        # The key is the provider's: made once, the same at every call, outside the store folder.
        with open(self.keys.path, "rb") as f:
            key = f.read()
        self.assertEqual(len(key), 32)
        self.assertEqual(self.keys.store_key(), key)
        self.assertFalse(os.path.abspath(self.keys.path).startswith(os.path.abspath(self.folder) + os.sep))
        for path, data in files.items():
            self.assertNotIn(key, data, path)
            self.assertNotIn(key.hex().encode(), data, path)

        # Another key, while this process has the store open and once it is closed: refused.
        with self.assertRaises(GridPatrolError.StoreKeyWrong):
            GridPatrolStore.open(self.folder, DeviceSettings(), FixedKey(secrets.token_bytes(32)))
        device = s.device()
        del s
        self.store = None
        gc.collect()
        with self.assertRaises(GridPatrolError.StoreKeyWrong):
            GridPatrolStore.open(self.folder, DeviceSettings(), FixedKey(secrets.token_bytes(32)))
        # A provider that cannot answer, and a key of the wrong size: typed, nothing opened.
        with self.assertRaises(GridPatrolError.KeyUnavailable) as locked:
            GridPatrolStore.open(self.folder, DeviceSettings(), LockedKeys())
        self.assertIn("keystore locked", locked.exception.reason)
        with self.assertRaises(GridPatrolError.InvalidInput) as short:
            GridPatrolStore.open(self.folder, DeviceSettings(), FixedKey(secrets.token_bytes(16)))
        self.assertEqual(short.exception.field, "key")
        with self.assertRaises(GridPatrolError.KeyUnavailable):
            await GridPatrolStore.enrol(os.path.join(self.tmp.name, "other"), HQ.url, HQ.code(), DeviceSettings(), LockedKeys())
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "other", "gridpatrol.db")))
        # The right key from a fresh provider on the same key file opens it again, data intact.
        again = GridPatrolStore.open(self.folder, DeviceSettings(), FileKeyProvider(self.keys.path))
        self.assertEqual(again.device(), device)
        self.assertEqual(again.today().unsent.records, 0)
        self.store = again


def jpeg_size(data: bytes):
    """(width, height) from a JPEG's SOF segment."""
    i = 2
    while i + 9 < len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
        i += 2 + length
    raise AssertionError("no SOF segment")


if __name__ == "__main__":
    unittest.main()
