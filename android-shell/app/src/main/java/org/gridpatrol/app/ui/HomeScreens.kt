// 今日 Home, 网格 Grid, 激活 Enrolment, 设置 Settings. Each renders its presenter's state only.
package org.gridpatrol.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import com.journeyapps.barcodescanner.ScanContract
import com.journeyapps.barcodescanner.ScanOptions
import androidx.activity.compose.rememberLauncherForActivityResult
import org.gridpatrol.app.R
import org.gridpatrol.protocol.Lang
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.ShellError
import org.gridpatrol.shell.presenters.*

@Composable
fun HomeScreen(p: HomePresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    val today = s.today ?: return Page(stringResource(R.string.app_name)) { Text(stringResource(R.string.loading)) }
    Page("${today.workerName} · ${today.date}") {
        ErrorLine(s.error)
        Actions(today.actions, enabled = !s.busy) { p.onEvent(HomeEvent.Act(it)) }
        Row {
            TextButton(onClick = { p.onEvent(HomeEvent.Go(Route.TaskInbox)) }) { Text(stringResource(R.string.tasks)) }
            TextButton(onClick = { p.onEvent(HomeEvent.Go(Route.CaseInbox)) }) { Text(stringResource(R.string.cases)) }
            TextButton(onClick = { p.onEvent(HomeEvent.Go(Route.SyncStatus)) }) { Text(today.unsent.message) }
            TextButton(onClick = { p.onEvent(HomeEvent.Go(Route.Settings)) }) { Text(stringResource(R.string.settings)) }
        }
        LazyColumn {
            today.patrol?.let { pr ->
                item {
                    ListItem(
                        headlineContent = { Text("${pr.gridName} · ${pr.shiftLabel}") },
                        supportingContent = { Text(pr.parts.joinToString(" · ") { it.why }) },
                        modifier = Modifier.clickable { p.onEvent(HomeEvent.OpenPatrol(pr.patrolId)) },
                    )
                }
            }
            item { Text(stringResource(R.string.my_grids)) }
            items(today.grids) { g ->
                ListItem(
                    headlineContent = { Text(g.name) },
                    supportingContent = { Text("${g.communityName} · ${g.dayPatrolLabel} / ${g.nightPatrolLabel}") },
                    modifier = Modifier.clickable { p.onEvent(HomeEvent.OpenGrid(g.id)) },
                )
            }
            item { Text(stringResource(R.string.must_visit)) }
            items(today.mustVisit) { h ->
                ListItem(
                    headlineContent = { Text("${h.name} · ${h.label}") },
                    supportingContent = { Text(h.careTags.joinToString()) },
                    modifier = Modifier.clickable { p.onEvent(HomeEvent.OpenHousehold(h.householdId)) },
                )
            }
            item { Text(stringResource(R.string.tasks)) }
            items(today.tasks) { t ->
                ListItem(
                    headlineContent = { Text(t.title) },
                    supportingContent = { Text("${t.sourceLabel} · ${t.statusLabel}") },
                    modifier = Modifier.clickable { p.onEvent(HomeEvent.OpenTask(t.id)) },
                )
            }
            item { Text(stringResource(R.string.cases)) }
            items(today.openCases) { c ->
                ListItem(
                    headlineContent = { Text(c.summary) },
                    supportingContent = { Text("${c.categoryLabel} · ${c.stateLabel}") },
                    modifier = Modifier.clickable { p.onEvent(HomeEvent.OpenCase(c.caseId)) },
                )
            }
            item { Text(today.lastSync.message) }
        }
    }
}

@Composable
fun GridScreen(p: GridPresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    val grid = s.grid ?: return Page(stringResource(R.string.grid)) { Text(stringResource(R.string.loading)) }
    Page(grid.grid.name) {
        ErrorLine(s.error)
        Actions(grid.actions) { p.onEvent(GridEvent.Act(it)) }
        OutlinedTextField(
            value = s.query.text.orEmpty(),
            onValueChange = { p.onEvent(GridEvent.Search(it)) },
            label = { Text(stringResource(R.string.search_households)) },
        )
        Text(stringResource(R.string.households_matching, grid.householdsMatching.toInt()))
        LazyColumn {
            items(grid.households) { h ->
                ListItem(
                    headlineContent = { Text("${h.name} · ${h.label}") },
                    supportingContent = { Text(listOfNotNull(h.phone, h.careTags.joinToString()).joinToString(" · ")) },
                    trailingContent = { Actions(h.actions) { p.onEvent(GridEvent.Act(it)) } },
                )
            }
            item { Text(stringResource(R.string.cases)) }
            items(grid.cases) { c ->
                ListItem(
                    headlineContent = { Text(c.summary) },
                    supportingContent = { Text(c.stateLabel) },
                    modifier = Modifier.clickable { p.onEvent(GridEvent.OpenCase(c.caseId)) },
                )
            }
        }
    }
}

@Composable
fun EnrolmentScreen(p: EnrolmentPresenter, openError: ShellError? = null) {
    val s by p.state.collectAsStateWithLifecycle()
    val scan = rememberLauncherForActivityResult(ScanContract()) { r -> r.contents?.let { p.onEvent(EnrolmentEvent.Scanned(it)) } }
    Page(stringResource(R.string.enrol_title)) {
        Text(stringResource(R.string.enrol_hint))
        OutlinedTextField(s.hqUrl, { p.onEvent(EnrolmentEvent.SetHqUrl(it)) }, label = { Text(stringResource(R.string.hq_url)) })
        OutlinedTextField(s.code, { p.onEvent(EnrolmentEvent.SetCode(it)) }, label = { Text(stringResource(R.string.enrol_code)) })
        // Why the enrolled store did not open at launch (the key store), until the worker acts.
        ErrorLine(s.error ?: openError)
        Row {
            Button(onClick = { p.onEvent(EnrolmentEvent.Submit) }, enabled = !s.busy) { Text(stringResource(R.string.enrol)) }
            TextButton(onClick = { scan.launch(ScanOptions().setBeepEnabled(false)) }) { Text(stringResource(R.string.scan_qr)) }
        }
    }
}

@Composable
fun SettingsScreen(p: SettingsPresenter) {
    val s by p.state.collectAsStateWithLifecycle()
    Page(stringResource(R.string.settings)) {
        Text(stringResource(R.string.language))
        s.languages.forEach { lang ->
            Row(Modifier.clickable { p.onEvent(SettingsEvent.SetLanguage(lang)) }) {
                RadioButton(selected = lang == s.language, onClick = { p.onEvent(SettingsEvent.SetLanguage(lang)) })
                Text(
                    stringResource(
                        when (lang) {
                            Lang.ZH -> R.string.lang_zh
                            Lang.EN -> R.string.lang_en
                            Lang.BOTH -> R.string.lang_both
                        },
                    ),
                )
            }
        }
        Text(stringResource(R.string.device, s.device.deviceId, s.device.workerId))
        s.permissions.grants.forEach { (perm, grant) -> Text("${stringResource(perm.rationale())}: $grant") }
    }
}
