import CPlugHostABI
import CPlugHostRuntime
import Glibc
import Logging

/// The host's side of one running call, reached from `ph_call_context.host_data`.
/// It lives on the calling thread's stack for the duration of the call.
struct CallState {
    /// The goal of the call.
    let goal: String
    /// The plugin's name.
    let plugin: String
    /// Where memory and context operations go.
    let services: any HostServices
    /// The last message set by `set_error` (or by a failed host call).
    var error: String?

    /// The state behind a context pointer handed to a host function, or nil when the
    /// pointer is NULL, or is not the context of the call running on this thread: one kept from
    /// a finished call, or used from another thread, breaks the header's [thread: call] rule.
    /// The host function then answers `PH_ERR_STATE` and the host logs why.
    static func from(_ ctx: UnsafePointer<ph_call_context>?) -> UnsafeMutablePointer<CallState>? {
        // A plugin's forked child must not act as the host (or reach the host's worker channel).
        if ph_rt_is_forked_child() != 0 { _exit(0) }
        guard let ctx else { return nil }
        guard UnsafeRawPointer(ctx) == ph_rt_current_context() else {
            HostLog.host.error(
                "a plugin called a host function with a call context that is not live on this thread (kept from a finished call, or used from another thread); refused with PH_ERR_STATE"
            )
            return nil
        }
        guard ctx.pointee.struct_size >= MemoryLayout<ph_call_context>.size, let raw = ctx.pointee.host_data else { return nil }
        return raw.assumingMemoryBound(to: CallState.self)
    }
}
