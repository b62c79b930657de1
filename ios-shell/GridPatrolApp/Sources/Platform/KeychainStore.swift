// KeyStore on the Keychain: generic passwords with kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
// so the installation id never travels in a backup or to another phone (bindings/README.md).

import Foundation
import GridPatrolKit
import Security

final class KeychainStore: KeyStore {
    private let service = "org.gridpatrol.app"

    private func query(_ key: String) -> [String: Any] {
        [kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service, kSecAttrAccount as String: key]
    }

    func string(for key: String) throws -> String? {
        var q = query(key)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var out: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &out)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, let data = out as? Data else { throw GridPatrolErrorText("keychain \(status)") }
        return String(data: data, encoding: .utf8)
    }

    func set(_ value: String, for key: String) throws {
        try remove(key)
        var q = query(key)
        q[kSecValueData as String] = Data(value.utf8)
        q[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(q as CFDictionary, nil)
        guard status == errSecSuccess else { throw GridPatrolErrorText("keychain \(status)") }
    }

    func remove(_ key: String) throws {
        let status = SecItemDelete(query(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw GridPatrolErrorText("keychain \(status)") }
    }
}
