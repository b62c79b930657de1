package org.gridpatrol.shell

import org.gridpatrol.shell.Permission.CAMERA
import org.gridpatrol.shell.Permission.LOCATION
import org.gridpatrol.shell.Permission.NOTIFICATIONS
import org.gridpatrol.shell.PermissionEvent.DialogResult
import org.gridpatrol.shell.PermissionEvent.Need
import org.gridpatrol.shell.PermissionEvent.OsReports
import org.gridpatrol.shell.PermissionEvent.RationaleAccepted
import org.gridpatrol.shell.PermissionEvent.RationaleDeclined
import org.gridpatrol.shell.PermissionEvent.ReturnedFromSettings
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class PermissionFlowTest {
    private fun run(vararg events: PermissionEvent, from: PermissionState = PermissionState()): List<PermissionState> =
        events.runningFold(from) { s, e -> PermissionFlow.reduce(s, e) }.drop(1)

    @Test fun firstAskGranted() {
        val (asked, answered) = run(Need(LOCATION), DialogResult(LOCATION, granted = true, canAskAgain = false))
        assertEquals(PermissionPrompt.SystemDialog(LOCATION), asked.prompt)
        assertEquals(PermissionPrompt.None, answered.prompt)
        assertTrue(answered.granted(LOCATION))
        assertFalse(answered.granted(CAMERA))
        // Already granted: nothing to show.
        assertEquals(PermissionPrompt.None, PermissionFlow.reduce(answered, Need(LOCATION)).prompt)
    }

    @Test fun deniedOnceThenRationaleThenAskAgain() {
        val states = run(
            Need(CAMERA),
            DialogResult(CAMERA, granted = false, canAskAgain = true),
            Need(CAMERA),
            RationaleAccepted,
            DialogResult(CAMERA, granted = true, canAskAgain = false),
        )
        assertEquals(Grant.DENIED_CAN_ASK, states[1].grants[CAMERA])
        assertEquals(PermissionPrompt.Rationale(CAMERA), states[2].prompt)
        assertEquals(PermissionPrompt.SystemDialog(CAMERA), states[3].prompt)
        assertEquals(Grant.GRANTED, states[4].grants[CAMERA])
    }

    @Test fun rationaleDeclinedAsksNothing() {
        val states = run(Need(CAMERA), DialogResult(CAMERA, false, true), Need(CAMERA), RationaleDeclined)
        assertEquals(PermissionPrompt.None, states.last().prompt)
        assertEquals(Grant.DENIED_CAN_ASK, states.last().grants[CAMERA])
        // RationaleAccepted with no rationale showing changes nothing.
        assertEquals(states.last(), PermissionFlow.reduce(states.last(), RationaleAccepted))
    }

    @Test fun deniedForGoodLeadsToSettings() {
        val states = run(
            Need(NOTIFICATIONS),
            DialogResult(NOTIFICATIONS, granted = false, canAskAgain = false),
            Need(NOTIFICATIONS),
            ReturnedFromSettings(NOTIFICATIONS, granted = false),
            Need(NOTIFICATIONS),
            ReturnedFromSettings(NOTIFICATIONS, granted = true),
        )
        assertEquals(Grant.DENIED_PERMANENTLY, states[1].grants[NOTIFICATIONS])
        assertEquals(PermissionPrompt.OpenSettings(NOTIFICATIONS), states[2].prompt)
        assertEquals(PermissionPrompt.OpenSettings(NOTIFICATIONS), states[4].prompt)
        assertTrue(states[5].granted(NOTIFICATIONS))
    }

    @Test fun revokedInSettingsIsAskedAfresh() {
        val states = run(OsReports(LOCATION, true), OsReports(LOCATION, false), Need(LOCATION))
        assertTrue(states[0].granted(LOCATION))
        assertEquals(Grant.UNKNOWN, states[1].grants[LOCATION])
        assertEquals(PermissionPrompt.SystemDialog(LOCATION), states[2].prompt)
    }
}
