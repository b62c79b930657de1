// Pieces every screen shares. Layout only: what to show comes from the presenter's state.
package org.gridpatrol.app.ui

import android.Manifest
import android.content.Intent
import android.net.Uri
import android.provider.Settings
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.ViewModel
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import kotlinx.coroutines.CoroutineScope
import org.gridpatrol.app.R
import org.gridpatrol.core.model.ActionOption
import org.gridpatrol.shell.Confirming
import org.gridpatrol.shell.Permission
import org.gridpatrol.shell.PermissionEvent
import org.gridpatrol.shell.PermissionPrompt
import org.gridpatrol.shell.PermissionsPresenter
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.ShellError

/** A presenter per route, living in a ViewModel (its scope is viewModelScope). */
class PresenterHolder<P>(factory: (CoroutineScope) -> P) : ViewModel() {
    val presenter: P = factory(viewModelScope)
}

@Composable
fun <P> presenter(route: Route, factory: (CoroutineScope) -> P): P {
    val holder: PresenterHolder<P> = viewModel(
        key = route.toString(),
        factory = viewModelFactory { initializer { PresenterHolder(factory) } },
    )
    return holder.presenter
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun Page(title: String, content: @Composable () -> Unit) {
    Scaffold(topBar = { TopAppBar(title = { Text(title) }) }) { padding ->
        Column(Modifier.padding(padding).padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) { content() }
    }
}

/** The core's actions as buttons, labelled by the core. */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun Actions(actions: List<ActionOption>, enabled: Boolean = true, onAct: (ActionOption) -> Unit) {
    FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        actions.forEach { a -> OutlinedButton(onClick = { onAct(a) }, enabled = enabled) { Text(a.label) } }
    }
}

/** The core's `confirm` question for an action that cannot be undone. */
@Composable
fun ConfirmDialog(confirming: Confirming?, onConfirm: () -> Unit, onDismiss: () -> Unit) {
    val c = confirming ?: return
    AlertDialog(
        onDismissRequest = onDismiss,
        text = { Text(c.option.confirm.orEmpty()) },
        confirmButton = { Button(onClick = onConfirm) { Text(c.option.label) } },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
}

@Composable
fun ErrorLine(error: ShellError?) {
    val e = error ?: return
    val text = when (e.kind) {
        ShellError.Kind.INVALID_INPUT -> stringResource(R.string.error_invalid, e.field.orEmpty())
        ShellError.Kind.OFFLINE -> stringResource(R.string.error_offline)
        ShellError.Kind.CODE_INVALID -> stringResource(R.string.error_code_invalid)
        ShellError.Kind.NO_LOCATION -> stringResource(R.string.error_no_location)
        ShellError.Kind.PERMISSION_NEEDED -> stringResource(R.string.error_permission)
        ShellError.Kind.CLEAR_ITEMS_MISSING -> stringResource(R.string.error_clear_items, e.detail.orEmpty())
        ShellError.Kind.KEY_UNAVAILABLE -> stringResource(R.string.error_key_unavailable)
        ShellError.Kind.STORE_KEY_WRONG -> stringResource(R.string.error_store_key_wrong)
        else -> stringResource(R.string.error_other, e.detail.orEmpty())
    }
    Text(text, color = MaterialTheme.colorScheme.error)
}

/** Shows what the permission flow's `prompt` says; reports Android's answers back to it. */
@Composable
fun PermissionHost(permissions: PermissionsPresenter) {
    val state by permissions.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    var asking by remember { mutableStateOf<Permission?>(null) }
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        val p = asking ?: return@rememberLauncherForActivityResult
        val activity = context as android.app.Activity
        permissions.onEvent(PermissionEvent.DialogResult(p, granted, activity.shouldShowRequestPermissionRationale(p.manifest())))
    }
    when (val prompt = state.prompt) {
        PermissionPrompt.None -> Unit
        is PermissionPrompt.SystemDialog -> LaunchedEffect(prompt) {
            asking = prompt.permission
            launcher.launch(prompt.permission.manifest())
        }
        is PermissionPrompt.Rationale -> AlertDialog(
            onDismissRequest = { permissions.onEvent(PermissionEvent.RationaleDeclined) },
            text = { Text(stringResource(prompt.permission.rationale())) },
            confirmButton = { Button(onClick = { permissions.onEvent(PermissionEvent.RationaleAccepted) }) { Text(stringResource(R.string.continue_)) } },
            dismissButton = { TextButton(onClick = { permissions.onEvent(PermissionEvent.RationaleDeclined) }) { Text(stringResource(R.string.cancel)) } },
        )
        is PermissionPrompt.OpenSettings -> AlertDialog(
            onDismissRequest = { permissions.onEvent(PermissionEvent.ReturnedFromSettings(prompt.permission, false)) },
            text = { Text(stringResource(R.string.permission_settings, stringResource(prompt.permission.rationale()))) },
            confirmButton = {
                Button(onClick = {
                    context.startActivity(Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", context.packageName, null)))
                }) { Text(stringResource(R.string.open_settings)) }
            },
        )
    }
}

fun Permission.manifest(): String = when (this) {
    Permission.LOCATION -> Manifest.permission.ACCESS_FINE_LOCATION
    Permission.CAMERA -> Manifest.permission.CAMERA
    Permission.NOTIFICATIONS -> Manifest.permission.POST_NOTIFICATIONS
}

fun Permission.rationale(): Int = when (this) {
    Permission.LOCATION -> R.string.rationale_location
    Permission.CAMERA -> R.string.rationale_camera
    Permission.NOTIFICATIONS -> R.string.rationale_notifications
}
