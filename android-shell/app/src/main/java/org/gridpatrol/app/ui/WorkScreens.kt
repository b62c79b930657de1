// 案件 Case inbox and case, 任务 task inbox and task, 同步 sync status.
package org.gridpatrol.app.ui

import android.graphics.BitmapFactory
import androidx.compose.foundation.Image
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.LazyRow
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import androidx.compose.ui.res.stringResource
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import org.gridpatrol.app.R
import org.gridpatrol.shell.SyncDecision
import org.gridpatrol.shell.presenters.*

@Composable
fun CaseInboxScreen(p: CaseInboxPresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    val inbox = s.inbox
    Page(stringResource(R.string.cases)) {
        Switch(checked = s.filter.overdueOnly, onCheckedChange = { p.onEvent(CaseInboxEvent.SetFilter(s.filter.copy(overdueOnly = it))) })
        if (inbox != null) Text(stringResource(R.string.open_overdue, inbox.open.toInt(), inbox.overdue.toInt()))
        LazyColumn {
            items(inbox?.rows.orEmpty()) { c ->
                ListItem(
                    headlineContent = { Text(c.summary) },
                    supportingContent = { Text("${c.gridName} · ${c.categoryLabel} · ${c.stateLabel}") },
                    modifier = Modifier.clickable { p.onEvent(CaseInboxEvent.Open(c.caseId)) },
                )
            }
        }
    }
}

/** A JPEG from the store's bytes, decoded off the main thread (`BitmapFactory.decodeByteArray`). */
@Composable
fun PhotoThumbnail(jpeg: ByteArray, modifier: Modifier = Modifier) {
    val bitmap by produceState<ImageBitmap?>(initialValue = null, jpeg) {
        value = withContext(Dispatchers.Default) { BitmapFactory.decodeByteArray(jpeg, 0, jpeg.size)?.asImageBitmap() }
    }
    bitmap?.let { Image(it, contentDescription = null, modifier = modifier.size(96.dp)) }
}

@Composable
fun CaseScreen(p: CasePresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    val case = s.case ?: return Page(stringResource(R.string.cases)) { Text(stringResource(R.string.loading)) }
    Page("${case.categoryLabel} · ${case.stateLabel}") {
        Text(case.description)
        // The report's photos, from the thumbnails' bytes (the store is encrypted: no files).
        LazyRow {
            items(case.photos, key = { it.sha256 }) { photo -> s.thumbnails[photo.sha256]?.let { PhotoThumbnail(it) } }
        }
        case.clear.forEach { Text("${if (it.done) "✓" else "○"} ${it.label}") }
        OutlinedTextField(s.clear.facts.orEmpty(), { p.onEvent(CaseScreenEvent.SetFacts(it)) }, label = { Text(stringResource(R.string.clear_facts)) })
        OutlinedTextField(s.clear.responsibleUnit.orEmpty(), { p.onEvent(CaseScreenEvent.SetResponsibleUnit(it)) }, label = { Text(stringResource(R.string.clear_unit)) })
        OutlinedTextField(s.clear.outcome.orEmpty(), { p.onEvent(CaseScreenEvent.SetOutcome(it)) }, label = { Text(stringResource(R.string.clear_outcome)) })
        OutlinedTextField(s.clear.feedback.orEmpty(), { p.onEvent(CaseScreenEvent.SetFeedback(it)) }, label = { Text(stringResource(R.string.clear_feedback)) })
        ErrorLine(s.error)
        Actions(case.actions, enabled = !s.busy) { p.onEvent(CaseScreenEvent.Act(it)) }
        LazyColumn {
            items(case.events) { e ->
                ListItem(headlineContent = { Text(e.toLabel) }, supportingContent = { Text("${e.at} ${e.note.orEmpty()}") })
            }
        }
        ConfirmDialog(s.confirming, { p.onEvent(CaseScreenEvent.Confirm) }, { p.onEvent(CaseScreenEvent.Dismiss) })
    }
}

@Composable
fun TaskInboxScreen(p: TaskInboxPresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    Page(stringResource(R.string.tasks)) {
        Switch(checked = s.includeClosed, onCheckedChange = { p.onEvent(TaskInboxEvent.ShowClosed(it)) })
        LazyColumn {
            items(s.inbox?.tasks.orEmpty() + s.inbox?.listItems.orEmpty()) { t ->
                ListItem(
                    headlineContent = { Text(t.title) },
                    supportingContent = { Text("${t.sourceLabel} · ${t.statusLabel} · ${t.deadline}") },
                    modifier = Modifier.clickable { p.onEvent(TaskInboxEvent.Open(t.id)) },
                )
            }
        }
    }
}

@Composable
fun TaskScreen(p: TaskPresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    val task = s.task ?: return Page(stringResource(R.string.tasks)) { Text(stringResource(R.string.loading)) }
    Page("${task.title} · ${task.statusLabel}") {
        Text(task.description)
        Text(listOfNotNull(task.sourceLabel, task.unit, task.caller, task.categoryLabel).joinToString(" · "))
        OutlinedTextField(s.result, { p.onEvent(TaskEvent.SetResult(it)) }, label = { Text(stringResource(R.string.task_result)) })
        ErrorLine(s.error)
        Actions(task.actions, enabled = !s.busy) { p.onEvent(TaskEvent.Act(it)) }
        LazyColumn {
            items(task.events) { e -> ListItem(headlineContent = { Text(e.actionLabel) }, supportingContent = { Text("${e.at} ${e.result.orEmpty()}") }) }
        }
        ConfirmDialog(s.confirming, { p.onEvent(TaskEvent.Confirm) }, { p.onEvent(TaskEvent.Dismiss) })
    }
}

@Composable
fun SyncStatusScreen(p: SyncStatusPresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    val st = s.status ?: return Page(stringResource(R.string.sync)) { Text(stringResource(R.string.loading)) }
    Page(stringResource(R.string.sync)) {
        Text(st.unsent.message)
        Text(st.lastSync.message)
        Text(stringResource(R.string.photos_queued, st.photosQueued.toInt(), st.photoBytesQueued.toLong() / 1024))
        when (val d = s.decision) {
            is SyncDecision.Nothing -> Text(stringResource(R.string.sync_waiting))
            is SyncDecision.WaitBackOff -> Text(stringResource(R.string.sync_backoff, d.delay.seconds))
            null -> Unit
            else -> Text(stringResource(R.string.sync_scheduled))
        }
        ErrorLine(s.error)
        Actions(st.actions, enabled = !s.busy) { p.onEvent(SyncStatusEvent.Act(it)) }
        LazyColumn {
            items(st.rejected) { r ->
                ListItem(
                    headlineContent = { Text(r.label) },
                    supportingContent = { Text("${r.reason}\n${r.advice}") },
                    trailingContent = { Actions(r.actions) { p.onEvent(SyncStatusEvent.Act(it)) } },
                )
            }
            items(st.waiting) { w -> ListItem(headlineContent = { Text(w.label) }, supportingContent = { Text(w.stateLabel) }) }
        }
        ConfirmDialog(s.confirming, { p.onEvent(SyncStatusEvent.Confirm) }, { p.onEvent(SyncStatusEvent.Dismiss) })
    }
}
