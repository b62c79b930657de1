package org.gridpatrol.shell.presenters

import java.time.Instant
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.flatMapLatest
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.core.caseFlow
import org.gridpatrol.core.caseInboxFlow
import org.gridpatrol.core.model.Action
import org.gridpatrol.core.model.ActionOption
import org.gridpatrol.core.model.CaseFilter
import org.gridpatrol.core.model.CaseInbox
import org.gridpatrol.core.model.CaseStepInput
import org.gridpatrol.core.model.CaseTimeline
import org.gridpatrol.protocol.CaseEvent
import org.gridpatrol.protocol.ClearItems
import org.gridpatrol.shell.ActionRouter
import org.gridpatrol.shell.Confirming
import org.gridpatrol.shell.Navigator
import org.gridpatrol.shell.Presenter
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.ShellError
import org.gridpatrol.shell.results

// ---------- 案件 case inbox ----------

data class CaseInboxState(
    val filter: CaseFilter = CaseFilter(openOnly = true),
    val inbox: CaseInbox? = null,
    /** The core refused the filter (e.g. `grid_id` not one of this worker's grids). */
    val error: ShellError? = null,
)

sealed interface CaseInboxEvent {
    data class SetFilter(val filter: CaseFilter) : CaseInboxEvent
    data class Open(val caseId: String) : CaseInboxEvent
}

@OptIn(ExperimentalCoroutinesApi::class)
class CaseInboxPresenter(
    private val store: GridPatrolStore,
    private val navigator: Navigator,
    scope: CoroutineScope,
) : Presenter<CaseInboxState, CaseInboxEvent>(CaseInboxState(), scope) {
    private val filter = MutableStateFlow(state.value.filter)

    init {
        follow(filter.flatMapLatest { f -> store.caseInboxFlow(f).results() }) { s, r ->
            r.fold({ s.copy(inbox = it, error = null) }, { s.copy(inbox = null, error = ShellError.of(it)) })
        }
    }

    override suspend fun handle(event: CaseInboxEvent) {
        when (event) {
            is CaseInboxEvent.SetFilter -> {
                set { it.copy(filter = event.filter) }
                filter.value = event.filter
            }
            is CaseInboxEvent.Open -> navigator.push(Route.Case(event.caseId))
        }
    }
}

// ---------- 案件 one case: timeline, 问题六清, steps ----------

data class CaseScreenState(
    val caseId: String,
    val case: CaseTimeline? = null,
    /** The six clear items being filled in for the next step (the core says which are missing). */
    val clear: ClearItems = ClearItems(),
    val note: String? = null,
    val photos: List<String> = emptyList(),
    /**
     * The JPEG thumbnails of the case's photos by SHA-256, as the core returns them from the
     * encrypted store (no file path exists; the app decodes them: BitmapFactory.decodeByteArray).
     */
    val thumbnails: Map<String, ByteArray> = emptyMap(),
    val lastStep: CaseEvent? = null,
    val confirming: Confirming? = null,
    val busy: Boolean = false,
    val error: ShellError? = null,
)

sealed interface CaseScreenEvent {
    data class SetFacts(val text: String) : CaseScreenEvent
    data class SetResponsibleUnit(val text: String) : CaseScreenEvent
    data class SetDeadline(val at: Instant?) : CaseScreenEvent
    data class SetOutcome(val text: String) : CaseScreenEvent
    data class SetFeedback(val text: String) : CaseScreenEvent
    data class SetNote(val text: String) : CaseScreenEvent
    data class PhotoTaken(val path: String) : CaseScreenEvent
    /** One of `case.actions`: a `CaseStep` the worker's role may take now. */
    data class Act(val option: ActionOption) : CaseScreenEvent
    data object Confirm : CaseScreenEvent
    data object Dismiss : CaseScreenEvent
}

class CasePresenter(
    private val store: GridPatrolStore,
    caseId: String,
    private val router: ActionRouter,
    scope: CoroutineScope,
) : Presenter<CaseScreenState, CaseScreenEvent>(CaseScreenState(caseId), scope) {
    init {
        follow(store.caseFlow(caseId), { s, e -> s.copy(error = e) }) { s, c -> s.copy(case = c) }
        scope.launch {
            state.map { s -> s.case?.photos.orEmpty().map { it.sha256 } }.distinctUntilChanged().collect { loadThumbnails(it) }
        }
    }

    /** Read the thumbnails not loaded yet, off the caller's thread (the store reads its disk). */
    private suspend fun loadThumbnails(shas: List<String>) {
        for (sha in shas) {
            if (sha in state.value.thumbnails) continue
            val bytes = attempt({ e -> set { it.copy(error = e) } }) {
                withContext(Dispatchers.IO) { store.attachmentThumbnail(sha) }
            } ?: continue
            set { it.copy(thumbnails = it.thumbnails + (sha to bytes)) }
        }
    }

    override suspend fun handle(event: CaseScreenEvent) {
        when (event) {
            is CaseScreenEvent.SetFacts -> clear { it.copy(facts = event.text.ifBlank { null }) }
            is CaseScreenEvent.SetResponsibleUnit -> clear { it.copy(responsibleUnit = event.text.ifBlank { null }) }
            is CaseScreenEvent.SetDeadline -> clear { it.copy(deadline = event.at) }
            is CaseScreenEvent.SetOutcome -> clear { it.copy(outcome = event.text.ifBlank { null }) }
            is CaseScreenEvent.SetFeedback -> clear { it.copy(feedback = event.text.ifBlank { null }) }
            is CaseScreenEvent.SetNote -> set { it.copy(note = event.text.ifBlank { null }) }
            is CaseScreenEvent.PhotoTaken -> set { it.copy(photos = it.photos + event.path) }
            is CaseScreenEvent.Act ->
                if (event.option.confirm != null) set { it.copy(confirming = Confirming(event.option)) }
                else perform(event.option.action)
            CaseScreenEvent.Confirm -> state.value.confirming?.let { c ->
                set { it.copy(confirming = null) }
                perform(c.option.action, confirmed = true)
            }
            CaseScreenEvent.Dismiss -> set { it.copy(confirming = null, error = null) }
        }
    }

    private fun clear(f: (ClearItems) -> ClearItems) = set { it.copy(clear = f(it.clear)) }
    private fun fail(e: ShellError) = set { it.copy(error = e, busy = false) }

    private suspend fun perform(action: Action, confirmed: Boolean = false) {
        if (action !is Action.CaseStep) {
            attempt(::fail) { router.perform(action, confirmed) }
            return
        }
        val s = state.value
        set { it.copy(busy = true, error = null) }
        val step = attempt(::fail) {
            store.moveCase(CaseStepInput(caseId = action.caseId, to = action.to, note = s.note, clear = s.clear, photos = s.photos))
        } ?: return
        set { it.copy(lastStep = step, busy = false, photos = emptyList(), note = null) }
    }
}
