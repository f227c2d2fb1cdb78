// stdlib/configparser.lua against Python 3's configparser itself (the reference the old
// ip_manager used for mas_ip_manager.cfg): for each file, the same sections and values, or
// an error of the same kind on the same line.

import Foundation
import RunbookSupport
import RunbookTestKit
import Testing

@Suite("mas_ip_manager.cfg read as Python's configparser reads it")
struct ConfigParserTests {
    static let files: [String] = [
        // The guide's format.
        "[carp1]\ninterface = igb1\nips : 192.0.2.10\n      192.0.2.11\n[carp2]\ninterface = igb1\nips : 198.51.100.10\n",
        // A section twice, a key twice (also in other case): errors, not "the last one wins".
        "[carp1]\nips : 192.0.2.10\n[carp2]\nips : 198.51.100.10\n[carp1]\nips : 192.0.2.99\n",
        "[carp1]\ninterface = igb1\nips : 192.0.2.10\nips : 192.0.2.11\n",
        "[carp1]\nIPS : 192.0.2.10\nips : 192.0.2.11\n",
        // [DEFAULT] is inherited by every section.
        "[DEFAULT]\ninterface = igb1\n[carp1]\nips : 192.0.2.10\n[carp2]\ninterface = em0\nips : 198.51.100.10\n",
        // No inline comments: the text after # is part of the value.
        "[carp1]\ninterface = igb1 # the public NIC\nips : 192.0.2.10 ; old\n",
        // Comment lines and blank lines inside a continued value; trailing blanks dropped.
        "[carp1]\nips : 192.0.2.10\n# moved\n      192.0.2.11\n\n      192.0.2.12\n\n\ninterface=igb1\n",
        // A key before any section; a line with no delimiter.
        "ips : 192.0.2.10\n[carp1]\n",
        "[carp1]\ninterface = igb1\nthis line has no delimiter\n",
        // A header with text after it; an indented first option; `:` before `=`.
        "[carp1] the first dispatcher\n  interface = igb1\nips: a=b\n",
        // Windows line endings, a DEFAULT section twice.
        "[DEFAULT]\r\ninterface = igb1\r\n[carp1]\r\nips : 192.0.2.10\r\n[DEFAULT]\r\nother = 1\r\n",
    ]

    /// Python's verdict: "ok" and the sections, or the error's class and line.
    static let python = #"""
        import configparser, sys
        p = configparser.ConfigParser()
        try:
            with open(sys.argv[1], newline=None) as f:
                p.read_file(f, source="F")
            for s in p.sections():
                for k in sorted(p.options(s)):
                    print("%s|%s=%s" % (s, k, p.get(s, k, raw=True).replace("\n", "\\n")))
            print("order=" + ",".join(p.sections()))
        except configparser.Error as e:
            line = getattr(e, "lineno", None)
            if line is None and getattr(e, "errors", None):
                line = e.errors[0][0]
            print("error %s %s" % (type(e).__name__, line))
        """#

    static let lua = """
        local configparser = require("configparser")
        local ok, sections, order = pcall(configparser.parse, TEXT, "F")
        if not ok then
          local line, message = sections:match("^F:(%d+): (.*)$")
          local kind = message:find("^section") and "DuplicateSectionError"
            or message:find("^option") and "DuplicateOptionError"
            or message:find("comes before any") and "MissingSectionHeaderError" or "ParsingError"
          return "error " .. kind .. " " .. line
        end
        local out = {}
        for _, name in ipairs(order) do
          local keys = {}
          for key in pairs(sections[name]) do keys[#keys + 1] = key end
          table.sort(keys)
          for _, key in ipairs(keys) do out[#out + 1] = name .. "|" .. key .. "=" .. sections[name][key]:gsub("\\n", "\\\\n") end
        end
        out[#out + 1] = "order=" .. table.concat(order, ",")
        return table.concat(out, "\\n")
        """

    @Test("the same sections and values, or the same kind of error on the same line, as Python's configparser", arguments: 0..<files.count)
    func sameVerdictAsPython(index: Int) throws {
        let box = try Sandbox()
        let path = box.base + "/mas_ip_manager.cfg"
        try Files.write(path, Self.files[index])
        let theirs = try ProcessRunner.run(["python3", "-c", Self.python, path], timeout: 30)
        #expect(theirs.succeeded, "\(theirs.errorText)")
        let ours = try StdlibLua().string(Self.lua.replacingOccurrences(of: "TEXT", with: JSON.string(Self.files[index]).serialized))
        #expect(ours == theirs.outputText.trimmed, "file \(index):\n\(Self.files[index])\nconfigparser.lua:\n\(ours)\nPython:\n\(theirs.outputText)")
    }
}
