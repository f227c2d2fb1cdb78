// A Mustache subset for configuration files (nginx server blocks, config.php, crontabs):
// {{name}}, {{a.b}}, {{.}}, sections {{#x}}...{{/x}}, inverted sections {{^x}}...{{/x}} and
// {{! comments }}. No HTML escaping ({{{x}}} and {{& x}} are accepted and mean the same as
// {{x}}), no partials, no delimiter changes, no lambdas. A variable with no value is an
// error naming it and its line — never an empty string in a production config.

import LuaBridge

/// A template that cannot be parsed or rendered: `nginx.conf.tpl:12: no value for {{hostname}}`.
public struct TemplateError: Error, CustomStringConvertible {
    public var template: String
    public var line: Int
    public var problem: String
    public var description: String { "\(template):\(line): \(problem)" }
}

package struct MustacheTemplate {
    package indirect enum Node {
        case text([UInt8])
        case variable(name: String, line: Int)
        case section(name: String, line: Int, inverted: Bool, children: [Node])
    }

    /// Sections inside sections, at most.
    package static let maximumNesting = 100

    /// The template's name in messages (its path, or "template").
    package let name: String
    package let nodes: [Node]

    package init(_ source: String, name: String) throws {
        self.name = name
        nodes = try Parser(bytes: Array(source.utf8), name: name).parse()
    }

    /// Renders with `context` (a Lua table of variables) as the outermost context.
    package func render(_ context: LuaValue) throws -> String {
        var output: [UInt8] = []
        var stack = [context]
        try render(nodes, stack: &stack, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: Rendering

    private func render(_ nodes: [Node], stack: inout [LuaValue], into output: inout [UInt8]) throws {
        for node in nodes {
            switch node {
            case .text(let bytes):
                output.append(contentsOf: bytes)
            case .variable(let tag, let line):
                let value = try lookup(tag, stack, line: line)
                switch value {
                case .nil:
                    throw TemplateError(template: name, line: line, problem: "no value for {{\(tag)}}" + missingDetail(tag, stack))
                case .string(let bytes): output.append(contentsOf: bytes)
                case .integer(let number): output.append(contentsOf: String(number).utf8)
                case .number(let number): output.append(contentsOf: String(number).utf8)
                case .boolean(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
                case .table:
                    throw TemplateError(template: name, line: line,
                                        problem: "{{\(tag)}} is a table, not a value (go through it with {{#\(tag)}}...{{/\(tag)}})")
                case .function:
                    throw TemplateError(template: name, line: line, problem: "{{\(tag)}} is a function, not a value")
                case .null:
                    // As strict as a missing name: a null in a config is a mistake to show.
                    throw TemplateError(template: name, line: line, problem: "{{\(tag)}} is null (json.null), not a value")
                }
            case .section(let tag, let line, let inverted, let children):
                let value = try lookup(tag, stack, line: line)
                if inverted {
                    if Self.isFalse(value) { try render(children, stack: &stack, into: &output) }
                    continue
                }
                if Self.isFalse(value) { continue }
                if case .table(let table) = value, !table.array.isEmpty {
                    for item in table.array {
                        stack.append(item)
                        try render(children, stack: &stack, into: &output)
                        stack.removeLast()
                    }
                } else {
                    stack.append(value)
                    try render(children, stack: &stack, into: &output)
                    stack.removeLast()
                }
            }
        }
    }

    /// False for a section: nil (a missing name), false, 0, "", and an empty table.
    package static func isFalse(_ value: LuaValue) -> Bool {
        switch value {
        case .nil: return true
        case .boolean(let flag): return !flag
        case .integer(let number): return number == 0
        case .number(let number): return number == 0
        case .string(let bytes): return bytes.isEmpty
        case .table(let table): return table.isEmpty
        case .function: return false
        case .null: return true
        }
    }

    /// Mustache's lookup: the first name is searched from the innermost context outwards,
    /// the rest of a dotted name only inside what the first part found.
    private func lookup(_ tag: String, _ stack: [LuaValue], line: Int) throws -> LuaValue {
        if tag == "." { return stack.last ?? .nil }
        let parts = tag.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.contains(where: \.isEmpty) else {
            throw TemplateError(template: name, line: line, problem: "{{\(tag)}} is not a valid name")
        }
        var value: LuaValue = .nil
        for context in stack.reversed() {
            if case .table(let table) = context, !table[parts[0]].isNil {
                value = table[parts[0]]
                break
            }
        }
        for part in parts.dropFirst() {
            guard case .table(let table) = value else { return .nil }
            value = table[part]
        }
        return value
    }

    /// " (site has no field hostname)" for a dotted name whose head exists.
    private func missingDetail(_ tag: String, _ stack: [LuaValue]) -> String {
        let parts = tag.split(separator: ".").map(String.init)
        guard parts.count > 1 else { return "" }
        for length in stride(from: parts.count - 1, through: 1, by: -1) {
            let head = parts[0..<length].joined(separator: ".")
            if let value = try? lookup(head, stack, line: 0), !value.isNil {
                return value.tableValue == nil ? " (\(head) is a \(value.typeName), not a table)" : " (\(head) has no field \(parts[length]))"
            }
        }
        return ""
    }

    // MARK: Parsing

    private struct Parser {
        let bytes: [UInt8]
        let name: String

        enum TagKind { case variable, section, inverted, close, comment }

        struct Tag {
            package var kind: TagKind
            package var name: String
            package var line: Int
            /// The bytes the tag occupies, or the whole line when it stands alone on it.
            package var start: Int
            package var end: Int
        }

        func error(_ line: Int, _ problem: String) -> TemplateError { TemplateError(template: name, line: line, problem: problem) }

        func parse() throws -> [Node] {
            var tags = try scan()
            for index in tags.indices where tags[index].kind != .variable { standAlone(&tags[index]) }
            // Text between tags, then the tree.
            var flat: [(Tag?, [UInt8])] = []
            var cursor = 0
            for tag in tags {
                if tag.start > cursor { flat.append((nil, Array(bytes[cursor..<tag.start]))) }
                flat.append((tag, []))
                cursor = max(cursor, tag.end)
            }
            if cursor < bytes.count { flat.append((nil, Array(bytes[cursor...]))) }

            var stack: [(name: String, line: Int, inverted: Bool, children: [Node])] = [("", 0, false, [])]
            for (tag, text) in flat {
                guard let tag else {
                    stack[stack.count - 1].children.append(.text(text))
                    continue
                }
                switch tag.kind {
                case .variable: stack[stack.count - 1].children.append(.variable(name: tag.name, line: tag.line))
                case .comment: break
                case .section, .inverted:
                    // Rendering and freeing the tree recurse once per level: thousands of
                    // levels overflowed the stack. A config template needs a handful.
                    guard stack.count <= MustacheTemplate.maximumNesting else {
                        throw error(tag.line, "sections nested more than \(MustacheTemplate.maximumNesting) deep")
                    }
                    stack.append((tag.name, tag.line, tag.kind == .inverted, []))
                case .close:
                    guard stack.count > 1 else { throw error(tag.line, "{{/\(tag.name)}} closes a section that was never opened") }
                    let open = stack.removeLast()
                    guard open.name == tag.name else {
                        throw error(tag.line, "{{/\(tag.name)}} closes {{\(open.inverted ? "^" : "#")\(open.name)}} (opened on line \(open.line))")
                    }
                    stack[stack.count - 1].children.append(.section(name: open.name, line: open.line, inverted: open.inverted,
                                                                    children: open.children))
                }
            }
            if stack.count > 1, let open = stack.last {
                throw error(open.line, "{{\(open.inverted ? "^" : "#")\(open.name)}} is never closed (expected {{/\(open.name)}})")
            }
            return stack[0].children
        }

        /// Every tag, with its kind, name and line.
        func scan() throws -> [Tag] {
            var tags: [Tag] = []
            var index = 0
            var line = 1
            while index < bytes.count {
                guard bytes[index] == 123, index + 1 < bytes.count, bytes[index + 1] == 123 else {
                    if bytes[index] == 10 { line += 1 }
                    index += 1
                    continue
                }
                let triple = index + 2 < bytes.count && bytes[index + 2] == 123
                let contentStart = index + (triple ? 3 : 2)
                let close: [UInt8] = triple ? [125, 125, 125] : [125, 125]
                guard let contentEnd = find(close, from: contentStart) else {
                    throw error(line, "\(triple ? "{{{" : "{{") is never closed")
                }
                var content = String(decoding: bytes[contentStart..<contentEnd], as: UTF8.self)
                var kind = TagKind.variable
                if !triple, let first = content.first {
                    switch first {
                    case "#": kind = .section
                    case "^": kind = .inverted
                    case "/": kind = .close
                    case "!": kind = .comment
                    case "&": kind = .variable
                    case ">": throw error(line, "partials ({{> name}}) are not supported: render the other template and pass it as a variable")
                    case "=": throw error(line, "changing the delimiters ({{=...=}}) is not supported")
                    default: break
                    }
                    if "#^/!&".contains(first) { content.removeFirst() }
                }
                let tagName = content.trimmed
                if kind != .comment {
                    guard !tagName.isEmpty, !tagName.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "{" || $0 == "}" }) else {
                        throw error(line, "{{\(String(decoding: bytes[contentStart..<contentEnd], as: UTF8.self))}} is not a valid tag")
                    }
                }
                let end = contentEnd + close.count
                tags.append(Tag(kind: kind, name: tagName, line: line, start: index, end: end))
                line += bytes[index..<end].filter { $0 == 10 }.count
                index = end
            }
            return tags
        }

        func find(_ needle: [UInt8], from: Int) -> Int? {
            var index = from
            while index + needle.count <= bytes.count {
                if bytes[index] == needle[0], Array(bytes[index..<(index + needle.count)]) == needle { return index }
                index += 1
            }
            return nil
        }

        /// A section, inverted section, closing or comment tag alone on its line (only blanks
        /// around it) takes the whole line with it, so `{{#ssl}}` lines leave no blank lines.
        func standAlone(_ tag: inout Tag) {
            var lineStart = tag.start
            while lineStart > 0, bytes[lineStart - 1] != 10 {
                guard bytes[lineStart - 1] == 32 || bytes[lineStart - 1] == 9 else { return }
                lineStart -= 1
            }
            var lineEnd = tag.end
            while lineEnd < bytes.count, bytes[lineEnd] != 10 {
                guard bytes[lineEnd] == 32 || bytes[lineEnd] == 9 || bytes[lineEnd] == 13 else { return }
                lineEnd += 1
            }
            if lineEnd < bytes.count { lineEnd += 1 }
            tag.start = lineStart
            tag.end = lineEnd
        }
    }
}
