import CKingletSimSystem
import Glibc

/// The system calls the pty server needs, on the simulators' shared C shim.
enum SimSystem {
    /// Blocks SIGUSR1/2, SIGTERM and SIGINT in this thread and reads them from a signalfd.
    static func signalsOpen() -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGUSR1, SIGUSR2, SIGTERM, SIGINT] { sigaddset(&set, signal) }
        guard pthread_sigmask(SIG_BLOCK, &set, nil) == 0 else { return -1 }
        return ksim_signalfd(&set)
    }

    /// The next pending signal's number, or 0 when none is pending.
    static func signalsRead(_ fd: Int32) -> Int32 {
        let number = ksim_read_signal(fd)
        return number < 0 ? 0 : number
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    static func ptyOpen(_ name: UnsafeMutablePointer<CChar>, _ size: Int) -> Int32 { ksim_open_pty(name, size) }

    static func ptyMakeRaw(_ master: Int32) -> Int32 {
        var attributes = termios()
        guard tcgetattr(master, &attributes) == 0 else { return -1 }
        cfmakeraw(&attributes)
        return tcsetattr(master, TCSANOW, &attributes)
    }
}
