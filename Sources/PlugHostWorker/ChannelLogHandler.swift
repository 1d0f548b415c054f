import Logging
import PlugHostCore

/// The worker's swift-log backend: every line goes to the host over the channel as a
/// ``WireLogLine``, for the host's logger to tag with the plugin (and the pipeline step and
/// item) and write in its format. Its level is the host's (`PLUGHOST_LOG`, set by the host), so
/// lines below it are dropped here, before they are sent.
struct ChannelLogHandler: LogHandler {
    let channel: WireChannel
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let own = event.metadata { all.merge(own) { _, new in new } }
        let line = WireLogLine(
            level: event.level, message: event.message.description, metadata: all.map { ($0.key, $0.value.description) })
        // The channel serialises writes; a host that is gone ends the worker elsewhere.
        try? channel.send(line.frame())
    }
}
