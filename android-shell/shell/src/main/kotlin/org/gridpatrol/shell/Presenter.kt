// The presenter pattern of Element X Android, without Compose on the JVM: each screen has a
// presenter exposing `state: StateFlow<XxxState>` and taking `XxxEvent`s through `onEvent`.
// State comes from the core's screen models (and their change streams); events call the core.
// A presenter decides nothing the core already decides (roles, steps, validation, labels).
package org.gridpatrol.shell

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import org.gridpatrol.core.GridPatrolException

/** What went wrong, for the screen to show. Fields and ids only, as the core gives them. */
data class ShellError(
    val kind: Kind,
    /** The input field the core named (e.g. "location.lat"), when it named one. */
    val field: String? = null,
    val detail: String? = null,
) {
    enum class Kind {
        INVALID_INPUT, NOT_FOUND, NOT_ALLOWED, ILLEGAL_STEP, CLEAR_ITEMS_MISSING, OFFLINE,
        CODE_INVALID, DEVICE_REVOKED, RATE_LIMITED, HQ_REFUSED, NO_LOCATION, PERMISSION_NEEDED,
        /** The platform's key store could not give the store key (locked, failing): try again. */
        KEY_UNAVAILABLE,
        /** The key does not open the store (the key store lost or replaced it). */
        STORE_KEY_WRONG,
        OTHER,
    }

    companion object {
        fun of(e: Throwable): ShellError = when (e) {
            is GridPatrolException.InvalidInput -> ShellError(Kind.INVALID_INPUT, e.field, e.reason)
            is GridPatrolException.NotFound -> ShellError(Kind.NOT_FOUND, e.entity, e.id)
            is GridPatrolException.RoleNotAllowed -> ShellError(Kind.NOT_ALLOWED, e.field, e.reason)
            is GridPatrolException.IllegalTransition -> ShellError(Kind.ILLEGAL_STEP, null, "${e.from} → ${e.to}")
            is GridPatrolException.IllegalTaskAction -> ShellError(Kind.ILLEGAL_STEP, null, "${e.status} / ${e.action}")
            is GridPatrolException.ClearItemsMissing ->
                ShellError(Kind.CLEAR_ITEMS_MISSING, null, e.missing.joinToString { it.label() })
            is GridPatrolException.HqUnreachable -> ShellError(Kind.OFFLINE, null, e.reason)
            is GridPatrolException.EnrolmentCodeInvalid -> ShellError(Kind.CODE_INVALID)
            is GridPatrolException.DeviceRevoked -> ShellError(Kind.DEVICE_REVOKED)
            is GridPatrolException.RateLimited -> ShellError(Kind.RATE_LIMITED, null, e.retryAfterS.toString())
            is GridPatrolException.HqRefused -> ShellError(Kind.HQ_REFUSED, e.code, e.detail)
            is GridPatrolException.KeyUnavailable -> ShellError(Kind.KEY_UNAVAILABLE, null, e.reason)
            is GridPatrolException.StoreKeyWrong -> ShellError(Kind.STORE_KEY_WRONG)
            is GridPatrolException.StoreKeyMissing -> ShellError(Kind.STORE_KEY_WRONG)
            else -> ShellError(Kind.OTHER, null, e.javaClass.simpleName)
        }
    }
}

/** A stream whose typed core errors arrive as values (for streams re-opened by flatMapLatest). */
fun <T> Flow<T>.results(): Flow<Result<T>> =
    map { Result.success(it) }.catch { e -> if (e is GridPatrolException) emit(Result.failure(e)) else throw e }

abstract class Presenter<S, E>(initial: S, protected val scope: CoroutineScope) {
    protected val mutable = MutableStateFlow(initial)
    val state: StateFlow<S> = mutable.asStateFlow()

    /** Handle one event; the returned job completes when its core calls have. */
    fun onEvent(event: E): Job = scope.launch { handle(event) }

    protected abstract suspend fun handle(event: E)

    protected fun set(f: (S) -> S) = mutable.update(f)

    /**
     * Follow a core change stream into the state while the presenter's scope lives. A typed
     * error from the core (say, a filter naming another worker's grid) ends the stream and goes
     * to [onError]; it never escapes into the scope.
     */
    protected fun <T> follow(
        flow: Flow<T>,
        onError: (S, ShellError) -> S = { s, _ -> s },
        into: (S, T) -> S,
    ): Job = scope.launch {
        try {
            flow.collect { v -> mutable.update { into(it, v) } }
        } catch (e: GridPatrolException) {
            mutable.update { onError(it, ShellError.of(e)) }
        }
    }

    /** Run a core call; a failure becomes a [ShellError] through [onError]. */
    protected suspend fun <T> attempt(onError: (ShellError) -> Unit, call: suspend () -> T): T? =
        try {
            call()
        } catch (e: GridPatrolException) {
            onError(ShellError.of(e))
            null
        }
}
