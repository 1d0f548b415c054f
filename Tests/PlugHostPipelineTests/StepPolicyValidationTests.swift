import Foundation
import XCTest

@testable import PlugHostPipeline

/// Validation errors of the step keys of issue 17 (`parallel`, `needs`, `retry`, `on_error`):
/// each with file:line:column, the step and the field, and nothing run.
extension PipelineValidationTests {
    static var stepPolicyCases: [Case] {
        [
            Case(
                "parallel 0",
                withHeader(
                    """
                      - id: kw
                        call: text.keywords
                        foreach: ${inputs.notes}
                        parallel: 0
                        args: {text: "${item}", k: 2}

                    """), .wrongType, at: .at("parallel: 0", offset: 10), step: "kw", field: "parallel", message: "from 1 to 256"),
            Case(
                "parallel 300",
                withHeader(
                    """
                      - id: kw
                        call: text.keywords
                        foreach: ${inputs.notes}
                        parallel: 300
                        args: {text: "${item}", k: 2}

                    """), .wrongType, at: .at("parallel: 300", offset: 10), step: "kw", field: "parallel", message: "from 1 to 256"),
            Case(
                "parallel not an integer",
                withHeader(
                    """
                      - id: kw
                        call: text.keywords
                        foreach: ${inputs.notes}
                        parallel: many
                        args: {text: "${item}", k: 2}

                    """), .wrongType, at: .at("parallel: many", offset: 10), step: "kw", field: "parallel",
                message: "whole number of items at once"),
            Case(
                "parallel as a quoted string",
                withHeader(
                    """
                      - id: kw
                        call: text.keywords
                        foreach: ${inputs.notes}
                        parallel: "4"
                        args: {text: "${item}", k: 2}

                    """), .wrongType, at: .at("parallel: \"4\"", offset: 10), step: "kw", field: "parallel",
                message: "whole number of items at once"),
            Case(
                "parallel without foreach",
                withHeader(
                    """
                      - id: kw
                        call: text.keywords
                        parallel: 4
                        args: {text: "basil", k: 2}

                    """), .wrongType, at: .at("parallel: 4", offset: 10), step: "kw", field: "parallel", message: "has no foreach"),
            Case(
                "parallel on an in-process function that is not thread-safe",
                withHeader(
                    """
                      - id: many
                        call: text.tally
                        foreach: ${inputs.notes}
                        parallel: 4
                        args: ["${item}"]

                    """), .wrongType, at: .at("parallel: 4", offset: 10), step: "many", field: "parallel",
                message: "text.tally runs in-process and is not flagged thread-safe"),
            Case(
                "needs an unknown step",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        needs: [nowhere]

                    """), .badReference, at: .at("[nowhere]"), step: "second", field: "needs", message: "unknown step nowhere"),
            Case(
                "needs a later step",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        needs: [third]
                      - id: third
                        call: text.tally
                        args: [y]

                    """), .badReference, at: .at("[third]"), step: "second", field: "needs",
                message: "step third does not come before step second"),
            Case(
                "needs itself",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        needs: second

                    """), .badReference, at: .at("needs: second", offset: 7), step: "second", field: "needs",
                message: "step second does not come before step second"),
            Case(
                "needs not a step id",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        needs: [first, {step: first}]

                    """), .wrongType, at: .at("{step"), step: "second", field: "needs", message: "must be a step id or a list of step ids"),
            Case(
                "retry 0 attempts",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        retry: 0

                    """), .wrongType, at: .at("retry: 0", offset: 7), step: "second", field: "retry",
                message: "attempts must be a whole number from 1 to 100"),
            Case(
                "retry 101 attempts",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        retry: {attempts: 101}

                    """), .wrongType, at: .at("101"), step: "second", field: "retry",
                message: "attempts must be a whole number from 1 to 100"),
            Case(
                "retry attempts not a number",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        retry: {attempts: twice}

                    """), .wrongType, at: .at("twice"), step: "second", field: "retry", message: "attempts must be"),
            Case(
                "retry unknown key",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        retry: {attempts: 3, jitter: 1}

                    """), .unknownKey, at: .at("jitter"), step: "second", field: "retry",
                message: "unknown key \"jitter\" (known: attempts, backoff, max_backoff)"),
            Case(
                "retry negative backoff",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        retry: {attempts: 3, backoff: -1}

                    """), .wrongType, at: .at("-1"), step: "second", field: "retry.backoff", message: "from 0 to 3600"),
            Case(
                "retry max_backoff too long",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        retry:
                          attempts: 3
                          max_backoff: 7200

                    """), .wrongType, at: .at("7200"), step: "second", field: "retry.max_backoff", message: "from 0 to 3600"),
            Case(
                "retry without attempts",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        retry: {backoff: 2}

                    """), .missingKey, at: .at("{backoff"), step: "second", field: "retry", message: "missing key \"attempts\""),
            Case(
                "retry a list",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        retry: [3, 1]

                    """), .wrongType, at: .at("[3, 1]"), step: "second", field: "retry", message: "must be a number of attempts"),
            Case(
                "on_error bad value",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        on_error: skip

                    """), .wrongType, at: .at("on_error: skip", offset: 10), step: "second", field: "on_error",
                message: "must be stop, continue, ignore"),
            Case(
                "on_error not a string",
                withHeader(
                    """
                      - id: second
                        call: text.tally
                        args: [x]
                        on_error: [stop]

                    """), .wrongType, at: .at("[stop]"), step: "second", field: "on_error", message: "must be stop, continue, ignore"),
        ]
    }

    func testStepPolicyErrors() throws { try run(Self.stepPolicyCases) }

    /// The valid forms are accepted, and parsed as written.
    func testStepPolicyKeysParse() throws {
        let text = Self.withHeader(
            """
              - id: kw
                call: text.keywords
                foreach: ${inputs.notes}
                parallel: 4
                retry: {attempts: 3, backoff: 0.5, max_backoff: 2}
                on_error: continue
                needs: first
                args: {text: "${item}", k: 2}
              - id: plain
                call: text.tally
                args: [y]
                retry: 2
                needs: []

            """)
        let d = try PipelineParser.parse(text: text, file: "p.yaml", baseDirectory: "/")
        let kw = try XCTUnwrap(d.steps.first { $0.id == "kw" })
        XCTAssertEqual(kw.parallel, 4)
        XCTAssertEqual(kw.retry, RetryPolicy(attempts: 3, backoff: 0.5, maxBackoff: 2))
        XCTAssertEqual(kw.onError, .continue)
        XCTAssertEqual(kw.needs, ["first"])
        let plain = try XCTUnwrap(d.steps.first { $0.id == "plain" })
        XCTAssertEqual(plain.retry?.attempts, 2)
        XCTAssertEqual(plain.retry?.backoff, 1, "default backoff")
        XCTAssertEqual(plain.onError, .stop)
        XCTAssertEqual(plain.needs, [])
        XCTAssertNil(plain.parallel)
        XCTAssertNil(d.steps.first?.needs, "needs: not written is nil, not []")
        // Waits double up to max_backoff.
        XCTAssertEqual((1...4).map { kw.retry!.delay(after: $0) }, [0.5, 1, 2, 2])
    }
}
