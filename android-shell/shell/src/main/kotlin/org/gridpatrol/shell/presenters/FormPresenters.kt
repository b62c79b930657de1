package org.gridpatrol.shell.presenters

import kotlinx.coroutines.CoroutineScope
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.model.FieldError
import org.gridpatrol.core.model.ReportForm
import org.gridpatrol.core.model.ReportInput
import org.gridpatrol.core.model.VisitForm
import org.gridpatrol.core.model.VisitInput
import org.gridpatrol.protocol.GeoPoint
import org.gridpatrol.protocol.NeedTag
import org.gridpatrol.protocol.Report
import org.gridpatrol.protocol.ReportCategory
import org.gridpatrol.protocol.ReportSource
import org.gridpatrol.protocol.Urgency
import org.gridpatrol.protocol.Visit
import org.gridpatrol.protocol.VisitOutcome
import org.gridpatrol.protocol.VisitType
import org.gridpatrol.shell.LocationSource
import org.gridpatrol.shell.Navigator
import org.gridpatrol.shell.Permission
import org.gridpatrol.shell.PermissionEvent
import org.gridpatrol.shell.PermissionsPresenter
import org.gridpatrol.shell.Presenter
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.ShellError

// ---------- 走访 visit form ----------

/** The visit being filled in; null until the worker picks (the core says what is required). */
data class VisitDraft(
    val visitType: VisitType? = null,
    val outcome: VisitOutcome? = null,
    val needs: List<NeedTag> = emptyList(),
    val note: String? = null,
    val satisfaction: UByte? = null,
    val caseId: String? = null,
)

data class VisitFormState(
    val householdId: String,
    val form: VisitForm? = null,
    val draft: VisitDraft = VisitDraft(),
    /** The core's validation, each error naming its field. */
    val errors: List<FieldError> = emptyList(),
    val saved: Visit? = null,
    val busy: Boolean = false,
    val error: ShellError? = null,
)

sealed interface VisitFormEvent {
    data class SetType(val type: VisitType) : VisitFormEvent
    data class SetOutcome(val outcome: VisitOutcome) : VisitFormEvent
    data class ToggleNeed(val need: NeedTag) : VisitFormEvent
    data class SetNote(val note: String) : VisitFormEvent
    data class SetSatisfaction(val score: UByte?) : VisitFormEvent
    data class SetCase(val caseId: String?) : VisitFormEvent
    data object Submit : VisitFormEvent
}

class VisitFormPresenter(
    private val store: GridPatrolStore,
    householdId: String,
    private val location: LocationSource,
    private val permissions: PermissionsPresenter,
    private val navigator: Navigator,
    scope: CoroutineScope,
) : Presenter<VisitFormState, VisitFormEvent>(VisitFormState(householdId), scope) {
    init {
        onEvent(Load)
    }

    private data object Load : VisitFormEvent

    override suspend fun handle(event: VisitFormEvent) {
        when (event) {
            // The form's first choices are shown selected: the worker sees every value that is sent.
            Load -> attempt(::fail) { store.visitForm(state.value.householdId) }?.let { f ->
                set {
                    it.copy(
                        form = f,
                        draft = it.draft.copy(
                            visitType = it.draft.visitType ?: f.visitTypes.firstOrNull()?.value,
                            outcome = it.draft.outcome ?: f.outcomes.firstOrNull()?.value,
                        ),
                    )
                }
            }
            is VisitFormEvent.SetType -> edit { it.copy(visitType = event.type) }
            is VisitFormEvent.SetOutcome -> edit { it.copy(outcome = event.outcome) }
            is VisitFormEvent.ToggleNeed -> edit { d ->
                d.copy(needs = if (event.need in d.needs) d.needs - event.need else d.needs + event.need)
            }
            is VisitFormEvent.SetNote -> edit { it.copy(note = event.note.ifBlank { null }) }
            is VisitFormEvent.SetSatisfaction -> edit { it.copy(satisfaction = event.score) }
            is VisitFormEvent.SetCase -> edit { it.copy(caseId = event.caseId) }
            VisitFormEvent.Submit -> submit()
        }
    }

    private fun edit(f: (VisitDraft) -> VisitDraft) = set { it.copy(draft = f(it.draft)) }
    private fun fail(e: ShellError) = set { it.copy(error = e, busy = false) }

    private suspend fun submit() {
        val s = state.value
        val form = s.form ?: return
        val d = s.draft
        set { it.copy(busy = true, error = null) }
        // Where the visit happened, when a fix is at hand (optional for a visit).
        val fix = if (permissions.state.value.granted(Permission.LOCATION)) location.currentFix() else null
        val input = VisitInput(
            householdId = s.householdId,
            visitType = d.visitType ?: form.visitTypes.first().value,
            outcome = d.outcome ?: form.outcomes.first().value,
            needs = d.needs,
            note = d.note,
            satisfaction = d.satisfaction,
            caseId = d.caseId,
            location = fix?.let { GeoPoint(lat = it.lat, lng = it.lng) },
        )
        val errors = attempt(::fail) { store.validateVisit(input) } ?: return
        if (errors.isNotEmpty()) return set { it.copy(errors = errors, busy = false) }
        val visit = attempt(::fail) { store.recordVisit(input) } ?: return
        set { it.copy(saved = visit, errors = emptyList(), busy = false) }
        navigator.pop()
    }
}

// ---------- 上报 report form ----------

data class ReportDraft(
    val gridId: String? = null,
    val category: ReportCategory? = null,
    val urgency: Urgency? = null,
    val description: String = "",
    val peopleInvolved: UInt = 0u,
    val source: ReportSource = ReportSource.PATROL,
    /** Paths of photos the camera wrote into the app's cache (the core copies and strips them). */
    val photos: List<String> = emptyList(),
    val location: GeoPoint? = null,
)

data class ReportFormState(
    val form: ReportForm? = null,
    val draft: ReportDraft = ReportDraft(),
    val patrolId: String? = null,
    val errors: List<FieldError> = emptyList(),
    val saved: Report? = null,
    /** The camera should open now (asked for and allowed); the app launches it once. */
    val captureRequested: Boolean = false,
    val busy: Boolean = false,
    val error: ShellError? = null,
)

sealed interface ReportFormEvent {
    data class SetGrid(val gridId: String) : ReportFormEvent
    data class SetCategory(val category: ReportCategory) : ReportFormEvent
    data class SetUrgency(val urgency: Urgency?) : ReportFormEvent
    data class SetDescription(val text: String) : ReportFormEvent
    data class SetSource(val source: ReportSource) : ReportFormEvent
    data class SetPeopleInvolved(val n: UInt) : ReportFormEvent
    /** Open the camera: asks for the permission first when it is not granted. */
    data object TakePhoto : ReportFormEvent
    /** The camera returned: the photo's path, or null when the worker cancelled. */
    data class PhotoTaken(val path: String?) : ReportFormEvent
    data class RemovePhoto(val path: String) : ReportFormEvent
    data object Locate : ReportFormEvent
    data object Submit : ReportFormEvent
}

class ReportFormPresenter(
    private val store: GridPatrolStore,
    gridId: String?,
    patrolId: String?,
    private val location: LocationSource,
    private val permissions: PermissionsPresenter,
    private val navigator: Navigator,
    scope: CoroutineScope,
) : Presenter<ReportFormState, ReportFormEvent>(
    // Found on a patrol, or told by a resident: the worker can change it (SetSource).
    ReportFormState(
        draft = ReportDraft(gridId = gridId, source = if (patrolId != null) ReportSource.PATROL else ReportSource.RESIDENT),
        patrolId = patrolId,
    ),
    scope,
) {
    init {
        onEvent(Load)
    }

    private data object Load : ReportFormEvent

    override suspend fun handle(event: ReportFormEvent) {
        when (event) {
            Load -> {
                // Shown selected: the grid it was opened for (or the first), the first category.
                attempt(::fail) { store.reportForm() }?.let { f ->
                    set {
                        it.copy(
                            form = f,
                            draft = it.draft.copy(
                                gridId = it.draft.gridId ?: f.grids.firstOrNull()?.id,
                                category = it.draft.category ?: f.categories.firstOrNull()?.value,
                            ),
                        )
                    }
                }
                locate()
            }
            is ReportFormEvent.SetGrid -> edit { it.copy(gridId = event.gridId) }
            is ReportFormEvent.SetCategory -> edit { it.copy(category = event.category) }
            is ReportFormEvent.SetUrgency -> edit { it.copy(urgency = event.urgency) }
            is ReportFormEvent.SetDescription -> edit { it.copy(description = event.text) }
            is ReportFormEvent.SetSource -> edit { it.copy(source = event.source) }
            is ReportFormEvent.SetPeopleInvolved -> edit { it.copy(peopleInvolved = event.n) }
            ReportFormEvent.TakePhoto ->
                if (permissions.state.value.granted(Permission.CAMERA)) set { it.copy(captureRequested = true) }
                else permissions.onEvent(PermissionEvent.Need(Permission.CAMERA))
            is ReportFormEvent.PhotoTaken -> set { s ->
                val photos = event.path?.let { s.draft.photos + it } ?: s.draft.photos
                s.copy(captureRequested = false, draft = s.draft.copy(photos = photos))
            }
            is ReportFormEvent.RemovePhoto -> edit { it.copy(photos = it.photos - event.path) }
            ReportFormEvent.Locate -> locate()
            ReportFormEvent.Submit -> submit()
        }
    }

    private fun edit(f: (ReportDraft) -> ReportDraft) = set { it.copy(draft = f(it.draft)) }
    private fun fail(e: ShellError) = set { it.copy(error = e, busy = false) }

    private suspend fun locate() {
        if (!permissions.state.value.granted(Permission.LOCATION)) {
            permissions.onEvent(PermissionEvent.Need(Permission.LOCATION))
            return
        }
        val fix = location.currentFix() ?: return fail(ShellError(ShellError.Kind.NO_LOCATION, "location"))
        edit { it.copy(location = GeoPoint(lat = fix.lat, lng = fix.lng)) }
    }

    private suspend fun submit() {
        val s = state.value
        val form = s.form ?: return
        val d = s.draft
        if (d.location == null) {
            return set { it.copy(error = ShellError(ShellError.Kind.NO_LOCATION, "location")) }
        }
        val input = ReportInput(
            gridId = d.gridId ?: form.grids.first().id,
            category = d.category ?: form.categories.first().value,
            urgency = d.urgency,
            location = d.location,
            description = d.description,
            peopleInvolved = d.peopleInvolved,
            source = d.source,
            patrolId = s.patrolId,
            photos = d.photos,
        )
        set { it.copy(busy = true, error = null) }
        val errors = attempt(::fail) { store.validateReport(input) } ?: return
        if (errors.isNotEmpty()) return set { it.copy(errors = errors, busy = false) }
        val report = attempt(::fail) { store.fileReport(input) } ?: return
        set { it.copy(saved = report, errors = emptyList(), busy = false) }
        navigator.replace(Route.Case(report.caseId))
    }
}
