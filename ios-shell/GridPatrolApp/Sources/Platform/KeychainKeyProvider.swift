// The store's encryption key (the bindings' KeyProvider; bindings/README.md, "The store key"):
// 32 bytes from SecRandomCopyBytes, made on the first call and kept as a Keychain generic
// password with kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly — never in a backup, never on
// another phone, readable by background tasks once the phone has been unlocked after boot.

import Foundation
import GridPatrol
import Security

final class KeychainKeyProvider: KeyProvider, @unchecked Sendable {
    private let service = "org.gridpatrol.app"
    private let account = "store-key"
    private let lock = NSLock()

    private var query: [String: Any] {
        [kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service,
         kSecAttrAccount as String: account]
    }

    /// Called by the core on the thread that opens or enrols the store.
    func storeKey() throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        if let key = try read() { return key }
        var key = Data(count: 32)
        let made = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, 32, $0.baseAddress!) }
        guard made == errSecSuccess else { throw KeyProviderError.Unavailable(reason: "SecRandomCopyBytes \(made)") }
        var add = query
        add[kSecValueData as String] = key
        add[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(add as CFDictionary, nil)
        if status == errSecDuplicateItem, let existing = try read() { return existing } // made meanwhile
        guard status == errSecSuccess else { throw KeyProviderError.Unavailable(reason: "keychain add \(status)") }
        return key
    }

    private func read() throws -> Data? {
        var q = query
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var out: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &out)
        switch status {
        case errSecSuccess:
            guard let data = out as? Data else { throw KeyProviderError.Unavailable(reason: "keychain item without data") }
            return data
        case errSecItemNotFound:
            return nil
        default:
            // errSecInteractionNotAllowed: before the first unlock after a reboot. Try later.
            throw KeyProviderError.Unavailable(reason: "keychain read \(status)")
        }
    }
}
