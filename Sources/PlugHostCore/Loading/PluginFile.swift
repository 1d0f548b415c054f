import Foundation
import Glibc

/// Checks a plugin file before anything opens it as a library: that it is a regular file (a
/// FIFO would block `dlopen` for ever), and an ELF shared object for this machine.
package enum PluginFile {
    /// Throws a ``LoadError`` naming what is wrong with the file at `path`.
    package static func check(_ path: String) throws {
        func fail(_ code: LoadError.Code, _ message: String) -> LoadError { LoadError(code, path: path, message) }
        var st = stat()
        guard stat(path, &st) == 0 else {
            let e = errno
            switch e {
            case ENOENT: throw fail(.fileNotFound, "no such file")
            case ELOOP: throw fail(.notSharedObject, "is a symbolic link loop")
            case EACCES: throw fail(.openFailed, "permission denied")
            default: throw fail(.openFailed, "cannot stat it: \(String(cString: strerror(e)))")
            }
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw fail(.notSharedObject, "is a directory, not a shared object")
        case S_IFIFO: throw fail(.notSharedObject, "is a FIFO (named pipe), not a shared object")
        case S_IFSOCK: throw fail(.notSharedObject, "is a socket, not a shared object")
        case S_IFCHR, S_IFBLK: throw fail(.notSharedObject, "is a device, not a shared object")
        default: throw fail(.notSharedObject, "is not a regular file")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw fail(.openFailed, "cannot open it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &header, 64)
        guard n >= 20, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else {
            throw fail(.notSharedObject, "not an ELF shared object (no ELF header)")
        }
        let littleEndian = header[5] == 1
        let type = littleEndian ? UInt16(header[16]) | UInt16(header[17]) << 8 : UInt16(header[17]) | UInt16(header[16]) << 8
        let machine = littleEndian ? UInt16(header[18]) | UInt16(header[19]) << 8 : UInt16(header[19]) | UInt16(header[18]) << 8
        let bits = header[4] == 2 ? 64 : 32
        if machine != hostMachine || bits != MemoryLayout<Int>.size * 8 || !littleEndian {
            throw fail(
                .wrongArchitecture,
                "built for \(machineName(machine)) (\(bits)-bit \(littleEndian ? "little" : "big")-endian ELF), but this host is \(machineName(hostMachine))"
            )
        }
        guard type == 3 else {
            throw fail(
                .notSharedObject,
                type == 2 ? "is an executable, not a shared object" : "is an ELF file of type \(type), not a shared object")
        }
    }

    /// This machine's ELF `e_machine`.
    package static var hostMachine: UInt16 {
        #if arch(x86_64)
        62
        #elseif arch(arm64)
        183
        #elseif arch(riscv64)
        243
        #else
        0
        #endif
    }

    package static func machineName(_ machine: UInt16) -> String {
        switch machine {
        case 3: "i386"
        case 40: "arm"
        case 62: "x86_64"
        case 183: "aarch64"
        case 243: "riscv64"
        case 8: "mips"
        case 20: "powerpc"
        case 21: "powerpc64"
        case 22: "s390"
        default: "ELF machine \(machine)"
        }
    }
}
