// The configuration reader is TOML 1.0: every document below is read by it and by Python's
// tomllib (the reference the guide names), and both must agree — the same values for a
// valid document, a refusal for an invalid one. Then the config file itself: CRLF, a
// misspelt key in [databases.x], and a table defined twice are caught, not misread.

@testable import RunbookEngine
import RunbookConfig
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("TOML 1.0 configuration")
struct TOMLConformanceTests {
    /// Valid documents.
    static let valid: [String] = [
        "a = 1\nb = -2\nc = +3\nd = 1_000\ne = 0xDEAD_beef\nf = 0o755\ng = 0b1010\nh = 9223372036854775807\ni = -9223372036854775808\n",
        "a = 1.5\nb = -0.01\nc = 5e+22\nd = 1e06\ne = -2E-2\nf = 6.626e-34\ng = 224_617.445_991\nh = inf\ni = -inf\nj = 0.0\nk = -0.0\n",
        "a = true\nb = false\n",
        #"a = "tab\there \"quoted\" \\ \u00e9 \U0001F600""# + "\nb = 'C:\\Users\\x'\nc = ''\nd = \"\"\n",
        "a = \"\"\"\nRoses are red\nViolets are blue\"\"\"\nb = '''\nfirst line\n  second\n'''\n",
        "a = \"\"\"\\\n    The quick \\\n    brown fox.\"\"\"\nb = \"\"\"Here are two quotes: \"\". \"\"\"\nc = \"\"\"\"\"\"\"\nd = '''''quoted'''''\n",
        "date1 = 1979-05-27T07:32:00Z\ndate2 = 1979-05-27T00:32:00.999999-07:00\ndate3 = 1979-05-27 07:32:00\ndate4 = 1979-05-27\ndate5 = 07:32:00\ndate6 = 00:32:00.5\ndate7 = 2000-02-29t10:00:00z\n",
        "a = [1, 2, 3]\nb = [\"x\", 'y']\nc = [[1, 2], [\"a\", 'b'], [1.1]]\nd = [\n  1,\n  2, # a comment\n]\ne = []\nf = [1, \"mixed\", 2.5, true, {x = 1}]\n",
        "point = { x = 1, y = 2 }\nanimal = { type.name = \"pug\" }\nempty = {}\nnested = { a = { b = { c = 1 } } }\n",
        "[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n[[products]]\n\n[[products]]\nname = \"Nail\"\ncolor = \"gray\"\n",
        "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n",
        "[a.b.c]\nx = 1\n[a]\ny = 2\n",
        "fruit.apple.color = \"red\"\nfruit.apple.taste.sweet = true\nfruit.orange = 2\n",
        "[dog.\"tater.man\"]\ntype.name = \"pug\"\n[ j . \"ʞ\" . 'l' ]\nk = 1\n",
        "\"127.0.0.1\" = \"value\"\n\"character encoding\" = \"value\"\n'key2' = \"value\"\n'quoted \"value\"' = \"value\"\n\"\" = \"blank\"\n1234 = 5\n",
        "# only a comment\n\n   \n\t# another\n",
        "[databases.internal]\r\nhost = \"10.0.0.5\"\r\nport = 3306\r\nuser = \"runbook\"\r\n\r\n[settings]\r\nmail_to = \"ops@example.com\" # CRLF file\r\n",
        "a = \"\"\"\r\nline one\r\nline two\"\"\"\r\n",
        "[x] # comment\n[x.y]\n[x.z]\nw = 1\n",
        "a = \"it's\"\n",
        "a = \"\"\"\"\"\"\"\"\n",
    ]

    /// Invalid documents (the issue's cases first).
    static let invalid: [String] = [
        "[a]\nx = 1\n[a]\ny = 2\n",
        "a = 012\n",
        "a = 0XFF\n",
        "a = [1 2]\n",
        "a = .5\n",
        "a = 1__000\n",
        "a = \"raw \u{01} control\"\n",
        "a = 5.\n", "a = 1._5\n", "a = 1e\n", "a = _1\n", "a = 1_\n", "a = +0x10\n", "a = 0x\n", "a = 1.2.3\n",
        "a = 03.14\n", "a = infinity\n", "a = True\n", "a = yes\n", "a = bare\n",
        "a = 1\na = 2\n", "a.b = 1\na.b = 2\n", "a = 1\na.b = 2\n",
        "[a]\nb = 1\n[a.b]\n", "a = {}\n[a]\n", "a = {b = 1}\na.c = 2\n", "a = {b = 1,}\n", "a = {b = 1\n}\n",
        "a = [1]\n[[a]]\n", "[[a]]\n[a]\n", "[a]\n[[a]]\n",
        "[fruit]\napple.color = \"red\"\n[fruit.apple]\n",
        "[a.b]\nx = 1\n[a]\nb.y = 2\n",
        "a = \"unclosed\n", "a = 'unclosed\n", "a = \"\"\"unclosed\n", "a = \"bad \\x escape\"\n", "a = \"\\uD800\"\n",
        "a = \"\\u12\"\n", "a = 1 b = 2\n", "a =\n", "= 1\n", "[a\n", "[[a]\n", "[]\n", "a b = 1\n", "a = [1,,2]\n",
        "a = 1979-13-01\n", "a = 1979-02-30\n", "a = 1979-05-27T25:00:00\n", "a = 07:60:00\n", "a = 1979-05-27T07:32:00+24:00\n",
        "a = 1\rb = 2\n", "# comment with \u{7F} delete\n", "\"\"\"key\"\"\" = 1\n",
    ]

    /// Invalid in TOML 1.0 though tomllib reads them: Python's integers have no 64-bit limit
    /// (the spec: "an error must be thrown"), and a byte order mark is read here as an error
    /// that says so. Only our refusal is checked.
    static let invalidBeyondTheReference: [String] = [
        "a = 9223372036854775808\n", "a = -9223372036854775809\n", "a = 0x8000000000000000\n",
    ]

    /// Canonical text of a document read with its types (TOMLReader.parseTagged): keys
    /// sorted, every date or time as <date> (tomllib's are datetime objects).
    static func canonical(tagged value: JSON) -> String {
        if case .object(let entries) = value, entries.count == 2, let type = value["type"]?.stringValue,
           let text = value["value"]?.stringValue
        {
            switch type {
            case "string": return canonical(.string(text))
            case "integer": return "i:" + text
            case "float": return text == "nan" ? "f:nan" : canonical(.double(text == "inf" ? .infinity : text == "-inf" ? -.infinity : Double(text) ?? .nan))
            case "bool": return text
            default: return "<date>"
            }
        }
        switch value {
        case .array(let items): return "[" + items.map { canonical(tagged: $0) }.joined(separator: ",") + "]"
        case .object(let entries):
            return "{" + entries.sorted { $0.0 < $1.0 }.map { JSON.string($0.0).serialized + "=" + canonical(tagged: $0.1) }
                .joined(separator: ",") + "}"
        default: return canonical(value)
        }
    }

    /// Canonical text of a plain value: types kept, keys sorted.
    static func canonical(_ value: JSON) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return "i:\(number)"
        case .double(let number): return number.isNaN ? "f:nan" : "f:\(number.bitPattern)"
        case .string(let text): return "s:" + JSON.string(text).serialized
        case .array(let items): return "[" + items.map { canonical($0) }.joined(separator: ",") + "]"
        case .object(let entries):
            return "{" + entries.sorted { $0.0 < $1.0 }.map { JSON.string($0.0).serialized + "=" + canonical($0.1) }
                .joined(separator: ",") + "}"
        }
    }

    /// What Python's tomllib makes of each document: its canonical text, or "ERROR".
    static let reference = #"""
    import json, math, struct, sys, tomllib, datetime
    def canon(v, key=""):
        if isinstance(v, (datetime.datetime, datetime.date, datetime.time)): return "<date>"
        if isinstance(v, bool): return "true" if v else "false"
        if isinstance(v, int): return "i:%d" % v
        if isinstance(v, float): return "f:nan" if math.isnan(v) else "f:%d" % struct.unpack("<Q", struct.pack("<d", v))[0]
        if isinstance(v, str): return "s:" + json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        if isinstance(v, list): return "[" + ",".join(canon(x) for x in v) + "]"
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + "=" + canon(v[k], k) for k in sorted(v)) + "}"
    out = []
    for doc in json.load(sys.stdin):
        try: out.append(canon(tomllib.loads(doc)))
        except tomllib.TOMLDecodeError: out.append("ERROR")
    print(json.dumps(out))
    """#

    static func referenceResults(_ documents: [String]) throws -> [String] {
        let input = JSON.array(documents.map { .string($0) }).serialized
        let result = try ProcessRunner.run(["python3", "-c", reference], input: Array(input.utf8))
        guard result.status == 0, let parsed = try? JSON.parse(result.outputText) else {
            throw TestSetupError("python3 tomllib failed: \(result.errorText)")
        }
        return parsed.arrayValue?.compactMap { $0.stringValue } ?? []
    }

    @Test("every valid document reads as tomllib reads it")
    func validDocumentsAgreeWithTheReference() throws {
        let expected = try Self.referenceResults(Self.valid)
        #expect(expected.count == Self.valid.count)
        for (document, reference) in zip(Self.valid, expected) {
            #expect(reference != "ERROR", "tomllib refuses a document meant to be valid: \(document.debugDescription)")
            do {
                let mine = Self.canonical(tagged: try TOMLReader.parseTagged(document, file: "t.toml"))
                #expect(mine == reference, "\(document.debugDescription)\nmine:      \(mine)\nreference: \(reference)")
            } catch {
                Issue.record("refused a valid document: \(error)\n\(document.debugDescription)")
            }
        }
    }

    @Test("every invalid document is refused with the file and line, as tomllib refuses it")
    func invalidDocumentsAreRefused() throws {
        let expected = try Self.referenceResults(Self.invalid)
        for (document, reference) in zip(Self.invalid, expected) {
            #expect(reference == "ERROR", "tomllib reads a document meant to be invalid: \(document.debugDescription) -> \(reference)")
            do {
                let read = try TOMLReader.parse(document, file: "t.toml")
                Issue.record("read an invalid document: \(document.debugDescription) -> \(Self.canonical(read))")
            } catch let error as TOMLReader.ParseError {
                #expect(error.description.hasPrefix("t.toml:") && !error.description.contains("\n"), "\(error)")
            }
        }
    }

    @Test("generated documents and random changes to them: read exactly as tomllib reads them, refused where it refuses")
    func generatedDocumentsAgreeWithTheReference() throws {
        var generator = TOMLDocumentGenerator(state: 15)
        var documents: [String] = []
        for _ in 0..<150 {
            let document = generator.document()
            documents.append(document)
            documents.append(generator.mutate(document))
            documents.append(generator.mutate(generator.mutate(document)))
        }
        let expected = try Self.referenceResults(documents)
        var agreed = 0, validCount = 0
        for (document, reference) in zip(documents, expected) {
            if reference != "ERROR" { validCount += 1 }
            let mine: String
            do { mine = Self.canonical(tagged: try TOMLReader.parseTagged(document, file: "g.toml")) } catch let error as TOMLReader.ParseError {
                // Python's integers have no 64-bit limit; TOML 1.0 requires the error.
                if reference != "ERROR" && error.problem.contains("out of range for a 64-bit integer") {
                    agreed += 1
                    continue
                }
                mine = "ERROR"
            }
            if mine == reference { agreed += 1 } else {
                Issue.record("disagrees with tomllib on \(document.debugDescription)\nmine:      \(mine)\nreference: \(reference)")
            }
        }
        #expect(validCount >= 150, "the generator makes valid documents (\(validCount) of \(documents.count))")
        Reliability.report("toml differential", [("documents", documents.count), ("valid", validCount), ("agreed", agreed)])
    }

    @Test("integers beyond 64 bits and a byte order mark are refused (tomllib is lenient there)")
    func refusedBeyondTheReference() {
        for document in Self.invalidBeyondTheReference + ["\u{FEFF}a = 1\n"] {
            #expect(throws: TOMLReader.ParseError.self, "\(document.debugDescription)") { try TOMLReader.parse(document, file: "t.toml") }
        }
    }

    @Test("nesting is bounded: a hostile config cannot exhaust the stack")
    func deepNestingIsRefused() {
        let deep = "a = " + String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "\n"
        #expect(throws: TOMLReader.ParseError.self) { try TOMLReader.parse(deep, file: "deep.toml") }
        let inline = "a = " + String(repeating: "{b = ", count: 5_000) + "1" + String(repeating: "}", count: 5_000) + "\n"
        #expect(throws: TOMLReader.ParseError.self) { try TOMLReader.parse(inline, file: "deep.toml") }
    }

    @Test("runbook config parse: the tagged JSON of the TOML test suites; invalid TOML is one line and exit 1")
    func configParsePrintsTheTaggedDocument() throws {
        let sandbox = try Sandbox()
        let good = sandbox.base + "/good.toml"
        try Files.write(good, "a = 1\nb = 1979-05-27T07:32:00Z\n[t]\nc = [\"x\", 2.5, true]\n")
        let parsed = try sandbox.runbook(["config", "parse", good])
        #expect(parsed.exitCode == 0, "\(parsed)")
        let document = try JSON.parse(parsed.stdout)
        #expect(document["a"]?["type"]?.stringValue == "integer" && document["a"]?["value"]?.stringValue == "1", "\(parsed)")
        #expect(document["b"]?["type"]?.stringValue == "datetime", "\(parsed)")
        #expect(document["t"]?["c"]?.arrayValue?.map { $0["type"]?.stringValue ?? "?" } == ["string", "float", "bool"], "\(parsed)")
        let bad = sandbox.base + "/bad.toml"
        try Files.write(bad, "a = 1\na = 2\n")
        let refused = try sandbox.runbook(["config", "parse", bad])
        #expect(refused.exitCode == 1 && refused.stdout.isEmpty, "\(refused)")
        #expect(refused.stderrLines.filter { !$0.isEmpty } == ["runbook: \(bad):2: key 'a' is defined twice"], "\(refused)")
    }

    @Test("the config file: CRLF lines are read, a misspelt key is named, a table defined twice is refused, nothing runs")
    func configFileMistakes() throws {
        let sandbox = try Sandbox(runbook: "hello", """
            return runbook { summary = "Writes a file", run = function() fs.write("/hello", "hi") end }
            """)
        try Files.write(sandbox.config, "# written on Windows\r\nroot = \"\(sandbox.tree)\"\r\n")
        let run = try sandbox.runbook(["run", "hello"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(Files.read(sandbox.tree + "/hello") == "hi", "a CRLF config's root is in effect")

        let cases: [(String, String)] = [
            ("[databases.x]\nsocket = \"/tmp/s\"\npasword = \"x\"\n", "[databases.x] has an unknown key 'pasword' (did you mean 'password'?"),
            ("statedir = \"/tmp\"\n", "unknown setting 'statedir' (did you mean 'state_dir'?)"),
            ("[databases.x]\nsocket = \"/tmp/s\"\nport = \"3306\"\n", "[databases.x] port must be an integer"),
            ("root = \"/tmp\"\n[settings]\na = 1\n[settings]\nb = 2\n", ":4: table 'settings' is defined twice"),
            ("root = \"/tmp\"\nstate_dir = 012\n", ":2:"),
            ("[hosts.d2]\naddress = \"10.0.0.2\"\nprot = 22\n", "[hosts.d2] has an unknown key 'prot'"),
        ]
        for (text, says) in cases {
            try Files.write(sandbox.config, text)
            let refused = try sandbox.runbook(["--root", sandbox.tree, "run", "hello"])
            #expect(refused.exitCode == 2 && refused.stderr.contains(says), "\(text.debugDescription)\n\(refused)")
            #expect(refused.stderrLines.filter { !$0.isEmpty }.count == 1, "one line\n\(refused)")
        }
    }
}
