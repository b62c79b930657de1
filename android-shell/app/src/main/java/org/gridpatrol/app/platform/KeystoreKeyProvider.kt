package org.gridpatrol.app.platform

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.KeyStore as JKeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.gridpatrol.core.KeyProvider
import org.gridpatrol.core.KeyProviderException

/**
 * The store's encryption key (the bindings' KeyProvider; bindings/README.md, "The store key").
 *
 * 32 random bytes ([SecureRandom]) made on the first call, kept in `noBackupFilesDir` wrapped by
 * an AES-256/GCM key that never leaves the Android Keystore (hardware-backed where the phone has
 * it). Backups and device-to-device copies carry neither the wrapped key (no-backup folder) nor
 * the Keystore key, so a copied store cannot be opened elsewhere. The file is `iv ‖ ciphertext`,
 * written to a temporary file and renamed, so a crash never leaves half a key.
 *
 * Called by the core on the thread that opens the store (the app opens it off the UI thread).
 * A Keystore failure is `KeyProviderException.Unavailable`; the core then refuses to open with
 * `GridPatrolException.KeyUnavailable` and changes nothing.
 */
class KeystoreKeyProvider(context: Context) : KeyProvider {
    private val file = File(context.noBackupFilesDir, "gridpatrol-store.key")

    @Synchronized
    override fun storeKey(): ByteArray = try {
        if (file.exists()) unwrap(file.readBytes()) else create()
    } catch (e: GeneralSecurityException) {
        throw KeyProviderException.Unavailable("Android Keystore: ${e.javaClass.simpleName}")
    } catch (e: IOException) {
        throw KeyProviderException.Unavailable("key file: ${e.javaClass.simpleName}")
    }

    private fun create(): ByteArray {
        val key = ByteArray(KEY_BYTES).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance(TRANSFORMATION).apply { init(Cipher.ENCRYPT_MODE, wrappingKey()) }
        val tmp = File(file.path + ".tmp")
        tmp.outputStream().use { out ->
            out.write(cipher.iv)
            out.write(cipher.doFinal(key))
            out.fd.sync()
        }
        if (!tmp.renameTo(file)) throw IOException("rename")
        return key
    }

    private fun unwrap(stored: ByteArray): ByteArray {
        if (stored.size <= IV_BYTES) throw IOException("short key file")
        val cipher = Cipher.getInstance(TRANSFORMATION).apply {
            init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(TAG_BITS, stored, 0, IV_BYTES))
        }
        return cipher.doFinal(stored, IV_BYTES, stored.size - IV_BYTES)
    }

    /** The AES/GCM key in the AndroidKeyStore, made once (it cannot be exported). */
    private fun wrappingKey(): SecretKey {
        val ks = JKeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }
        (ks.getKey(ALIAS, null) as? SecretKey)?.let { return it }
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
        gen.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setKeySize(256)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setRandomizedEncryptionRequired(true)
                .build(),
        )
        return gen.generateKey()
    }

    private companion object {
        const val ANDROID_KEYSTORE = "AndroidKeyStore"
        const val ALIAS = "gridpatrol-store-key"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val KEY_BYTES = 32
        const val IV_BYTES = 12
        const val TAG_BITS = 128
    }
}
