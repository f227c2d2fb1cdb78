// The documentation a Lua function carries in its registration: signature, typed
// arguments, results, the text for docs/api.md and the Lua Language Server definitions.
// Each module's list of `LuaPrimitive`s names it beside the function it documents, so a
// new module's docs come with it. The doc is an autoclosure: a run never builds it; only
// `runbook api` and `runbook check` (through APIReference) do.

import LuaBridge

/// One registered function, as authors see it.
public struct APIFunction: Sendable {
    /// What a call does to the world; `runbook check` warns about effects outside a step.
    public enum Kind: String, Sendable {
        /// Changes something: journaled, planned in a dry-run, undoable where possible.
        case effect
        /// Reads; real in a dry-run too.
        case read
        /// The run's own vocabulary (steps, hooks, logging).
        case run
        /// Computes a value and touches nothing.
        case pure
    }

    /// `fs.mkdir`, or `step` for a global; set by the registration.
    public internal(set) var name = ""
    public var kind: Kind
    public var params: [APIField]
    public var returns: [APIField]
    /// Markdown: what it does, its effect, undo and dry-run behaviour.
    public var text: String
    public var example: String?
    /// Option and result tables it introduces (`---@class` in the definition file).
    public var classes: [APIClass]

    /// `params` are written `"name: type  doc"` (`name?:` when optional, `...` for varargs);
    /// `returns` `"type  doc"`. Types are Lua Language Server types (`string`, `integer`,
    /// `string[]`, `fs.MkdirOptions`, `string|nil`).
    public init(_ kind: Kind, _ params: String..., returns: [String] = [], doc text: String, example: String? = nil,
                classes: [APIClass] = []) {
        self.kind = kind
        self.params = params.map(APIField.init(spec:))
        self.returns = returns.map { APIField(spec: "result: " + $0) }
        self.text = text
        self.example = example
        self.classes = classes
    }

    /// `fs.mkdir(path [, options])`.
    public var signature: String {
        var text = name + "("
        var closing = ""
        for (index, param) in params.enumerated() {
            let separator = index == 0 ? "" : ", "
            if param.optional {
                text += (index == 0 ? "[" : " [") + separator + param.name
                closing += "]"
            } else {
                text += separator + param.name
            }
        }
        return text + closing + ")"
    }

    /// The module part of the name (`fs`), nil for a global.
    public var module: String? {
        guard let dot = name.firstIndex(of: ".") else { return nil }
        return String(name[..<dot])
    }
}

/// An argument, a result or a field of a table.
public struct APIField: Sendable, Equatable {
    public var name: String
    public var type: String
    public var optional: Bool
    public var doc: String

    /// `"name?: type  doc"`; the type ends at two spaces.
    public init(spec: String) {
        let colon = spec.firstRange(of: ": ")
        var head = colon.map { String(spec[..<$0.lowerBound]) } ?? spec
        let rest = colon.map { String(spec[$0.upperBound...]) } ?? "any"
        optional = head.hasSuffix("?")
        if optional { head.removeLast() }
        name = head
        if let gap = rest.firstRange(of: "  ") {
            type = String(rest[..<gap.lowerBound])
            doc = String(rest[gap.upperBound...]).trimmingSpaces()
        } else {
            type = rest
            doc = ""
        }
    }
}

/// A table shape: an options argument, a result, the declaration.
public struct APIClass: Sendable {
    public var name: String
    public var doc: String
    public var fields: [APIField]

    public init(_ name: String, doc: String = "", _ fields: String...) {
        self.name = name
        self.doc = doc
        self.fields = fields.map(APIField.init(spec:))
    }
}

/// A value global (`context`, `settings`) or a module's own page.
public struct APIGlobal: Sendable {
    public var name: String
    public var type: String
    public var text: String
    public var classes: [APIClass]

    public init(_ name: String, type: String, doc text: String, classes: [APIClass] = []) {
        self.name = name
        self.type = type
        self.text = text
        self.classes = classes
    }
}

/// A module's heading and introduction in docs/api.md (`## fs: filesystem`).
public struct APIModule: Sendable {
    public var name: String
    public var title: String
    public var text: String

    public init(_ name: String, title: String, doc text: String) {
        self.name = name
        self.title = title
        self.text = text
    }
}

/// What a state's registrations documented, in registration order.
package final class APICollector {
    package enum Entry {
        case module(APIModule)
        case function(APIFunction)
        case global(APIGlobal)
    }

    package var entries: [Entry] = []

    package init() {}
}

extension LuaState {
    /// Registers `body` as `module.name` (or the global `name`) with its documentation.
    package func register(_ name: String, in module: String? = nil, doc: @autoclosure () -> APIFunction,
                  _ body: @escaping LuaHostFunction) {
        if let collector = hostData as? APICollector {
            var function = doc()
            function.name = module.map { "\($0).\(name)" } ?? name
            collector.entries.append(.function(function))
        }
        register(name, in: module, body)
    }

    /// A module's introductions; only recorded while the API is being read.
    package func document(modules: @autoclosure () -> [APIModule]) {
        if let collector = hostData as? APICollector { collector.entries += modules().map(APICollector.Entry.module) }
    }

    /// A value global the engine sets (`context`, `settings`).
    package func document(global: @autoclosure () -> APIGlobal) {
        if let collector = hostData as? APICollector { collector.entries.append(.global(global())) }
    }
}

extension String {
    /// Without leading and trailing spaces.
    package func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
