import CBluetooth
import CModbus
import CMosquitto
import COpenSSL
import CYAML
import CZlib

/// The C libraries the agent links, with the versions they report at run time.
///
/// `kinglet --version` prints them, which proves for the static binaries that each library
/// really is inside: the version strings come from the libraries' code, not from headers.
public enum LinkedLibraries {
    public struct Library: Equatable {
        public let name: String
        public let version: String
    }

    public static func all() -> [Library] {
        [
            Library(name: "libmosquitto", version: mosquittoVersion()),
            Library(name: "OpenSSL", version: String(cString: OpenSSL_version(OPENSSL_VERSION_STRING))),
            Library(name: "libmodbus", version: "\(libmodbus_version_major).\(libmodbus_version_minor).\(libmodbus_version_micro)"),
            Library(name: "libyaml", version: String(cString: yaml_get_version_string())),
            Library(name: "libbluetooth", version: bluetoothVersion()),
            Library(name: "zlib", version: String(cString: zlibVersion())),
        ]
    }

    private static func mosquittoVersion() -> String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var revision: Int32 = 0
        _ = mosquitto_lib_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }

    private static func bluetoothVersion() -> String {
        #if KINGLET_STATIC_DEPS
        return "bluez " + String(cString: kinglet_bluez_version())
        #else
        // The system's shared libbluetooth exposes no version; show that it answers.
        var address = bdaddr_t()
        let parsed = str2ba("00:11:22:33:44:55", &address) == 0 && address.b.5 == 0x00 && address.b.0 == 0x55
        return parsed ? "system (bluez exposes no version)" : "system (not answering)"
        #endif
    }
}
