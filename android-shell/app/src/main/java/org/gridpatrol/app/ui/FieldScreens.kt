// 巡查 Patrol with the checklist and check-in, 走访 visit form, 上报 report form with the camera.
package org.gridpatrol.app.ui

import android.content.Context
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.core.content.FileProvider
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import java.io.File
import java.util.UUID
import org.gridpatrol.app.R
import org.gridpatrol.core.model.FieldError
import org.gridpatrol.protocol.ReportSource
import org.gridpatrol.shell.presenters.*

@Composable
fun PatrolScreen(p: PatrolPresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    val patrol = s.patrol ?: return Page(stringResource(R.string.patrol)) { Text(stringResource(R.string.loading)) }
    Page("${patrol.gridName} · ${patrol.shiftLabel}") {
        ErrorLine(s.error)
        patrol.parts.forEach { Text("${it.label}: ${it.why}") }
        patrol.flags.forEach { Text(it) }
        LazyColumn {
            items(patrol.checklist) { item ->
                Text(item.label)
                Row {
                    item.choices.forEach { c ->
                        FilterChip(
                            selected = s.answers[item.itemId] == c.value,
                            onClick = { p.onEvent(PatrolEvent.Answered(item.itemId, c.value)) },
                            label = { Text(c.label) },
                        )
                    }
                }
            }
            items(patrol.checkpoints) { cp ->
                ListItem(
                    headlineContent = { Text(cp.at.toString()) },
                    supportingContent = { Text(cp.flag ?: stringResource(R.string.checkpoint_ok)) },
                )
            }
        }
        Actions(patrol.actions, enabled = !s.busy) { p.onEvent(PatrolEvent.Act(it)) }
        ConfirmDialog(s.confirming, { p.onEvent(PatrolEvent.Confirm) }, { p.onEvent(PatrolEvent.Dismiss) })
    }
}

@Composable
fun VisitFormScreen(p: VisitFormPresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    val form = s.form ?: return Page(stringResource(R.string.visit)) { Text(stringResource(R.string.loading)) }
    Page("${form.household.name} · ${form.household.label}") {
        Row { form.visitTypes.forEach { t -> FilterChip(s.draft.visitType == t.value, { p.onEvent(VisitFormEvent.SetType(t.value)) }, { Text(t.label) }) } }
        Row { form.outcomes.forEach { o -> FilterChip(s.draft.outcome == o.value, { p.onEvent(VisitFormEvent.SetOutcome(o.value)) }, { Text(o.label) }) } }
        Row { form.needs.forEach { n -> FilterChip(n.value in s.draft.needs, { p.onEvent(VisitFormEvent.ToggleNeed(n.value)) }, { Text(n.label) }) } }
        Row {
            (1..5).forEach { n ->
                FilterChip(s.draft.satisfaction?.toInt() == n, { p.onEvent(VisitFormEvent.SetSatisfaction(n.toUByte())) }, { Text("$n") })
            }
        }
        OutlinedTextField(s.draft.note.orEmpty(), { p.onEvent(VisitFormEvent.SetNote(it)) }, label = { Text(stringResource(R.string.note)) })
        FieldErrors(s.errors)
        ErrorLine(s.error)
        Button(onClick = { p.onEvent(VisitFormEvent.Submit) }, enabled = !s.busy) { Text(stringResource(R.string.save)) }
    }
}

@Composable
fun ReportFormScreen(p: ReportFormPresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    val target = remember { newPhotoFile(context) }
    val camera = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { ok ->
        p.onEvent(ReportFormEvent.PhotoTaken(target.path.takeIf { ok }))
    }
    LaunchedEffect(s.captureRequested) {
        if (s.captureRequested) camera.launch(FileProvider.getUriForFile(context, "${context.packageName}.photos", target))
    }
    val form = s.form ?: return Page(stringResource(R.string.report)) { Text(stringResource(R.string.loading)) }
    Page(stringResource(R.string.report)) {
        Row { form.grids.forEach { g -> FilterChip(s.draft.gridId == g.id, { p.onEvent(ReportFormEvent.SetGrid(g.id)) }, { Text(g.name) }) } }
        LazyColumn {
            items(form.categories) { c ->
                FilterChip(s.draft.category == c.value, { p.onEvent(ReportFormEvent.SetCategory(c.value)) }, { Text(c.label) })
            }
        }
        Row { ReportSource.entries.forEach { src -> FilterChip(s.draft.source == src, { p.onEvent(ReportFormEvent.SetSource(src)) }, { Text(src.label()) }) } }
        Row { form.urgencies.forEach { u -> FilterChip(s.draft.urgency == u.value, { p.onEvent(ReportFormEvent.SetUrgency(u.value)) }, { Text(u.label) }) } }
        OutlinedTextField(s.draft.description, { p.onEvent(ReportFormEvent.SetDescription(it)) }, label = { Text(stringResource(R.string.description)) })
        Text(stringResource(R.string.photos_count, s.draft.photos.size, form.maxPhotos.toInt()))
        Row {
            Button(onClick = { p.onEvent(ReportFormEvent.TakePhoto) }) { Text(stringResource(R.string.take_photo)) }
            Button(onClick = { p.onEvent(ReportFormEvent.Locate) }) { Text(stringResource(R.string.locate)) }
        }
        FieldErrors(s.errors)
        ErrorLine(s.error)
        Button(onClick = { p.onEvent(ReportFormEvent.Submit) }, enabled = !s.busy) { Text(stringResource(R.string.submit_report)) }
    }
}

@Composable
fun FieldErrors(errors: List<FieldError>) = errors.forEach { Text("${it.field}: ${it.message}") }

private fun newPhotoFile(context: Context): File =
    File(context.cacheDir, "photos").apply { mkdirs() }.let { File(it, "${UUID.randomUUID()}.jpg") }
