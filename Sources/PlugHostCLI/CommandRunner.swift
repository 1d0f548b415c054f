import ArgumentParser
import Foundation
import PlugHost
import PlugHostTools
import PlugHostPipeline

/// Parses the command line, runs the command and turns every failure into the one exit-status
/// table (``ExitStatus``): `Error: …` on standard error with the usage of the command that was
/// meant (not the root's), "did you mean" for a misspelt command, and with `--json` the error as
/// a JSON object on standard output.
enum CommandRunner {
    /// Runs `arguments` (without the program name) and exits.
    static func main(_ arguments: [String]) -> Never {
        let json = wantsJSON(arguments)
        let command: any ParsableCommand
        do {
            command = try PlugHostCommand.parseAsRoot(arguments)
        } catch {
            // --help, --version, completion scripts: ArgumentParser's own output and status.
            if PlugHostCommand.exitCode(for: error) == .success { PlugHostCommand.exit(withError: error) }
            if let misspelt = misspeltCommand(arguments) {
                fail(
                    status: .invalidInput, message: misspelt.message, usage: PlugHostCommand.usageString(for: misspelt.parent),
                    help: misspelt.helpCommand, json: json, command: misspelt.helpCommand)
            }
            let parsed = deepestCommand(arguments)
            fail(
                status: .invalidInput, message: PlugHostCommand.message(for: error),
                usage: PlugHostCommand.usageString(for: parsed.type), help: parsed.path, json: json, command: parsed.path)
        }
        var running = command
        do {
            // The command's log options (-v, --log-level, --log-format), before it runs.
            for child in Mirror(reflecting: command).children {
                if let group = child.value as? OptionGroup<LogOptions> { try group.wrappedValue.bootstrap() }
            }
            try running.run()
            exit(0)
        } catch let code as ExitCode {
            // A command that already reported its failure (`run` with a partial report).
            exit(code.rawValue)
        } catch {
            if PlugHostCommand.exitCode(for: error) == .success { PlugHostCommand.exit(withError: error) }
            let type = Swift.type(of: command)
            let path = commandPath(of: type)
            let status = ExitStatus(for: error)
            // A validation error from run(): the usage of this command, as a parse error gets.
            let usage = error is ValidationError ? PlugHostCommand.usageString(for: type) : nil
            fail(
                status: status, message: PlugHostCommand.message(for: error), usage: usage, help: path, json: json,
                command: path, error: error)
        }
    }

    /// Whether `--json` is among the options (before a `--`).
    static func wantsJSON(_ arguments: [String]) -> Bool {
        arguments.prefix { $0 != "--" }.contains("--json")
    }

    /// Prints the failure and exits with `status`.
    static func fail(
        status: ExitStatus, message: String, usage: String?, help: String, json: Bool, command: String, error: (any Error)? = nil
    ) -> Never {
        if json {
            var object: [String: Any] = [
                "error": errorObject(message: message, status: status, error: error), "exit_code": Int(status.rawValue),
                "command": command,
            ]
            if let e = error as? PipelineError, let r = e.report { object["report"] = r.jsonObject }
            StandardOutput.command.writeLine(JSONText.encode(object))
            // And for people (and logs) the same line as without --json, on standard error.
            FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        } else {
            var text = "Error: \(message)\n"
            if let usage {
                text += "Usage: \(usage.replacingOccurrences(of: "\n", with: "\n       "))\n"
                text += "  See '\((["plughost"] + (help.isEmpty ? [] : [help])).joined(separator: " ")) --help' for more information.\n"
            }
            FileHandle.standardError.write(Data(text.utf8))
        }
        exit(status.rawValue)
    }

    /// The `error` member of a JSON failure: `kind` (the exit status's name), `message`, and the
    /// error's own code and fields where it has them.
    static func errorObject(message: String, status: ExitStatus, error: (any Error)?) -> [String: Any] {
        var o: [String: Any] = ["kind": status.name, "message": message]
        switch error {
        case let e as PipelineError:
            o["code"] = e.code.description
            o["message"] = e.message
            o["description"] = e.description
            o["file"] = e.file
            if let l = e.line { o["line"] = l }
            if let c = e.column { o["column"] = c }
            if let s = e.step { o["step"] = s }
            if let i = e.item { o["item"] = i }
            if let f = e.field { o["field"] = f }
        case let e as LoadError:
            o["code"] = e.code.description
            o["path"] = e.path
        case let e as CallError: o["code"] = e.code.description
        case let e as MemoryError: o["code"] = e.code.description
        case let e as WorkloadError:
            if let f = e.file { o["file"] = f }
            if let l = e.line { o["line"] = l }
        case is ValidationError: o["code"] = "usage"
        default: break
        }
        return o
    }

    // MARK: - Which command was meant

    /// The subcommands' path ("memory forget") of a command type.
    static func commandPath(of type: any ParsableCommand.Type) -> String {
        func search(_ node: any ParsableCommand.Type, _ path: [String]) -> [String]? {
            if node == type { return path }
            for sub in node.configuration.subcommands {
                if let found = search(sub, path + [name(of: sub)]) { return found }
            }
            return nil
        }
        return (search(PlugHostCommand.self, []) ?? []).joined(separator: " ")
    }

    private static func name(of type: any ParsableCommand.Type) -> String {
        type.configuration.commandName ?? String(describing: type).lowercased()
    }

    /// The deepest command the leading words of `arguments` name.
    static func deepestCommand(_ arguments: [String]) -> (type: any ParsableCommand.Type, path: String) {
        var node: any ParsableCommand.Type = PlugHostCommand.self
        var path: [String] = []
        for word in arguments {
            guard !word.hasPrefix("-"), let sub = node.configuration.subcommands.first(where: { name(of: $0) == word }) else { break }
            node = sub
            path.append(word)
        }
        return (node, path.joined(separator: " "))
    }

    /// A word where a subcommand was expected that names none, with the nearest names.
    static func misspeltCommand(_ arguments: [String]) -> (message: String, parent: any ParsableCommand.Type, helpCommand: String)? {
        var node: any ParsableCommand.Type = PlugHostCommand.self
        var path: [String] = []
        for word in arguments {
            let subs = node.configuration.subcommands
            guard !subs.isEmpty, !word.hasPrefix("-") else { return nil }
            if let sub = subs.first(where: { name(of: $0) == word }) {
                node = sub
                path.append(word)
                continue
            }
            // A command with a default subcommand takes arguments of its own.
            guard node.configuration.defaultSubcommand == nil else { return nil }
            let names = subs.map(name(of:)) + (node == PlugHostCommand.self ? ["help"] : [])
            guard !names.contains(word) else { return nil }
            let near = nearest(word, in: names)
            let prefix = (["plughost"] + path).joined(separator: " ")
            var message = "'\(word)' is not a \(prefix) command."
            if !near.isEmpty { message += " Did you mean \(near.map { "'\($0)'" }.joined(separator: " or "))?" }
            message += " Commands: \(names.filter { $0 != "help" }.joined(separator: ", "))."
            return (message, node, path.joined(separator: " "))
        }
        return nil
    }

    /// The names at the smallest edit distance from `word` (at most a third of its length, at
    /// least 1), or those it is a prefix of.
    static func nearest(_ word: String, in names: [String]) -> [String] {
        let prefixed = names.filter { $0.hasPrefix(word) && !word.isEmpty }
        if !prefixed.isEmpty { return prefixed }
        let limit = max(1, word.count / 3)
        let scored = names.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= limit }
        guard let best = scored.map(\.1).min() else { return [] }
        return scored.filter { $0.1 == best }.map(\.0)
    }

    /// Damerau–Levenshtein distance (with adjacent transpositions: "insepct" is 1 from "inspect").
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[x.count][y.count]
    }
}
