// One effect as the plan, the log, the journal and --json show it.

import RunbookSupport

/// One effect as it was planned or applied: what the plan, the log and --json show.
public struct EffectRecord: Sendable {
    public var seq: Int
    public var step: String
    public var kind: String
    public var sign: ChangeSign
    public var summary: String
    public var identity: JSON
    public var result: JSON?

    public var json: JSON {
        var fields: [(String, JSON)] = [("seq", .int(Int64(seq))), ("step", .string(step)), ("kind", .string(kind)),
                                        ("sign", .string(sign.rawValue)), ("summary", .string(summary)),
                                        ("identity", identity)]
        if let result { fields.append(("result", result)) }
        return .object(fields)
    }

    /// Appends the fields of `json` after its `seq` (`,"step":...`) without making it first:
    /// an effect's journal intent (LiveExecutor; JournalWriter writes the seq). A test holds
    /// the two to the same text.
    package func writeFields(into out: ByteBuffer) {
        out.append(literal: #","step":"#)
        JSON.writeString(step, into: out)
        out.append(literal: #","kind":"#)
        JSON.writeString(kind, into: out)
        out.append(literal: #","sign":"#)
        JSON.writeString(sign.rawValue, into: out)
        out.append(literal: #","summary":"#)
        JSON.writeString(summary, into: out)
        JSON.writeField("identity", identity, into: out)
        if let result { JSON.writeField("result", result, into: out) }
    }

    package init(seq: Int, step: String, kind: String, sign: ChangeSign, summary: String, identity: JSON, result: JSON? = nil) {
        self.seq = seq
        self.step = step
        self.kind = kind
        self.sign = sign
        self.summary = summary
        self.identity = identity
        self.result = result
    }
}
