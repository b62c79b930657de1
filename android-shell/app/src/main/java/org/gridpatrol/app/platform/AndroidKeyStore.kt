package org.gridpatrol.app.platform

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import java.io.File
import java.security.KeyStore as JKeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.gridpatrol.shell.KeyStore

/**
 * Small secrets (the installation id) encrypted with an AES-GCM key that never leaves the
 * Android Keystore, stored under `noBackupFilesDir` so backups and device copies never carry
 * them (bindings/README.md: "Pass installationId on every open and enrol").
 */
class AndroidKeyStore(context: Context) : KeyStore {
    private val dir = File(context.noBackupFilesDir, "secrets").apply { mkdirs() }

    private fun key(): SecretKey {
        val ks = JKeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        (ks.getKey(ALIAS, null) as? SecretKey)?.let { return it }
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .build(),
        )
        return gen.generateKey()
    }

    override fun get(name: String): String? {
        val f = File(dir, name)
        if (!f.exists()) return null
        val (iv, data) = f.readText().split(':').map { Base64.decode(it, Base64.NO_WRAP) }
        val c = Cipher.getInstance(TRANSFORMATION).apply { init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(128, iv)) }
        return c.doFinal(data).decodeToString()
    }

    override fun put(name: String, value: String) {
        val c = Cipher.getInstance(TRANSFORMATION).apply { init(Cipher.ENCRYPT_MODE, key()) }
        val data = c.doFinal(value.encodeToByteArray())
        File(dir, name).writeText(Base64.encodeToString(c.iv, Base64.NO_WRAP) + ":" + Base64.encodeToString(data, Base64.NO_WRAP))
    }

    override fun remove(name: String) {
        File(dir, name).delete()
    }

    private companion object {
        const val ALIAS = "gridpatrol-secrets"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
    }
}
