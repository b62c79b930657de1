package org.gridpatrol.shell.presenters

import java.net.URI
import kotlinx.coroutines.CoroutineScope
import org.gridpatrol.core.GridPatrolException
import org.gridpatrol.core.GridPatrolStore
import org.gridpatrol.shell.Navigator
import org.gridpatrol.shell.Presenter
import org.gridpatrol.shell.Route
import org.gridpatrol.shell.ShellError
import org.gridpatrol.shell.StoreOpener

/** 激活 Enrolment: the one-time code from the street office, typed or scanned as a QR code. */
data class EnrolmentState(
    val hqUrl: String = "",
    val code: String = "",
    val busy: Boolean = false,
    val error: ShellError? = null,
    val enrolled: Boolean = false,
)

sealed interface EnrolmentEvent {
    data class SetHqUrl(val url: String) : EnrolmentEvent
    data class SetCode(val code: String) : EnrolmentEvent
    /** A scanned QR payload: `gridpatrol://enrol?hq=<url>&code=<code>`, or the bare code. */
    data class Scanned(val payload: String) : EnrolmentEvent
    data object Submit : EnrolmentEvent
}

class EnrolmentPresenter(
    private val opener: StoreOpener,
    private val navigator: Navigator,
    /** The app keeps the store for the process (and builds the other presenters on it). */
    private val onEnrolled: (GridPatrolStore) -> Unit,
    scope: CoroutineScope,
    defaultHqUrl: String = "",
) : Presenter<EnrolmentState, EnrolmentEvent>(EnrolmentState(hqUrl = defaultHqUrl), scope) {
    override suspend fun handle(event: EnrolmentEvent) {
        when (event) {
            is EnrolmentEvent.SetHqUrl -> set { it.copy(hqUrl = event.url.trim(), error = null) }
            is EnrolmentEvent.SetCode -> set { it.copy(code = event.code.trim(), error = null) }
            is EnrolmentEvent.Scanned -> set { s ->
                val qr = parseQr(event.payload)
                s.copy(hqUrl = qr.first ?: s.hqUrl, code = qr.second, error = null)
            }
            EnrolmentEvent.Submit -> submit()
        }
    }

    private suspend fun submit() {
        val s = state.value
        if (s.hqUrl.isEmpty() || s.code.isEmpty()) {
            return set { it.copy(error = ShellError(ShellError.Kind.INVALID_INPUT, if (s.hqUrl.isEmpty()) "hqUrl" else "code")) }
        }
        set { it.copy(busy = true, error = null) }
        val store = try {
            opener.enrol(s.hqUrl, s.code)
        } catch (e: GridPatrolException) {
            return set { it.copy(busy = false, error = ShellError.of(e)) }
        }
        set { it.copy(busy = false, enrolled = true, code = "") }
        onEnrolled(store)
        navigator.resetTo(Route.Home)
    }

    companion object {
        /** (hq url or null, code) from a QR payload. */
        fun parseQr(payload: String): Pair<String?, String> {
            val p = payload.trim()
            if (!p.startsWith("gridpatrol://enrol")) return null to p
            val params = URI(p).rawQuery.orEmpty().split('&').mapNotNull {
                val kv = it.split('=', limit = 2)
                if (kv.size == 2) kv[0] to java.net.URLDecoder.decode(kv[1], Charsets.UTF_8) else null
            }.toMap()
            return params["hq"] to params["code"].orEmpty()
        }
    }
}
