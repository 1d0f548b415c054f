import CPlugHostABI

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
    /// pointer is NULL or not one of ours.
    static func from(_ ctx: UnsafePointer<ph_call_context>?) -> UnsafeMutablePointer<CallState>? {
        guard let ctx, ctx.pointee.struct_size >= MemoryLayout<ph_call_context>.size,
            let raw = ctx.pointee.host_data
        else { return nil }
        return raw.assumingMemoryBound(to: CallState.self)
    }
}
